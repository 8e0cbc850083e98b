"""Prometheus metrics over HTTP: the middleware that counts and times every request by its route
template, and the exposition (`GET /metrics` on the API port behind `METRICS_TOKEN`, or on a
port of its own, `METRICS_PORT`). What is measured lives in `domain.metrics`."""

from __future__ import annotations

import hmac
import os
import time

from aiohttp import hdrs, web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from domain.metrics import REQUEST_SECONDS, REQUESTS
from server.middleware import Handler

UNMATCHED = "unmatched"
"""The route label of a request no route matched (so raw paths never become series)."""


@web.middleware
async def observe_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        route = request.match_info.route.resource
        template = route.canonical if route is not None else UNMATCHED
        method = request.method if request.method in _METHODS else "other"
        REQUESTS.labels(template, method, str(status)).inc()
        REQUEST_SECONDS.labels(template, method).observe(time.perf_counter() - started)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def exposition() -> web.Response:
    """This process's metrics, or, as one of several workers (prometheus-client's multiprocess
    mode, set up by `server.workers`), every worker's summed."""
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    response = web.Response(body=generate_latest(registry))
    response.headers[hdrs.CONTENT_TYPE] = CONTENT_TYPE_LATEST
    return response


def bearer_matches(request: web.Request, token: str) -> bool:
    offered = request.headers.get(hdrs.AUTHORIZATION, "")
    scheme, _, value = offered.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


def metrics_app() -> web.Application:
    """The app of `METRICS_PORT`: `/metrics` and nothing else, unauthenticated (keep that port
    off the public network)."""

    async def serve(request: web.Request) -> web.Response:
        return exposition()

    app = web.Application()
    app.router.add_get("/metrics", serve)
    return app
