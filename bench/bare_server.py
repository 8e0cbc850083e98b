"""The yardstick: a bare aiohttp app with no middleware, store or validation."""

import sys

from aiohttp import web


async def list_items(request: web.Request) -> web.Response:
    return web.json_response({"items": [], "next_cursor": None})


async def create_item(request: web.Request) -> web.Response:
    return web.json_response(await request.json(), status=201)


app = web.Application()
app.router.add_get("/bare", list_items)
app.router.add_post("/bare", create_item)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
