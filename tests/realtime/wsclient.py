"""A small protocol client for tests: commands with ids, replies and events kept apart. Every frame
it receives is checked against the AsyncAPI document (`frames_check`)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from tests.realtime.frames_check import check_frame

TIMEOUT = 5.0


class WsClient:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._next_id = 0
        self.pending: list[dict[str, Any]] = []
        """Frames that arrived while waiting for a reply, in order."""

    async def receive(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        if self.pending:
            return self.pending.pop(0)
        message = await self.ws.receive(timeout=timeout)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        frame: dict[str, Any] = json.loads(message.data)
        check_frame(frame)
        return frame

    async def command(self, type_: str, **fields: Any) -> dict[str, Any]:
        self._next_id += 1
        command_id = f"c{self._next_id}"
        await self.ws.send_json({"id": command_id, "type": type_, **fields})
        while True:
            message = await self.ws.receive(timeout=TIMEOUT)
            assert message.type == aiohttp.WSMsgType.TEXT, message
            frame: dict[str, Any] = json.loads(message.data)
            if frame.get("type") == "reply" and frame.get("id") == command_id:
                check_frame(frame, type_)
                return frame
            check_frame(frame)
            self.pending.append(frame)

    async def subscribe(self, channel: str, **position: Any) -> dict[str, Any]:
        return await self.command("subscribe", channel=channel, **position)

    async def next_event(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        while True:
            frame = await self.receive(timeout)
            if "seq" in frame and frame["type"] != "reply":
                return frame

    async def close(self) -> None:
        await self.ws.close()
