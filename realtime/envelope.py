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
class RawJSON:
    """Event data already encoded as JSON text (a REST reply's body, say), published as is."""

    text: str


@dataclass(frozen=True, slots=True)
class Pending:
    """An event not yet numbered: what `publish` hands the broker."""

    channel: str
    type: str
    id: str
    body: str
    """The envelope's tail: `"type":...,"id":...,"ts":...,"data":...}` (JSON text without the
    opening brace and the channel/seq/epoch fields the broker puts in front)."""


def pending_event(channel: str, type_: str, data: Any) -> Pending:
    event_id = new_id()
    data_json = data.text if isinstance(data, RawJSON) else json.dumps(data, separators=(",", ":"))
    tail = f'"type":{json.dumps(type_)},"id":"{event_id}","ts":{round(time.time(), 6)},"data":{data_json}}}'
    return Pending(channel=channel, type=type_, id=event_id, body=tail)


def published_delay(text: str) -> float | None:
    """Seconds since the event in `text` (an envelope's full text) was published, from its
    `ts`; None when it carries none that reads (the clocks of instances may differ a little)."""
    start = text.find(',"ts":')
    if start < 0:
        return None
    end = text.find(",", start + 6)
    try:
        return max(0.0, time.time() - float(text[start + 6 : end]))
    except ValueError:
        return None


def frame(channel: str, seq: int, epoch: str, body: str) -> str:
    """The full envelope text, as clients receive it. (The Redis script builds the same string.)"""
    return f'{{"channel":{json.dumps(channel)},"seq":{seq},"epoch":{json.dumps(epoch)},{body}'


_UNPARSED: Any = object()


class Envelope:
    """An event as a broker delivers it: the fields the hub routes by, plus the text. Ephemeral
    messages (typing, presence) travel the same way with `seq` 0 and no epoch.

    `data` is parsed from the text when first asked for, which the hub does only for the few
    event types it acts on (membership changes): a channel's history holds just the text."""

    __slots__ = ("channel", "seq", "epoch", "type", "text", "_data")

    def __init__(
        self, *, channel: str, seq: int, epoch: str, type: str, text: str, data: Any = _UNPARSED
    ) -> None:
        self.channel = channel
        self.seq = seq
        self.epoch = epoch
        self.type = type
        self.text = text
        self._data = data

    def __repr__(self) -> str:
        return f"Envelope({self.channel!r}, seq={self.seq}, epoch={self.epoch!r}, {self.type!r})"

    @property
    def data(self) -> Any:
        if self._data is _UNPARSED:
            value = json.loads(self.text)
            self._data = value.get("data") if isinstance(value, dict) else None
        return self._data

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
        return cls(channel=channel, seq=seq, epoch=epoch, type=type_, data=value.get("data"), text=text)
