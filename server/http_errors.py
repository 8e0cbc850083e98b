"""Requests aiohttp's HTTP parser refuses (a header too large, a NUL byte in a header name, too
many headers, garbage instead of a request line) answered with our JSON error, not aiohttp's
plain-text page echoing the bytes back, and logged as the client's mistake, not with a traceback.

These errors happen before any middleware or `on_response_prepare` hook runs, and aiohttp offers
no supported hook for them (aio-libs/aiohttp#3287, #6463): its protocol object answers them in
`RequestHandler.handle_error`. `Runner` is an `AppRunner` whose server makes our subclass of that
protocol. `check_aiohttp_internals` fails start-up if the parts of aiohttp this relies on change.
"""

from __future__ import annotations

import inspect
import logging

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod, HttpProcessingError, LineTooLong

from server.logs import request_id_var
from server.middleware import json_error, new_request_id, stamp_security_headers

log = logging.getLogger(__name__)

_TOO_LARGE_MESSAGES = ("Too many headers received",)
_HANDLE_ERROR_PARAMETERS = ["self", "request", "status", "exc", "message"]


class _RefusingRequestHandler(web.RequestHandler):
    """aiohttp's protocol object, answering unparseable requests in the API's error shape."""

    __slots__ = ()

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """For a parser error, a JSON 431 (too large) or 400 with a fresh request id, and one log
        line at WARNING (INFO for a first request that is not HTTP at all, such as TLS on this
        port: internet background noise). Anything else is aiohttp's own business."""
        if not isinstance(exc, HttpProcessingError) or request.writer.output_size > 0:
            return super().handle_error(request, status, exc, message)
        request_id = new_request_id()
        # The access log line is written later in this same task: it carries the id too.
        request_id_var.set(request_id)
        reason = " ".join(exc.message.split())[:200]
        level = logging.INFO if isinstance(exc, BadHttpMethod) else logging.WARNING
        log.log(level, "refused an unparseable request from %s: %s", request.remote, reason)
        if isinstance(exc, LineTooLong) or exc.message in _TOO_LARGE_MESSAGES:
            response = json_error(
                431,
                "request_header_fields_too_large",
                f"the request line or a header is longer than {self.max_field_size} bytes, "
                f"or there are more than {self.max_headers} headers",
                request_id,
            )
        else:
            response = json_error(
                400,
                "malformed_request",
                "the request is not valid HTTP/1.1 (its request line or a header is malformed)",
                request_id,
            )
        response.headers["X-Request-ID"] = request_id
        stamp_security_headers(response.headers, authenticated=False)
        response.force_close()
        return response


class _Server(web.Server):
    """aiohttp's low-level server, making `_RefusingRequestHandler`s for its connections."""

    def __call__(self) -> web.RequestHandler:
        return _RefusingRequestHandler(self, loop=self._loop, **self._kwargs)


class Runner(web.AppRunner):
    """An `AppRunner` whose connections answer unparseable requests as the API does."""

    async def _make_server(self) -> web.Server:
        made = await super()._make_server()
        check_aiohttp_internals(made)
        # The app makes a plain Server (Application._make_handler); ours differs only in the
        # protocol class its __call__ makes, so it takes over the instance as it is.
        made.__class__ = _Server
        return made


def check_aiohttp_internals(server: web.Server) -> None:
    """Raise (so the server does not start) if aiohttp no longer has what `Runner` relies on:
    the protocol's `handle_error(request, status, exc, message)`, and the server's `_loop` and
    `_kwargs`, with which it makes its protocol objects."""
    parameters = list(inspect.signature(web.RequestHandler.handle_error).parameters)
    if parameters != _HANDLE_ERROR_PARAMETERS:
        raise RuntimeError(f"aiohttp's RequestHandler.handle_error changed: {parameters}")
    if type(server) is not web.Server or not isinstance(vars(server).get("_kwargs"), dict):
        raise RuntimeError("aiohttp's Server no longer keeps the protocol's arguments in _kwargs")
    if "_loop" not in vars(server):
        raise RuntimeError("aiohttp's Server no longer keeps its loop in _loop")
