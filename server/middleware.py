"""The cross-cutting layers every request passes: request id, error rendering, authentication."""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from aiohttp import hdrs, web

from domain import (
    BadRequest,
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    PreconditionRequired,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
)
from server.keys import CLAIMS, CONFIG, STORE
from server.logs import request_id_var
from server.routing import PUBLIC_ATTRIBUTE
from server.tokens import decode_token
from store import TokenStanding

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REQUEST_ID = web.RequestKey("request_id", str)
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_REALM = 'Bearer realm="expense-tracker"'
# Request ids need to be unique, not secret: a seeded PRNG avoids a getrandom() syscall per request.
_random_bits = random.Random().getrandbits

_STATUS: dict[type[DomainError], int] = {
    BadRequest: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    PreconditionFailed: 412,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    Invalid: 422,
    PreconditionRequired: 428,
    TooManyRequests: 429,
    Unavailable: 503,
}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    503: "unavailable",
}


def _error_response(
    request: web.Request,
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    return json_error(status, code, message, request.get(REQUEST_ID, "-"), details, headers)


def json_error(
    status: int,
    code: str,
    message: str,
    request_id: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """The one JSON error shape, `{"error": {"code", "message", ["details",] "request_id"}}`."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    error["request_id"] = request_id
    return web.json_response({"error": error}, status=status, headers=headers)


def new_request_id() -> str:
    """A fresh request id: 32 hex digits."""
    return f"{_random_bits(128):032x}"


@web.middleware
async def assign_request_id(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Take the client's X-Request-ID when it is sane, else make one; logs and the response carry it."""
    offered = request.headers.get("X-Request-ID", "")
    request_id = offered if _SANE_REQUEST_ID.fullmatch(offered) else new_request_id()
    request[REQUEST_ID] = request_id
    # Left set after the handler: the access log line is written later in this same task.
    request_id_var.set(request_id)
    return await handler(request)


ResponseHook = Callable[[web.Request, web.StreamResponse], Awaitable[None]]


def response_headers(
    cors_headers: Callable[[web.Request, web.StreamResponse], Awaitable[object]],
) -> ResponseHook:
    """The one on_response_prepare hook (so it covers streamed responses and aiohttp's own error
    pages too): stamp the request id and the security headers, and let aiohttp-cors add its
    headers to cross-origin requests. Those always carry Origin, and aiohttp-cors adds nothing
    without one, so the route lookups it makes are skipped for the rest (mobile apps, servers,
    same-origin calls)."""

    async def stamp_headers(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["X-Request-ID"] = request.get(REQUEST_ID) or request_id_var.get()
        stamp_security_headers(response.headers, authenticated=hdrs.AUTHORIZATION in request.headers)
        if hdrs.ORIGIN in request.headers:
            await cors_headers(request, response)

    return stamp_headers


def stamp_security_headers(headers: MutableMapping[str, str], *, authenticated: bool) -> None:
    """What every response carries: no content sniffing (a JSON error is never run as a script),
    `Vary: Origin` (the CORS headers depend on it, so a shared cache must not hand one origin's
    answer to another), and `Cache-Control: no-store` on answers to a request that carried
    credentials, unless the handler chose its own caching (receipts, docs assets)."""
    headers["X-Content-Type-Options"] = "nosniff"
    vary = headers.get(hdrs.VARY, "")
    if "origin" not in vary.lower():
        headers[hdrs.VARY] = f"{vary}, Origin" if vary else "Origin"
    if authenticated and hdrs.CACHE_CONTROL not in headers:
        headers[hdrs.CACHE_CONTROL] = "no-store"


@web.middleware
async def render_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every 4xx/5xx leaves as `{"error": {...}}`; stack traces go to the log, never the client."""
    try:
        return await handler(request)
    except DomainError as exc:
        status = next(_STATUS[cls] for cls in type(exc).__mro__ if cls in _STATUS)
        headers = dict(exc.headers)
        if status == 401:
            headers["WWW-Authenticate"] = _challenge(exc)
        return _error_response(request, status, exc.code, exc.message, exc.details, headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")}
        code = _HTTP_CODES.get(exc.status, "error" if exc.status < 500 else "internal_error")
        return _error_response(request, exc.status, code, _describe_http(request, exc), None, headers)
    except asyncio.CancelledError:
        raise
    except ConnectionResetError:
        if request.transport is None or request.transport.is_closing():
            # The client hung up mid-request (say, mid-body): nobody is left to answer.
            log.info("client went away during %s %s", request.method, request.path)
            return _error_response(request, 400, "client_disconnected", "the client closed the connection")
        log.exception("unhandled error in %s %s", request.method, request.path)
        return _error_response(request, 500, "internal_error", "internal server error")
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return _error_response(request, 500, "internal_error", "internal server error")


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Require a valid, unrevoked bearer token on every route not declared public."""
    match = request.match_info
    if (
        match.http_exception is not None
        or request.method == "OPTIONS"
        or getattr(match.handler, PUBLIC_ATTRIBUTE, False)
    ):
        return await handler(request)
    header = request.headers.get("Authorization", "")
    if not header:
        raise Unauthorized(
            "authentication required: send 'Authorization: Bearer <token>'", code="missing_token"
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization header must be 'Bearer <token>'", code="invalid_token")
    config = request.app[CONFIG]
    claims = decode_token(token.strip(), secret=config.secret_key, issuer=config.jwt_issuer)
    standing = await request.app[STORE].token_standing(claims.user_id, claims.token_id, claims.session_id)
    if standing is TokenStanding.REVOKED:
        raise Unauthorized("token has been revoked", code="token_revoked")
    if standing is TokenStanding.UNKNOWN_USER:
        raise Unauthorized("the token's user no longer exists", code="invalid_token")
    request[CLAIMS] = claims
    return await handler(request)


def _challenge(exc: DomainError) -> str:
    if exc.code == "missing_token":
        return _REALM
    description = exc.message.replace('"', "'")
    return f'{_REALM}, error="invalid_token", error_description="{description}"'


def _describe_http(request: web.Request, exc: web.HTTPException) -> str:
    if exc.status == 404:
        return f"no such endpoint: {request.method} {request.path}"
    if exc.status == 405:
        return f"method {request.method} is not allowed on {request.path}"
    if exc.status == 413:
        return "request body is too large"
    return exc.reason
