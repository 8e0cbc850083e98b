"""The AsyncAPI 3.0 document of the realtime WebSocket (`GET /api/asyncapi.json`), made of the frame
schemas in `handlers.frames`, whose named types are lifted into components as in the OpenAPI
document (`handlers.components`), so `Expense` means the same in both."""

from __future__ import annotations

from typing import Any

from handlers.components import Components
from handlers.frames import COMMANDS, ERROR_REPLY, EVENTS, REPLIES, SERVER_FRAMES, event_frame

_SOCKET = "#/channels/socket"
_DESCRIPTION = (
    "One WebSocket per client at `/api/ws` carries everything: the client's commands, the server's "
    "replies, and the events of every channel it subscribed to (`group:<id>`, `user:<id>`), each "
    "numbered per channel by `seq` within an `epoch`. Authenticate with `?ticket=` (from "
    "`POST /api/ws/ticket`) or an `auth` command as the first frame. docs/realtime.md tells the "
    "whole protocol: ordering, replay on resubscribe, limits and close codes."
)


def message_name(kind: str) -> str:
    """`chat.send` → `chatSend`, `expense.created` → `expenseCreated`: AsyncAPI keys are identifiers."""
    head, *rest = kind.replace("_", ".").split(".")
    return head + "".join(part.capitalize() for part in rest)


def asyncapi_document(*, version: str) -> dict[str, Any]:
    components = Components()
    messages: dict[str, dict[str, Any]] = {}
    channel_messages: dict[str, dict[str, Any]] = {"socket": {}, "group": {}, "user": {}}

    def message(name: str, payload: dict[str, Any], summary: str, channels: tuple[str, ...]) -> None:
        messages[name] = {"name": name, "summary": summary, "payload": components.lift(payload)}
        for channel in channels:
            channel_messages[channel][name] = {"$ref": f"#/components/messages/{name}"}

    for kind, schema in COMMANDS.items():
        message(message_name(kind) + "Command", schema, f"the `{kind}` command", ("socket",))
    for kind, schema in REPLIES.items():
        message(message_name(kind) + "Reply", schema, f"the reply to a `{kind}` command", ("socket",))
    message("errorReply", ERROR_REPLY, "a command refused (or a frame that was not one)", ("socket",))
    for kind, schema in SERVER_FRAMES.items():
        message(message_name(kind), schema, f"the server's `{kind}` frame", ("socket",))
    for kind, (where, _) in EVENTS.items():
        on = ("socket", "group", "user") if where == "any" else ("socket", where)
        message(message_name(kind) + "Event", event_frame(kind), f"the `{kind}` event", on)

    operations: dict[str, Any] = {}
    for kind in COMMANDS:
        name = message_name(kind)
        operation: dict[str, Any] = {
            "action": "send",
            "channel": {"$ref": _SOCKET},
            "summary": f"send `{kind}`",
            "messages": [{"$ref": f"{_SOCKET}/messages/{name}Command"}],
        }
        if kind in REPLIES:
            operation["reply"] = {
                "channel": {"$ref": _SOCKET},
                "messages": [
                    {"$ref": f"{_SOCKET}/messages/{name}Reply"},
                    {"$ref": f"{_SOCKET}/messages/errorReply"},
                ],
            }
        operations[f"send{name[0].upper()}{name[1:]}"] = operation
    for channel, label in (("group", "a group's"), ("user", "your own")):
        operations[f"receive{channel.capitalize()}Events"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": f"{label} events, once subscribed to `{channel}:<id>`",
            "messages": [
                {"$ref": f"#/channels/{channel}/messages/{name}"} for name in channel_messages[channel]
            ],
        }
    operations["receiveServerFrames"] = {
        "action": "receive",
        "channel": {"$ref": _SOCKET},
        "summary": "everything the server sends on the socket",
        "messages": [
            {"$ref": f"{_SOCKET}/messages/{name}"}
            for name in channel_messages["socket"]
            if not name.endswith("Command")
        ],
    }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Expense Tracker realtime API", "version": version, "description": _DESCRIPTION},
        "defaultContentType": "application/json",
        "servers": {
            "local": {"host": "localhost:5000", "protocol": "ws", "pathname": "/api/ws"},
            "production": {
                "host": "{host}",
                "protocol": "wss",
                "pathname": "/api/ws",
                "variables": {
                    "host": {"default": "api.example.com", "description": "where the API is served"}
                },
            },
        },
        "channels": {
            "socket": {
                "address": "/api/ws",
                "title": "The WebSocket",
                "description": "commands, replies, events and the server's own frames, as JSON text frames",
                "messages": channel_messages["socket"],
            },
            "group": {
                "address": "group:{groupId}",
                "title": "A group's channel",
                "description": "everything that happens in the group; for its members only",
                "parameters": {"groupId": {"description": "the group's id"}},
                "messages": channel_messages["group"],
            },
            "user": {
                "address": "user:{userId}",
                "title": "A user's own channel",
                "description": "what concerns the user alone; that user only",
                "parameters": {"userId": {"description": "your user id"}},
                "messages": channel_messages["user"],
            },
        },
        "operations": operations,
        "components": {"messages": messages, "schemas": dict(sorted(components.schemas.items()))},
    }
