"""Two real server processes sharing a store and a real redis-server, as behind a load balancer:
delivery across instances, recovery after a disconnect, trimmed history, a slow consumer, a Redis
outage, and shutdown."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import struct
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.realtime.wsclient import WsClient
from tests.server.processes import command_env, run_command, serving
from tests.services import free_port, redis_server
from tests.tcp import server_let_go
from tests.waiting import wait_until

SECRET_KEY = "s" * 48
FRONTEND = "http://frontend.example"
HISTORY = 20
QUEUE = 16


@dataclass
class Instance:
    port: int
    process: subprocess.Popen[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    a: Instance
    b: Instance
    tokens: dict[str, str]
    ids: dict[str, str]


@dataclass
class Session:
    cluster: Cluster
    http: aiohttp.ClientSession

    async def call(
        self, instance: Instance, method: str, path: str, user: str, body: Any = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.cluster.tokens[user]}"}
        async with self.http.request(method, instance.url + path, json=body, headers=headers) as reply:
            text = await reply.text()
            return reply.status, json.loads(text) if text else None

    async def group(self, owner: str, *members: str) -> str:
        status, group = await self.call(self.cluster.a, "POST", "/api/groups", owner, {"name": "Trip"})
        assert status == 201, group
        for member in members:
            status, invite = await self.call(
                self.cluster.a, "POST", f"/api/groups/{group['id']}/invites", owner, {}
            )
            assert status == 201
            status, _ = await self.call(
                self.cluster.a, "POST", f"/api/invites/{invite['token']}/accept", member
            )
            assert status == 201
        group_id: str = group["id"]
        return group_id

    async def expense(
        self, instance: Instance, group_id: str, user: str, notes: str = "", amount: str = "10.00"
    ) -> dict[str, Any]:
        status, expense = await self.call(
            instance,
            "POST",
            f"/api/groups/{group_id}/expenses",
            user,
            {"description": "Taxi", "amount": amount, "notes": notes},
        )
        assert status == 201, expense
        created: dict[str, Any] = expense
        return created

    async def connect(self, instance: Instance, user: str, **kwargs: Any) -> WsClient:
        status, ticket = await self.call(instance, "POST", "/api/ws/ticket", user)
        assert status == 201, ticket
        ws = await self.http.ws_connect(f"{instance.url}/api/ws?ticket={ticket['ticket']}", **kwargs)
        client = WsClient(ws)
        assert (await client.receive())["type"] == "welcome"
        return client


def start_cluster(stack: ExitStack, tmp: Path, redis_url: str) -> Cluster:
    env = command_env(
        tmp / "data",
        SECRET_KEY=SECRET_KEY,
        REDIS_URL=redis_url,
        FRONTEND_BASE_URL=FRONTEND,
        REALTIME_HISTORY=str(HISTORY),
        WS_QUEUE_SIZE=str(QUEUE),
        TESSERACT_CMD=str(tmp / "no-tesseract"),
        OCR_WORKERS="1",
        # Tests here post more than a minute's writes in seconds (the slow consumer: 120 chats).
        RATE_LIMIT_WRITES_PER_MINUTE="0",
    )
    tokens, ids = {}, {}
    for name in ("alice", "bob", "carol", "dave"):  # dave's token is revoked by a test
        run = run_command("token", f"{name}@example.com", env=env, cwd=tmp)
        assert run.returncode == 0, run.stderr
        tokens[name] = run.stdout.strip()
        payload = tokens[name].split(".")[1]
        ids[name] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]
    instances = []
    for _ in range(2):
        port = free_port()
        instances.append(Instance(port, stack.enter_context(serving(env, tmp, port))))
    return Cluster(instances[0], instances[1], tokens, ids)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Cluster]:
    with ExitStack() as stack:
        yield start_cluster(stack, tmp_path_factory.mktemp("cluster"), redis_url)


@pytest.fixture
async def session(cluster: Cluster) -> AsyncIterator[Session]:
    async with aiohttp.ClientSession() as http:
        yield Session(cluster, http)


async def test_an_expense_created_through_a_reaches_a_subscriber_on_b(session: Session) -> None:
    cluster = session.cluster
    group_id = await session.group("alice", "bob")
    on_b = await session.connect(cluster.b, "bob")
    reply = await on_b.subscribe(f"group:{group_id}")
    assert reply["ok"], reply

    expense = await session.expense(cluster.a, group_id, "alice")

    event = await on_b.next_event()
    assert event["type"] == "expense.created" and event["data"]["id"] == expense["id"]
    assert event["seq"] == reply["seq"] + 1 and event["epoch"] == reply["epoch"]


async def test_logout_through_a_closes_the_socket_on_b(session: Session) -> None:
    cluster = session.cluster
    on_b = await session.connect(cluster.b, "dave")
    assert (await on_b.command("ping"))["pong"] is True

    status, _ = await session.call(cluster.a, "POST", "/api/logout", "dave")

    assert status == 204
    message = await on_b.ws.receive(timeout=5)
    assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 4001


async def test_a_client_that_reconnects_gets_exactly_what_it_missed(session: Session) -> None:
    cluster = session.cluster
    group_id = await session.group("alice", "bob")
    channel = f"group:{group_id}"
    client = await session.connect(cluster.b, "bob")
    await client.subscribe(channel)
    await session.expense(cluster.a, group_id, "alice")
    last = await client.next_event()
    await client.close()

    missed = [(await session.expense(cluster.a, group_id, "alice"))["id"] for _ in range(3)]

    client = await session.connect(cluster.a, "bob")
    reply = await client.subscribe(channel, epoch=last["epoch"], seq=last["seq"])
    assert reply["recovered"] is True
    replayed = [await client.next_event() for _ in missed]
    assert [e["data"]["id"] for e in replayed] == missed
    assert [e["seq"] for e in replayed] == [last["seq"] + 1, last["seq"] + 2, last["seq"] + 3]
    live = await session.expense(cluster.b, group_id, "alice")
    event = await client.next_event()
    assert (event["seq"], event["data"]["id"]) == (last["seq"] + 4, live["id"])
    with pytest.raises(asyncio.TimeoutError):
        await client.next_event(timeout=0.3)


async def test_history_trimmed_past_the_position_is_not_recovered(session: Session) -> None:
    cluster = session.cluster
    group_id = await session.group("alice", "bob")
    channel = f"group:{group_id}"
    client = await session.connect(cluster.a, "bob")
    await client.subscribe(channel)
    await session.expense(cluster.a, group_id, "alice")
    last = await client.next_event()
    await client.close()

    for _ in range(HISTORY + 2):
        status, _ = await session.call(
            cluster.a, "POST", f"/api/groups/{group_id}/chats", "alice", {"text": "hi"}
        )
        assert status == 201

    client = await session.connect(cluster.b, "bob")
    reply = await client.subscribe(channel, epoch=last["epoch"], seq=last["seq"])
    assert reply["recovered"] is False
    assert reply["seq"] == last["seq"] + HISTORY + 2
    await session.expense(cluster.a, group_id, "alice")
    assert (await client.next_event())["seq"] == reply["seq"] + 1


async def test_non_members_bad_origins_and_oversize_frames_are_refused(session: Session) -> None:
    cluster = session.cluster
    group_id = await session.group("alice")
    outsider = await session.connect(cluster.b, "carol")
    reply = await outsider.subscribe(f"group:{group_id}")
    assert reply["ok"] is False and reply["error"]["code"] == "not_found"

    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await session.connect(cluster.a, "alice", origin="https://evil.example")
    assert refused.value.status == 403

    await outsider.ws.send_str("x" * (64 * 1024 + 1))
    message = await outsider.ws.receive(timeout=5)
    assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 1009


async def test_a_slow_consumer_is_cut_off_while_a_fast_one_keeps_receiving(
    session: Session,
) -> None:
    cluster = session.cluster
    group_id = await session.group("alice", "bob")
    channel = f"group:{group_id}"
    fast = await session.connect(cluster.b, "bob")
    await fast.subscribe(channel)
    slow = await RawSlowClient.open(session, cluster.b, "bob", channel)

    text = "n" * 4000
    posted: list[str] = []
    received: list[str] = []
    for _ in range(120):  # ~500 KB: more than the socket buffers and the queue of 16 hold
        status, message = await session.call(
            cluster.a, "POST", f"/api/groups/{group_id}/chats", "alice", {"text": text}
        )
        assert status == 201
        posted.append(message["id"])
        received.append((await fast.next_event())["data"]["id"])
    assert received == posted
    # Its queue of 16 overflowed long before: it was cut off. Reading again, it finds what had
    # been sent to it, then the close frame with 4008, then the end of the connection.
    frames, close_code = await asyncio.to_thread(slow.read_to_the_end)
    assert close_code == 4008, (close_code, len(frames))
    assert 0 < len(frames) < len(posted)
    await wait_until(lambda: server_let_go(slow.sock), what="instance b letting go of the slow consumer")
    slow.sock.close()


class RawSlowClient:
    """A WebSocket client with a tiny receive buffer that subscribes and then never reads."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.close_code: int | None = None

    @classmethod
    async def open(cls, session: Session, instance: Instance, user: str, channel: str) -> RawSlowClient:
        _, ticket = await session.call(instance, "POST", "/api/ws/ticket", user)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", instance.port))
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            f"GET /api/ws?ticket={ticket['ticket']} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head
        payload = json.dumps({"id": 1, "type": "subscribe", "channel": channel}).encode()
        mask = os.urandom(4)
        sock.sendall(
            bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        )
        sock.settimeout(5)
        frame: dict[str, Any] = {}
        while not (frame.get("type") == "reply" and frame.get("id") == 1):  # subscribed from here on
            frame = json.loads(_read_text_frame(sock))
        assert frame["ok"], frame
        return cls(sock)

    def read_to_the_end(self) -> tuple[list[str], int | None]:
        """Every text frame left to read, and the close frame's code (None if the connection
        ended without one)."""
        self.sock.settimeout(15)
        frames: list[str] = []
        while True:
            try:
                first, payload = _read_frame(self.sock)
            except (ConnectionError, AssertionError, OSError):
                return frames, None
            if first == 0x88:
                return frames, struct.unpack("!H", payload[:2])[0]
            assert first == 0x81, first
            frames.append(payload.decode())


def _read_text_frame(sock: socket.socket) -> str:
    """The next frame from the server, which must be text."""
    first, payload = _read_frame(sock)
    assert first == 0x81, first  # FIN, text
    return payload.decode()


def _read_frame(sock: socket.socket) -> tuple[int, bytes]:
    """The next frame from the server (which never masks or fragments them): its first byte (FIN
    and opcode) and its payload."""
    head = _read_exactly(sock, 2)
    length = head[1] & 0x7F
    if length == 126:
        length = struct.unpack("!H", _read_exactly(sock, 2))[0]
    elif length == 127:
        length = struct.unpack("!Q", _read_exactly(sock, 8))[0]
    return head[0], _read_exactly(sock, length)


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, "the server closed the connection"
        data += chunk
    return data


async def test_redis_outage_rest_keeps_working_and_delivery_resumes(
    tmp_path: Path,
    session: Session,
) -> None:
    port = free_port()
    with ExitStack() as stack:
        redis = ExitStack()
        redis_url = redis.enter_context(redis_server(port))
        cluster = start_cluster(stack, tmp_path, redis_url)
        session = Session(cluster, session.http)
        group_id = await session.group("alice", "bob")
        channel = f"group:{group_id}"
        client = await session.connect(cluster.b, "bob")
        await client.subscribe(channel)
        await session.expense(cluster.a, group_id, "alice")
        last = await client.next_event()

        redis.close()  # Redis goes away
        for instance in (cluster.a, cluster.b):
            await session.expense(instance, group_id, "alice")
            status, _ = await session.call(instance, "GET", f"/api/groups/{group_id}/balances", "bob")
            assert status == 200

        with redis_server(port):  # and comes back, empty
            notice = await client.receive(timeout=15)
            assert notice == {"type": "resubscribe", "channel": channel, "reason": notice["reason"]}
            reply = await client.subscribe(channel, epoch=last["epoch"], seq=last["seq"])
            assert reply["ok"] and reply["recovered"] is False  # reload through REST
            expense = await session.expense(cluster.a, group_id, "alice")
            event = await client.next_event(timeout=10)
            while event["data"].get("id") != expense["id"]:
                event = await client.next_event(timeout=10)
            assert event["epoch"] == reply["epoch"]

            cluster.b.process.send_signal(signal.SIGTERM)
            frame = await client.receive()
            assert frame["type"] == "shutdown"
            message = await client.ws.receive(timeout=10)
            assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 1001
            assert cluster.b.process.wait(timeout=30) == 0
