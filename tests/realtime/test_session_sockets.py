"""Refresh-token reuse ends the session everywhere: two real server processes sharing a store and
a real redis-server. The reused token is presented to one instance; the session's socket on the
other closes, and the user's other session keeps its socket (issue 13)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.realtime.test_instances import FRONTEND, SECRET_KEY, Instance
from tests.realtime.wsclient import WsClient
from tests.server.processes import command_env, run_command, serving
from tests.services import free_port


@pytest.fixture(scope="module")
def instances(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[tuple[Path, dict[str, str], list[Instance]]]:
    tmp = tmp_path_factory.mktemp("session-cluster")
    env = command_env(
        tmp / "data",
        SECRET_KEY=SECRET_KEY,
        REDIS_URL=redis_url,
        FRONTEND_BASE_URL=FRONTEND,
        TESSERACT_CMD=str(tmp / "no-tesseract"),
        OCR_WORKERS="1",
        REFRESH_GRACE_SECONDS="0",  # processes have no injectable clock: no grace, no waiting
    )
    with ExitStack() as stack:
        started = []
        for _ in range(2):
            port = free_port()
            started.append(Instance(port, stack.enter_context(serving(env, tmp, port))))
        yield tmp, env, started


def _new_session(tmp: Path, env: dict[str, str], email: str) -> dict[str, Any]:
    run = run_command("token", email, "--refresh", env=env, cwd=tmp)
    assert run.returncode == 0, run.stderr
    tokens: dict[str, Any] = json.loads(run.stdout)
    return tokens


async def _connect(http: aiohttp.ClientSession, instance: Instance, access_token: str) -> WsClient:
    headers = {"Authorization": f"Bearer {access_token}"}
    async with http.post(f"{instance.url}/api/ws/ticket", headers=headers) as reply:
        assert reply.status == 201, await reply.text()
        ticket = (await reply.json())["ticket"]
    client = WsClient(await http.ws_connect(f"{instance.url}/api/ws?ticket={ticket}"))
    assert (await client.receive())["type"] == "welcome"
    return client


async def _refresh(http: aiohttp.ClientSession, instance: Instance, token: str) -> tuple[int, Any]:
    body = {"grant_type": "refresh_token", "refresh_token": token}
    async with http.post(f"{instance.url}/api/token", json=body) as reply:
        return reply.status, await reply.json()


async def test_reuse_on_a_closes_the_sessions_socket_on_b(
    instances: tuple[Path, dict[str, str], list[Instance]],
) -> None:
    tmp, env, (a, b) = instances
    stolen = _new_session(tmp, env, "erin@example.com")
    other = _new_session(tmp, env, "erin@example.com")
    async with aiohttp.ClientSession() as http:
        status, rotated = await _refresh(http, a, stolen["refresh_token"])
        assert status == 200
        on_b = await _connect(http, b, rotated["access_token"])
        keeps = await _connect(http, a, other["access_token"])
        assert (await on_b.command("ping"))["pong"] is True

        status, error = await _refresh(http, a, stolen["refresh_token"])

        assert (status, error["error"]) == (401, "refresh_token_reused")
        for _ in range(10):
            message = await on_b.ws.receive(timeout=5)
            if message.type != aiohttp.WSMsgType.TEXT:
                break
        assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 4001
        assert (await keeps.command("ping"))["pong"] is True
        headers = {"Authorization": f"Bearer {rotated['access_token']}"}
        async with http.get(f"{b.url}/api/user", headers=headers) as reply:
            assert reply.status == 401
        headers = {"Authorization": f"Bearer {other['access_token']}"}
        async with http.get(f"{b.url}/api/user", headers=headers) as reply:
            assert reply.status == 200
