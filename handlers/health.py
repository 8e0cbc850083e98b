"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

import asyncio

from aiohttp import web

from ocr.engine import TESSERACT
from realtime.redis import redis_status
from server.keys import CONFIG, STORE
from server.routing import Api, Reply

api = Api("health")

STORE_TIMEOUT_SECONDS = 2.0

READINESS = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {
        "status": {"type": "string", "enum": ["ready", "unavailable"]},
        "checks": {
            "type": "object",
            "required": ["store", "tesseract"],
            "properties": {
                "store": {"type": "string"},
                "redis": {"type": "string", "description": "present when REDIS_URL is set"},
                "tesseract": {"type": "string"},
            },
        },
    },
}


_ALIVE = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": {"const": "ok"},
        "worker": {
            "type": "integer",
            "description": "which worker answered (0..N-1), with `serve --workers N` only",
        },
    },
}


@api.get(
    "/healthz",
    summary="The process is alive",
    public=True,
    replies={200: Reply("alive", _ALIVE)},
)
async def healthz(request: web.Request) -> web.Response:
    worker = request.app[CONFIG].worker
    return web.json_response({"status": "ok"} if worker is None else {"status": "ok", "worker": worker})


@api.get(
    "/readyz",
    summary="Ready to serve: the store answers (Redis and tesseract are reported)",
    public=True,
    replies={200: Reply("ready", READINESS), 503: Reply("the store is unreachable", READINESS)},
)
async def readyz(request: web.Request) -> web.Response:
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(request.app[STORE].ping(), STORE_TIMEOUT_SECONDS)
        checks["store"] = "ok"
    except Exception as exc:  # any failure to answer means not ready, whatever its type
        checks["store"] = f"unavailable: {type(exc).__name__}"
    redis = await redis_status(request.app)
    if redis is not None:
        checks["redis"] = redis
    tesseract = request.app[TESSERACT]
    checks["tesseract"] = (
        f"ok: {tesseract.version}" if tesseract.available else "missing: OCR endpoints answer 503"
    )
    ready = checks["store"] == "ok"
    return web.json_response(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )
