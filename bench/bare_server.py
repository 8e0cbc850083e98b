"""The yardstick: a bare aiohttp app with no middleware, store or validation.

python bench/bare_server.py PORT [shared]
"""

import csv
import io
import sys

from aiohttp import web


async def list_items(request: web.Request) -> web.Response:
    return web.json_response({"items": [], "next_cursor": None})


async def create_item(request: web.Request) -> web.Response:
    return web.json_response(await request.json(), status=201)


async def parse_csv(request: web.Request) -> web.Response:
    """The least an import can do: read the body and split it into CSV rows."""
    text = (await request.read()).decode("utf-8-sig")
    rows = sum(1 for _ in csv.reader(io.StringIO(text, newline="")))
    return web.json_response({"rows": rows})


app = web.Application(client_max_size=64 * 2**20)
app.router.add_get("/bare", list_items)
app.router.add_post("/bare", create_item)
app.router.add_post("/bare/csv", parse_csv)
# `shared`: one of several processes on the port, as `expense-tracker serve --workers N` runs.
shared = sys.argv[2:] == ["shared"]
web.run_app(
    app, host="127.0.0.1", port=int(sys.argv[1]), reuse_port=shared or None, print=None, access_log=None
)
