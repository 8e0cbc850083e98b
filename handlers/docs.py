"""The API descriptions: OpenAPI JSON (REST), AsyncAPI JSON (the WebSocket) and a Swagger UI page
served from the swagger-ui-py package."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import swagger_ui
from aiohttp import web

from domain import NotFound
from handlers.asyncapi import asyncapi_document
from handlers.openapi import openapi_document
from server.keys import ASYNCAPI, OPENAPI
from server.routing import Api, Operation, Reply

api = Api("docs")

_ASSETS = Path(swagger_ui.__file__).parent / "static"
_SERVED_ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "application/javascript",
    "swagger-ui-standalone-preset.js": "application/javascript",
    "favicon-32x32.png": "image/png",
}
# The page's own start-up script, served as an asset: the page's policy allows no inline script.
_INIT_SCRIPT = """window.ui = SwaggerUIBundle({
  url: document.getElementById("swagger-ui").dataset.openapiUrl,
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout",
  persistAuthorization: true
});
"""
_INIT_NAME = "init.js"
_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Expense Tracker API</title>
  <link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="/api/docs/assets/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui" data-openapi-url="/api/openapi.json"></div>
  <script src="/api/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/api/docs/assets/swagger-ui-standalone-preset.js"></script>
  <script src="/api/docs/assets/init.js"></script>
</body>
</html>
"""
# Everything the page loads is same-origin. Swagger UI sets style attributes from its scripts and
# draws icons as data: images; it fetches only the document and the API it tries out.
DOCS_CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)


def documents(operations: list[Operation]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The OpenAPI document of `operations` and the AsyncAPI document of the realtime protocol."""
    version = _package_version()
    return openapi_document(operations, version=version), asyncapi_document(version=version)


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
    "/api/asyncapi.json",
    summary="The realtime WebSocket's AsyncAPI 3.0 description",
    public=True,
    replies={200: Reply("the AsyncAPI document", {"type": "object"})},
)
async def asyncapi_json(request: web.Request) -> web.Response:
    return web.json_response(request.app[ASYNCAPI])


@api.get(
    "/api/docs",
    summary="Interactive API documentation (HTML)",
    public=True,
    replies={200: Reply("an HTML page")},
)
async def docs_page(request: web.Request) -> web.Response:
    return web.Response(
        text=_PAGE,
        content_type="text/html",
        headers={"Content-Security-Policy": DOCS_CONTENT_SECURITY_POLICY, "Referrer-Policy": "no-referrer"},
    )


@api.get(
    "/api/docs/assets/{name}",
    summary="Static files of the documentation page",
    public=True,
    replies={200: Reply("the file"), 404: Reply("no such file")},
)
async def docs_asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name == _INIT_NAME:
        return web.Response(
            text=_INIT_SCRIPT,
            content_type="application/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )
    if name not in _SERVED_ASSETS:
        raise NotFound(f"no documentation asset named {name!r}")
    return web.FileResponse(
        _ASSETS / name,
        headers={"Content-Type": _SERVED_ASSETS[name], "Cache-Control": "public, max-age=86400"},
    )
