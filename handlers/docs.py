"""The API description: OpenAPI JSON and a Swagger UI page served from the swagger-ui-py package."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import swagger_ui
from aiohttp import web

from domain import NotFound
from handlers.openapi import openapi_document
from server.keys import OPENAPI, OPERATIONS
from server.routing import Api, Reply

api = Api("docs")

_ASSETS = Path(swagger_ui.__file__).parent / "static"
_SERVED_ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "application/javascript",
    "swagger-ui-standalone-preset.js": "application/javascript",
    "favicon-32x32.png": "image/png",
}
_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Expense Tracker API</title>
  <link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="/api/docs/assets/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/api/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/api/docs/assets/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "/api/openapi.json",
      dom_id: "#swagger-ui",
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout",
      persistAuthorization: true
    });
  </script>
</body>
</html>
"""


def describe(app: web.Application) -> None:
    """Build the document once, from every route the app declared."""
    app[OPENAPI] = openapi_document(app[OPERATIONS], version=_package_version())


def _package_version() -> str:
    try:
        return version("expense-tracker")
    except PackageNotFoundError:
        return "0.0.0"


@api.get(
    "/api/openapi.json",
    summary="This API's OpenAPI 3.1 description",
    public=True,
    replies={200: Reply("the OpenAPI document", {"type": "object"})},
)
async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI])


@api.get(
    "/api/docs",
    summary="Interactive API documentation (HTML)",
    public=True,
    replies={200: Reply("an HTML page")},
)
async def docs_page(request: web.Request) -> web.Response:
    return web.Response(text=_PAGE, content_type="text/html")


@api.get(
    "/api/docs/assets/{name}",
    summary="Static files of the documentation page",
    public=True,
    replies={200: Reply("the file"), 404: Reply("no such file")},
)
async def docs_asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in _SERVED_ASSETS:
        raise NotFound(f"no documentation asset named {name!r}")
    return web.FileResponse(
        _ASSETS / name,
        headers={"Content-Type": _SERVED_ASSETS[name], "Cache-Control": "public, max-age=86400"},
    )
