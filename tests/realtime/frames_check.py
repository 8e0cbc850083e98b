"""Every frame the server sends, checked against the AsyncAPI document (`/api/asyncapi.json`): the
test client (`wsclient.WsClient`) checks each one it receives."""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator

from handlers.asyncapi import asyncapi_document, message_name
from handlers.components import inlined

DOCUMENT: dict[str, Any] = inlined(asyncapi_document(version="test"))
MESSAGES: dict[str, Any] = DOCUMENT["components"]["messages"]
_VALIDATORS: dict[str, Draft202012Validator] = {}
SEEN: set[str] = set()
"""The messages checked so far in this test process."""


def _validator(name: str) -> Draft202012Validator:
    if name not in _VALIDATORS:
        _VALIDATORS[name] = Draft202012Validator(MESSAGES[name]["payload"])
    return _VALIDATORS[name]


def documented_as(frame: dict[str, Any], command: str | None = None) -> str:
    """The AsyncAPI message a server frame is: by its `type`, and for a reply by the command it
    answers (when known); fails for a frame the document does not describe."""
    kind = frame.get("type")
    if kind == "reply":
        if frame.get("ok") is False:
            return "errorReply"
        if command is not None:
            return message_name(command) + "Reply"
        matching = [
            name
            for name in MESSAGES
            if name.endswith("Reply") and name != "errorReply" and _validator(name).is_valid(frame)
        ]
        assert matching, f"a reply no documented reply matches: {frame}"
        return matching[0]
    if "seq" in frame:
        name = message_name(str(kind)) + "Event"
        assert name in MESSAGES, f"an event of a type the AsyncAPI document does not list: {frame}"
        return name
    name = message_name(str(kind))
    assert name in MESSAGES and not name.endswith(("Command", "Event")), f"an undocumented frame: {frame}"
    return name


def check_event(channel: str, event_type: str, data: Any) -> None:
    """Fail unless an event about to be published (`channel`, `type`, `data` as a use case hands
    them over: `data` may be JSON text already) is one the document lists on that kind of channel,
    with its documented `data`."""
    name = message_name(event_type) + "Event"
    assert name in MESSAGES, f"an event of a type the AsyncAPI document does not list: {event_type}"
    kind = channel.partition(":")[0]
    listed = DOCUMENT["channels"][kind]["messages"] if kind in ("group", "user") else {}
    assert name in listed, f"{event_type} is not documented on {kind} channels"
    text = getattr(data, "text", None)
    value = json.loads(text) if isinstance(text, str) else json.loads(json.dumps(data))
    envelope = {
        "channel": channel,
        "seq": 1,
        "epoch": "e",
        "type": event_type,
        "id": "i",
        "ts": 0.0,
        "data": value,
    }
    problems = _problems(name, envelope)
    assert not problems, f"{event_type} does not match the AsyncAPI document: {problems[:5]}\n{value}"


def check_frame(frame: dict[str, Any], command: str | None = None) -> None:
    """Fail unless `frame` is an instance of the message it is documented as."""
    name = documented_as(frame, command)
    problems = _problems(name, frame)
    assert not problems, f"{name} does not match the AsyncAPI document: {problems[:5]}\n{frame}"


def _problems(name: str, frame: dict[str, Any]) -> list[str]:
    """Where `frame` breaks the payload of the message `name` (which counts as seen)."""
    SEEN.add(name)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(frame)'}: {error.message}"
        for error in _validator(name).iter_errors(frame)
    ]
