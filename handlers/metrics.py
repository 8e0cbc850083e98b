"""`GET /metrics`: the server's Prometheus metrics, for a scraper that holds `METRICS_TOKEN`."""

from __future__ import annotations

from aiohttp import web

from domain import NotFound, Unauthorized
from handlers.openapi import METRICS_SCHEME
from handlers.schemas import ERROR
from server.keys import CONFIG
from server.metrics import bearer_matches, exposition
from server.routing import Api, Reply

api = Api("metrics")


@api.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format), with METRICS_TOKEN as the bearer token",
    public=True,
    scheme=METRICS_SCHEME,
    replies={
        200: Reply("the metrics, `text/plain; version=0.0.4`"),
        401: Reply("METRICS_TOKEN is set and the request does not carry it", ERROR),
        404: Reply("no METRICS_TOKEN is set: metrics are off here (or on METRICS_PORT alone)", ERROR),
    },
)
async def metrics(request: web.Request) -> web.Response:
    token = request.app[CONFIG].metrics_token
    if token is None:
        raise NotFound("not found")
    if not bearer_matches(request, token):
        raise Unauthorized("send METRICS_TOKEN as the bearer token", code="metrics_token")
    return exposition()
