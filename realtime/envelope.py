"""The envelope every subscriber receives, serialised once where it is published; every instance
and every connection forwards that same text:

    {"channel": "group:<id>", "seq": 42, "epoch": "<opaque>", "type": "expense.created",
     "id": "<event id>", "ts": 1718000000.123456, "data": {...}}

`seq` counts the channel's events (1, 2, 3, ... within one `epoch`); `ts` is seconds since the Unix
epoch when the event was published. The broker assigns `seq` and `epoch` atomically with storing
the event in the channel's history, so the two parts are joined there (`frame`).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from domain.ids import new_id


@dataclass(frozen=True, slots=True)
class Pending:
    """An event not yet numbered: what `publish` hands the broker."""

    channel: str
    type: str
    id: str
    body: str
    """The envelope's tail: `"type":...,"id":...,"ts":...,"data":...}` (JSON text without the
    opening brace and the channel/seq/epoch fields the broker puts in front)."""
    data: Any = None


def pending_event(channel: str, type_: str, data: Any, data_json: str | None = None) -> Pending:
    """`data_json`, when given, is `data` already encoded as JSON (it is then not encoded again)."""
    event_id = new_id()
    if data_json is None:
        data_json = json.dumps(data, separators=(",", ":"))
    tail = (f'"type":{json.dumps(type_)},"id":"{event_id}","ts":{round(time.time(), 6)},'
            f'"data":{data_json}}}')
    return Pending(channel=channel, type=type_, id=event_id, body=tail, data=data)


def frame(channel: str, seq: int, epoch: str, body: str) -> str:
    """The full envelope text, as clients receive it. (The Redis script builds the same string.)"""
    return f'{{"channel":{json.dumps(channel)},"seq":{seq},"epoch":{json.dumps(epoch)},{body}'


@dataclass(frozen=True, slots=True)
class Envelope:
    """An event as a broker delivers it: the fields the hub routes by, plus the text. Ephemeral
    messages (typing, presence) travel the same way with `seq` 0 and no epoch."""

    channel: str
    seq: int
    epoch: str
    type: str
    data: Any
    text: str

    @classmethod
    def parse(cls, text: str | bytes) -> Envelope:
        """Raises ValueError on anything that is not a well-formed envelope."""
        try:
            value = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise ValueError("not an object")
        channel, type_ = value.get("channel"), value.get("type")
        seq, epoch = value.get("seq", 0), value.get("epoch", "")
        if not (isinstance(channel, str) and isinstance(epoch, str) and isinstance(type_, str)):
            raise ValueError("channel, epoch and type must be strings")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0 or (seq == 0) != (not epoch):
            raise ValueError("seq must be a positive integer, with an epoch (0 and none: ephemeral)")
        if isinstance(text, bytes):
            text = text.decode()
        return cls(channel=channel, seq=seq, epoch=epoch, type=type_, data=value.get("data"),
                   text=text)
