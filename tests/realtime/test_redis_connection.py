"""The shared Redis connection: opened with the app when REDIS_URL is set, reported by /readyz."""

from __future__ import annotations

from server.app import create_app
from server.config import load_config
from tests.services import redis_server


def app_config(tmp_path, **extra):
    return load_config({"DATA_DIR": str(tmp_path), "SECRET_KEY": "r" * 40, **extra}, read_dotenv=False)


async def test_readyz_reports_redis_and_survives_its_outage(tmp_path, aiohttp_client):
    with redis_server() as url:
        client = await aiohttp_client(create_app(app_config(tmp_path, REDIS_URL=url)))
        reply = await client.get("/readyz")
        body = await reply.json()
        assert reply.status == 200
        assert body["checks"]["redis"] == "ok"
    reply = await client.get("/readyz")
    body = await reply.json()
    assert reply.status == 200, "the store alone decides readiness"
    assert body["checks"]["redis"].startswith("unavailable")


async def test_without_redis_url_readyz_does_not_mention_it(tmp_path, aiohttp_client):
    client = await aiohttp_client(create_app(app_config(tmp_path)))
    body = await (await client.get("/readyz")).json()
    assert "redis" not in body["checks"]
    assert body["checks"]["store"] == "ok"
