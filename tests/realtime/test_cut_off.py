"""A client cut off for not reading still gets its close code, 4008, once it reads again."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import struct

import pytest

from realtime import frames
from realtime.hub import HUB
from tests.api.conftest import Actor, Api, store_agnostic
from tests.api.test_expenses import trio

pytestmark = store_agnostic


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    """A queue of four frames, and chat as fast as the test posts it."""
    return {
        **environ,
        "WS_QUEUE_SIZE": "4",
        "RATE_LIMIT_WRITES_PER_MINUTE": "0",
        "RATE_LIMIT_PER_MINUTE": "0",
    }


async def _stalled_subscriber(
    api: Api, actor: Actor, channel: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw WebSocket client with a 4 KB receive window, subscribed to `channel`, that then stops
    reading (its reader is only read from again by the test)."""
    ticket = (await api.post("/api/ws/ticket", as_=actor)).json["ticket"]
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    server = api.client.server
    await asyncio.get_running_loop().sock_connect(sock, (server.host, server.port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=1024)
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    writer.write(
        f"GET /api/ws?ticket={ticket} HTTP/1.1\r\nHost: {server.host}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    payload = json.dumps({"id": 1, "type": "subscribe", "channel": channel}).encode()
    mask = os.urandom(4)
    writer.write(
        bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    )
    while True:
        opcode, body = await _frame(reader)
        assert opcode == 0x1, opcode
        if json.loads(body).get("id") == 1:
            return reader, writer  # (a writer let go of closes the connection)


async def _frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readexactly(2)
    length = head[1] & 0x7F
    if length == 126:
        length = struct.unpack("!H", await reader.readexactly(2))[0]
    elif length == 127:
        length = struct.unpack("!Q", await reader.readexactly(8))[0]
    return head[0] & 0x0F, await reader.readexactly(length)


async def test_a_stalled_subscriber_reads_what_it_was_sent_then_4008(
    api: Api, alice: Actor, bob: Actor, carol: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A close handshake may not wait at all: the cut-off must not depend on one.
    monkeypatch.setattr(frames, "CLOSE_TIMEOUT_SECONDS", 0.0)
    group_id = await trio(api, alice, bob, carol)
    hub = api.app[HUB]
    reader, writer = await _stalled_subscriber(api, bob, f"group:{group_id}")
    assert hub.connections == 1
    posted = 0
    while hub.connections:  # until the hub cuts it off: its queue of four overflows
        reply = await api.post(f"/api/groups/{group_id}/chats", as_=alice, json={"text": "n" * 4000})
        assert reply.status == 201, reply.text
        posted += 1
        assert posted < 200, "never cut off"

    received, close_code = 0, None
    while close_code is None:
        opcode, body = await asyncio.wait_for(_frame(reader), 10)
        if opcode == 0x8:
            close_code = struct.unpack("!H", body[:2])[0]
            assert body[2:] == b"slow consumer"
        else:
            received += 1
    assert close_code == 4008
    assert 0 < received < posted
    assert await reader.read() == b""  # and then the end of the connection
    writer.close()
