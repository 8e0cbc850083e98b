"""`serve --workers 2` (WEB_CONCURRENCY=2) on one port, on both store backends and without Redis:
requests land on both workers; events, replay, tickets, logouts and rate limits cross between them
through the supervisor; a killed worker is replaced; SIGTERM drains both."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.realtime.wsclient import WsClient
from tests.server.processes import command_env, run_command, serving
from tests.services import free_port
from tests.waiting import wait_until

SECRET_KEY = "w" * 48
METRICS_TOKEN = "scrape-" + "m" * 24
ATTEMPTS = 200
"""Fresh connections tried before concluding that a worker is never reached (the kernel spreads
them by a hash, so each one is a coin toss between two workers)."""


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]
    tokens: dict[str, str]


def _env(tmp: Path, backend: str, moto_url: str | None, **extra: str) -> dict[str, str]:
    settings = {
        "SECRET_KEY": SECRET_KEY,
        "WEB_CONCURRENCY": "2",
        "TESSERACT_CMD": str(tmp / "no-tesseract"),
        "OCR_WORKERS": "2",
        "FRONTEND_BASE_URL": "http://frontend.example",
        **extra,
    }
    if backend == "dynamodb":
        assert moto_url is not None
        prefix = f"w{uuid.uuid4().hex[:10]}"
        settings["DYNAMODB_ENDPOINT_URL"] = moto_url
        for name in ("USERS", "GROUPS", "EXPENSES", "TRANSACTIONS", "CHATS"):
            settings[f"DYNAMODB_{name}_TABLE"] = f"{prefix}-{name.lower()}"
    env = command_env(tmp / "data", **settings)
    if backend == "dynamodb":
        assert run_command("create-tables", env=env, cwd=tmp).returncode == 0
    return env


def _start(stack: ExitStack, tmp: Path, env: dict[str, str]) -> Server:
    tokens = {}
    for name in ("alice", "bob", "dave"):  # dave logs out in a test
        run = run_command("token", f"{name}@example.com", env=env, cwd=tmp)
        assert run.returncode == 0, run.stderr
        tokens[name] = run.stdout.strip()
    port = free_port()
    process = stack.enter_context(serving(env, tmp, port))
    server = Server(f"http://127.0.0.1:{port}", process, tokens)
    asyncio.run(_until_both_answer(server))
    return server


async def _until_both_answer(server: Server) -> None:
    async def both_answer() -> bool:
        return await _workers_answering(server) == {0, 1}

    await wait_until(both_answer, timeout=30, what="both workers answering")


@pytest.fixture(scope="module", params=["sqlite", "dynamodb"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("workers")
    moto_url = request.getfixturevalue("moto_url") if request.param == "dynamodb" else None
    env = _env(tmp, request.param, moto_url, RATE_LIMIT_WRITES_PER_MINUTE="0", METRICS_TOKEN=METRICS_TOKEN)
    with ExitStack() as stack:
        yield _start(stack, tmp, env)


class Worker:
    """An HTTP client whose one keep-alive connection is held by a given worker."""

    def __init__(self, server: Server, http: aiohttp.ClientSession, number: int) -> None:
        self.server = server
        self.http = http
        self.number = number

    @classmethod
    async def reach(cls, server: Server, number: int, stack: list[aiohttp.ClientSession]) -> Worker:
        for _ in range(ATTEMPTS):
            http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1))
            stack.append(http)
            async with http.get(server.url + "/healthz") as reply:
                if (await reply.json())["worker"] == number:
                    return cls(server, http, number)
        raise AssertionError(f"no connection reached worker {number}")

    async def call(self, method: str, path: str, user: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.server.tokens[user]}"}
        # The connection `reach` found stays open (keep-alive), so the same worker answers.
        async with self.http.request(method, self.server.url + path, json=body, headers=headers) as reply:
            text = await reply.text()
            return reply.status, json.loads(text) if text else None

    async def connect(self, user: str, on: int, stack: list[aiohttp.ClientSession]) -> WsClient:
        """A WebSocket held by worker `on`, opened with a ticket this worker issued."""
        for _ in range(ATTEMPTS):
            status, ticket = await self.call("POST", "/api/ws/ticket", user)
            assert status == 201, ticket
            http = aiohttp.ClientSession()
            stack.append(http)
            ws = await http.ws_connect(f"{self.server.url}/api/ws?ticket={ticket['ticket']}")
            client = WsClient(ws)
            welcome = await client.receive()
            assert welcome["type"] == "welcome"
            if welcome["worker"] == on:
                return client
            await client.close()
        raise AssertionError(f"no WebSocket reached worker {on}")

    async def group(self, *members: str) -> str:
        status, group = await self.call("POST", "/api/groups", "alice", {"name": "Trip"})
        assert status == 201, group
        for member in members:
            status, invite = await self.call("POST", f"/api/groups/{group['id']}/invites", "alice", {})
            assert status == 201
            status, _ = await self.call("POST", f"/api/invites/{invite['token']}/accept", member)
            assert status == 201
        return str(group["id"])

    async def expense(self, group_id: str) -> str:
        status, expense = await self.call(
            "POST", f"/api/groups/{group_id}/expenses", "alice", {"description": "Taxi", "amount": "10.00"}
        )
        assert status == 201, expense
        return str(expense["id"])


@pytest.fixture
async def sessions() -> AsyncIterator[list[aiohttp.ClientSession]]:
    opened: list[aiohttp.ClientSession] = []
    yield opened
    for http in opened:
        await http.close()


async def test_requests_land_on_both_workers(server: Server) -> None:
    assert await _workers_answering(server) == {0, 1}


async def _workers_answering(server: Server) -> set[int]:
    seen: set[int] = set()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        for _ in range(ATTEMPTS):
            async with http.get(server.url + "/healthz") as reply:
                seen.add((await reply.json())["worker"])
            if seen == {0, 1}:
                break
    return seen


async def test_events_cross_workers_and_replay_after_reconnect(
    server: Server, sessions: list[aiohttp.ClientSession]
) -> None:
    zero = await Worker.reach(server, 0, sessions)
    one = await Worker.reach(server, 1, sessions)
    group_id = await zero.group("bob")
    channel = f"group:{group_id}"
    on_one = await zero.connect("bob", on=1, stack=sessions)  # a ticket from 0 redeemed on 1
    subscribed = await on_one.subscribe(channel)
    assert subscribed["ok"], subscribed

    created = await zero.expense(group_id)
    event = await on_one.next_event()
    assert (event["data"]["id"], event["seq"]) == (created, subscribed["seq"] + 1)
    await on_one.close()

    missed = [await zero.expense(group_id), await one.expense(group_id), await zero.expense(group_id)]
    on_zero = await one.connect("bob", on=0, stack=sessions)
    reply = await on_zero.subscribe(channel, epoch=event["epoch"], seq=event["seq"])
    assert reply["recovered"] is True
    replayed = [await on_zero.next_event() for _ in missed]
    assert [e["data"]["id"] for e in replayed] == missed
    assert [e["seq"] for e in replayed] == [event["seq"] + 1, event["seq"] + 2, event["seq"] + 3]
    live = await one.expense(group_id)
    assert (await on_zero.next_event())["data"]["id"] == live
    with pytest.raises(asyncio.TimeoutError):
        await on_zero.next_event(timeout=0.3)


async def test_logout_on_one_worker_closes_the_socket_on_the_other(
    server: Server, sessions: list[aiohttp.ClientSession]
) -> None:
    zero = await Worker.reach(server, 0, sessions)
    on_one = await zero.connect("dave", on=1, stack=sessions)
    assert (await on_one.command("ping"))["pong"] is True

    status, _ = await zero.call("POST", "/api/logout", "dave")

    assert status == 204
    message = await on_one.ws.receive(timeout=10)
    assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 4001


async def test_a_killed_worker_is_replaced(server: Server) -> None:
    before = _children(server.process.pid)
    assert len(before) == 2
    victim = before[0]
    os.kill(victim, signal.SIGKILL)
    await wait_until(
        lambda: len(_children(server.process.pid)) == 2 and victim not in _children(server.process.pid),
        timeout=20,
        what="the supervisor starting another worker",
    )
    await _until_both_answer(server)


async def test_metrics_on_either_worker_count_both(
    server: Server, sessions: list[aiohttp.ClientSession]
) -> None:
    zero = await Worker.reach(server, 0, sessions)
    one = await Worker.reach(server, 1, sessions)
    before = await _healthz_count(zero)
    for _ in range(3):
        async with one.http.get(server.url + "/healthz") as reply:
            assert reply.status == 200
    assert await _healthz_count(zero) == before + 3
    assert await _healthz_count(one) == before + 3


async def _healthz_count(worker: Worker) -> float:
    headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    async with worker.http.get(worker.server.url + "/metrics", headers=headers) as reply:
        assert reply.status == 200
        text = await reply.text()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "expense_tracker_http_requests_total" and sample.labels.get("route") == "/healthz"
    )


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as file:
        return [int(child) for child in file.read().split()]


def test_rate_limits_are_shared_by_the_workers(tmp_path: Path) -> None:
    env = _env(tmp_path, "sqlite", None, RATE_LIMIT_WRITES_PER_MINUTE="6")
    with ExitStack() as stack:
        server = _start(stack, tmp_path, env)
        asyncio.run(_spend_the_write_budget(server))


async def _spend_the_write_budget(server: Server) -> None:
    sessions: list[aiohttp.ClientSession] = []
    try:
        zero = await Worker.reach(server, 0, sessions)
        one = await Worker.reach(server, 1, sessions)
        statuses = []
        for index in range(8):
            worker = (zero, one)[index % 2]
            status, _ = await worker.call("POST", "/api/groups", "alice", {"name": f"G{index}"})
            statuses.append(status)
        # Six writes a minute for alice on the machine, not six on each worker.
        assert statuses == [201] * 6 + [429, 429]
    finally:
        for http in sessions:
            await http.close()


def test_sigterm_drains_both_workers(tmp_path: Path) -> None:
    env = _env(tmp_path, "sqlite", None)
    with ExitStack() as stack:
        server = _start(stack, tmp_path, env)
        workers = _children(server.process.pid)
        asyncio.run(_closed_on_sigterm(server))
        assert server.process.wait(timeout=60) == 0
        for pid in workers:
            assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except OSError:
        return True


async def _closed_on_sigterm(server: Server) -> None:
    sessions: list[aiohttp.ClientSession] = []
    try:
        zero = await Worker.reach(server, 0, sessions)
        sockets = [await zero.connect("bob", on=number, stack=sessions) for number in (0, 1)]
        server.process.send_signal(signal.SIGTERM)
        for client in sockets:
            assert (await client.receive(timeout=30))["type"] == "shutdown"
            message = await client.ws.receive(timeout=30)
            assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 1001, message
    finally:
        for http in sessions:
            await http.close()
