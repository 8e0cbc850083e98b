"""What goes on a realtime WebSocket's wire: the reply shapes, ready-made text frames, and the
socket the hub writes them to (docs/realtime.md describes the frames)."""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

from aiohttp import WSMsgType, web

from realtime.hub import Outgoing

CLOSE_TIMEOUT_SECONDS = 2.0
"""How long a close handshake may take before the connection is aborted."""
CUT_OFF_GRACE_SECONDS = 10.0
"""How long a client cut off for not reading has to read what was sent, its close frame last,
before the connection is aborted."""
DRAIN_POLL_SECONDS = 0.01
SEND_BUFFER_BYTES = 64 * 1024
"""The kernel's send buffer per connection, kept small so that a client that stops reading fills
its outbound queue (and is cut off) soon, instead of parking megabytes in the kernel."""


def ok_reply(command_id: Any, fields: dict[str, Any]) -> dict[str, Any]:
    """A command's success: its `id` and the command's own reply fields."""
    return {"type": "reply", "id": command_id, "ok": True, **fields}


def error_reply(command_id: Any, code: str, message: str) -> dict[str, Any]:
    """A command's failure: its `id` (None when the command had none, or no readable one) and why."""
    return {"type": "reply", "id": command_id, "ok": False, "error": {"code": code, "message": message}}


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked text frame (RFC 6455 section 5.2), as a server sends it."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


def close_frame(code: int, reason: str) -> bytes:
    """An unmasked close frame (RFC 6455 section 5.5.1): the status code, then the reason (at most
    123 bytes of UTF-8)."""
    payload = struct.pack("!H", code) + reason.encode()[:123]
    return struct.pack("!BB", 0x88, len(payload)) + payload


def shrink_send_buffer(request: web.Request) -> None:
    """Give the connection a small kernel send buffer (`SEND_BUFFER_BYTES`), so that a client that
    stops reading is noticed by its outbound queue; best effort."""
    transport = request.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        except OSError:
            pass


class AiohttpSocket:
    """The hub's view of a WebSocket: write a frame now if the client keeps up, or wait for it;
    close promptly, aborting if need be."""

    def __init__(self, request: web.Request, ws: web.WebSocketResponse) -> None:
        self._ws = ws
        self._transport = request.transport
        self._protocol = request.protocol

    def write_now(self, frame: Outgoing) -> bool:
        """Write the event's frame bytes (built once per event, unmasked and uncompressed, so the
        same for every client) straight to the transport, unless the client is behind."""
        transport = self._transport
        if transport is None or transport.is_closing() or self._ws.closed or self._protocol.writing_paused:
            return False
        if frame.wire is None:
            frame.wire = text_frame(frame.payload)
        transport.write(frame.wire)
        return True

    async def send_frame(self, data: bytes) -> None:
        transport = self._transport
        while self._protocol.writing_paused and not self._ws.closed and not _closing(transport):
            await asyncio.sleep(DRAIN_POLL_SECONDS)
        if _closing(transport):
            return  # cut off (its close frame is the last thing written) or gone
        await self._ws.send_frame(data, WSMsgType.TEXT)

    async def close(self, code: int, message: str) -> None:
        transport = self._transport
        if transport is not None and not transport.is_closing() and self._protocol.writing_paused:
            # The client is not reading, so a close handshake would wait on it. The close frame
            # goes behind what the transport still holds, which it flushes before it closes: a
            # client that reads again soon gets everything sent so far and then the close code.
            transport.write(close_frame(code, message))
            transport.close()
            asyncio.get_running_loop().call_later(CUT_OFF_GRACE_SECONDS, transport.abort)
            return
        try:
            await asyncio.wait_for(self._ws.close(code=code, message=message.encode()), CLOSE_TIMEOUT_SECONDS)
        except (asyncio.TimeoutError, ConnectionError, RuntimeError):
            if self._transport is not None:
                self._transport.abort()


def _closing(transport: asyncio.BaseTransport | None) -> bool:
    return transport is None or transport.is_closing()
