"""The reference web app (`web/`, built by `make` into `web/dist`), served at `/app/`.

`/` leads there too. Its files are served as they are: the hashed bundles under `assets/` are
cached for good, every other file is revalidated. Any other path under `/app/` is one of the
app's own pages (it routes with the History API), so it gets `index.html`; a missing file with an
extension (`.js`, `.png`) is a 404 instead, so a stale bundle name fails loudly rather than as
HTML. The pages talk only to this origin, which the policy below says.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from domain import NotFound
from server.routing import PUBLIC_ATTRIBUTE

log = logging.getLogger(__name__)

PREFIX = "/app"

# Same-origin scripts, styles and API calls (the WebSocket included: CSP Level 3's 'self' covers
# ws: and wss: on this host); pictures may be the people's own, from their provider (https:), or
# the receipt being scanned (blob:).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob: https:",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
_PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # Sign-in lands on a page with tokens in its fragment; no Referer may carry the page onwards.
    "Referrer-Policy": "no-referrer",
}
_IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}


def add_web_app(app: web.Application, root: Path | None) -> None:
    """Serve the built app in `root` at `/app/`; without one, say where it would come from."""
    if root is None:
        log.info("the web app is not built (run `make`, which needs Node.js): serving the API alone")
        return
    handler = _serve(root.resolve())
    # Someone opening the server's address in a browser wants the app.
    app.router.add_get("/", _to_slash)
    app.router.add_get(PREFIX, _to_slash)
    app.router.add_get(PREFIX + "/{path:.*}", handler)
    log.info("serving the web app from %s at %s/", root, PREFIX)


async def _to_slash(request: web.Request) -> web.Response:
    if request.path == "/":
        raise web.HTTPFound(PREFIX + "/")
    raise web.HTTPPermanentRedirect(PREFIX + "/")


setattr(_to_slash, PUBLIC_ATTRIBUTE, True)


def _serve(root: Path) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    index = root / "index.html"

    async def web_app(request: web.Request) -> web.StreamResponse:
        relative = request.match_info["path"]
        target = (root / relative).resolve() if relative else index
        if target != index and target.is_relative_to(root) and target.is_file():
            immutable = target.is_relative_to(root / "assets")
            return web.FileResponse(
                target, headers=_IMMUTABLE if immutable else {"Cache-Control": "no-cache"}
            )
        if "." in relative.rsplit("/", 1)[-1]:
            raise NotFound(f"the web app has no file {relative!r}")
        return web.FileResponse(index, headers=_PAGE_HEADERS)

    setattr(web_app, PUBLIC_ATTRIBUTE, True)
    return web_app
