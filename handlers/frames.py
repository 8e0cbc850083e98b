"""JSON Schemas of every frame on the realtime WebSocket (docs/realtime.md): what clients send, what
the server sends back, and each event's `data`, built on the REST schemas the events repeat. The
AsyncAPI document (`handlers.asyncapi`) is made of these, and the tests check the frames the
server really sends against it."""

from __future__ import annotations

from handlers.categories import CATEGORY
from handlers.chats import CHAT_MESSAGE
from handlers.comments import COMMENT
from handlers.components import untitled
from handlers.expenses import EXPENSE
from handlers.groups import GROUP, MEMBER
from handlers.notifications import NOTIFICATION
from handlers.rates import GROUP_RATE
from handlers.recurring import RECURRING
from handlers.schemas import ID, TIMESTAMP, Schema
from handlers.transactions import TRANSACTION


def _object(
    title: str | None, required: dict[str, Schema], optional: dict[str, Schema] | None = None
) -> Schema:
    schema: Schema = {
        "type": "object",
        "required": list(required),
        "additionalProperties": False,
        "properties": {**required, **(optional or {})},
    }
    return {"title": title, **schema} if title else schema


def _const(value: str) -> Schema:
    return {"type": "string", "const": value}


_COMMAND_ID: Schema = {
    "anyOf": [{"type": "string", "maxLength": 64}, {"type": "integer"}],
    "description": "echoed in the command's reply; without one, no reply is promised",
}
_CHANNEL: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": 100,
    "description": "`group:<group id>` or `user:<your user id>`",
}
_GROUP_CHANNEL: Schema = {"type": "string", "pattern": "^group:.+", "description": "`group:<group id>`"}
_EPOCH: Schema = {"type": "string", "description": "names one numbering of the channel's events"}
_SEQ: Schema = {"type": "integer", "minimum": 0, "maximum": 2**53 - 1}
_PRESENCE = {"type": "string", "enum": ["online", "away", "offline"]}

# What clients send (each command may carry an `id`).

COMMANDS: dict[str, Schema] = {
    "auth": _object("AuthCommand", {"type": _const("auth"), "token": {"type": "string"}}),
    "subscribe": _object(
        "SubscribeCommand",
        {"type": _const("subscribe"), "channel": _CHANNEL},
        {"id": _COMMAND_ID, "epoch": _EPOCH, "seq": {**_SEQ, "description": "the last event you processed"}},
    ),
    "unsubscribe": _object(
        "UnsubscribeCommand", {"type": _const("unsubscribe"), "channel": _CHANNEL}, {"id": _COMMAND_ID}
    ),
    "chat.send": _object(
        "ChatSendCommand",
        {"type": _const("chat.send"), "channel": _GROUP_CHANNEL, "text": {"type": "string"}},
        {"id": _COMMAND_ID},
    ),
    "typing": _object(
        "TypingCommand", {"type": _const("typing"), "channel": _GROUP_CHANNEL}, {"id": _COMMAND_ID}
    ),
    "presence": _object(
        "PresenceCommand",
        {"type": _const("presence"), "channel": _GROUP_CHANNEL},
        {"id": _COMMAND_ID, "status": {**_PRESENCE, "default": "online"}},
    ),
    "ping": _object("PingCommand", {"type": _const("ping")}, {"id": _COMMAND_ID}),
}

# What the server answers a command with.


_REPLY_ID: Schema = {
    "anyOf": [{"type": "string", "maxLength": 64}, {"type": "integer"}, {"type": "null"}],
    "description": "the command's `id`; null when it had none (or none that could be read)",
}


def _ok(title: str, fields: dict[str, Schema]) -> Schema:
    return _object(title, {"type": _const("reply"), "id": _REPLY_ID, "ok": {"const": True}, **fields})


_EPHEMERAL_REPLY = _ok("EphemeralReply", {"dropped": {"type": "boolean"}})
REPLIES: dict[str, Schema] = {
    "subscribe": _ok(
        "SubscribeReply",
        {
            "channel": _CHANNEL,
            "epoch": _EPOCH,
            "seq": {**_SEQ, "description": "the channel's head now"},
            "recovered": {
                "type": ["boolean", "null"],
                "description": "true: the missed events follow; false: catch up through the changes "
                "feed; null: no position was given",
            },
            "cursor": {"type": "string", "description": "the changes-feed cursor of this moment"},
        },
    ),
    "unsubscribe": _ok("UnsubscribeReply", {"channel": _CHANNEL}),
    "chat.send": _ok("ChatSendReply", {"message": CHAT_MESSAGE}),
    "typing": _EPHEMERAL_REPLY,
    "presence": _EPHEMERAL_REPLY,
    "ping": _ok("PongReply", {"pong": {"const": True}}),
}
ERROR_REPLY = _object(
    "ErrorReply",
    {
        "type": _const("reply"),
        "id": _REPLY_ID,
        "ok": {"const": False},
        "error": _object(
            None,
            {
                "code": {
                    "type": "string",
                    "description": "`not_found`, `forbidden`, `bad_channel`, ... (docs/realtime.md)",
                },
                "message": {"type": "string"},
            },
        ),
    },
)

# What else the server sends.

_BALANCE_MOVES: Schema = {
    "type": "array",
    "description": "how the write moved balances: signed amounts per member and currency",
    "items": _object(
        "BalanceMove",
        {
            "user_id": ID,
            "currency": {"type": "string"},
            "amount": {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"},
        },
    ),
}


def _derived(
    title: str, schema: Schema, *, adding: dict[str, Schema] | None = None, without: str = ""
) -> Schema:
    """A REST shape (an object) as an event carries it, a type of its own: with the required
    properties `adding`, and `without` the one it lacks."""
    added = adding or {}
    return {
        **untitled(schema),
        "title": title,
        "required": [*(name for name in schema["required"] if name != without), *added],
        "properties": {**{k: v for k, v in schema["properties"].items() if k != without}, **added},
    }


_EXPENSE_WITH_MOVES = _derived("ExpenseWithMoves", EXPENSE, adding={"balance_moves": _BALANCE_MOVES})
_TRANSACTION_WITH_MOVES = _derived(
    "TransactionWithMoves", TRANSACTION, adding={"balance_moves": _BALANCE_MOVES}
)
_DELETED_RECORD = _object(
    "DeletedRecord",
    {"id": ID, "group_id": ID, "deleted_at": TIMESTAMP, "deleted_by": ID, "balance_moves": _BALANCE_MOVES},
)
_GROUP_EVENT: Schema = {
    **_derived("GroupWithMembers", GROUP, without="role"),
    "description": "the group as `GET /api/groups/{group_id}` returns it, without the caller's `role`",
}
_IN_GROUP = {"group_id": ID, "user_id": ID}
_GROUP_CATEGORY = _derived("GroupCategory", CATEGORY, adding={"group_id": ID})
_GROUP_RATE_CHANGE = _derived("GroupRateChange", GROUP_RATE, adding={"group_id": ID})
_FRIEND = _object("FriendChange", {"user_id": ID, "group_id": ID})

EVENTS: dict[str, tuple[str, Schema]] = {
    "expense.created": ("group", _EXPENSE_WITH_MOVES),
    "expense.updated": ("group", _EXPENSE_WITH_MOVES),
    "expense.restored": ("group", _EXPENSE_WITH_MOVES),
    "expense.deleted": ("group", _DELETED_RECORD),
    "settlement.created": ("group", _TRANSACTION_WITH_MOVES),
    "settlement.restored": ("group", _TRANSACTION_WITH_MOVES),
    "settlement.deleted": ("group", _DELETED_RECORD),
    "comment.created": ("group", COMMENT),
    "comment.deleted": (
        "group",
        _object(
            "DeletedComment",
            {
                "id": ID,
                "group_id": ID,
                "subject_kind": {"type": "string", "enum": ["expense", "settlement"]},
                "subject_id": ID,
            },
        ),
    ),
    "category.created": ("group", _GROUP_CATEGORY),
    "category.updated": ("group", _GROUP_CATEGORY),
    "rate.set": ("group", _GROUP_RATE_CHANGE),
    "rate.removed": ("group", _GROUP_RATE_CHANGE),
    "group.imported": (
        "group",
        _object(
            "GroupImported",
            {
                "group_id": ID,
                "format": {"type": "string"},
                "expenses": {"type": "integer"},
                "transactions": {"type": "integer"},
            },
        ),
    ),
    "recurring.created": ("group", RECURRING),
    "recurring.updated": ("group", RECURRING),
    "recurring.deleted": ("group", _object("DeletedRecurring", {"id": ID, "group_id": ID})),
    "chat.message": ("group", CHAT_MESSAGE),
    "group.updated": ("group", _GROUP_EVENT),
    "group.deleted": ("group", _object("DeletedGroup", {"id": ID})),
    "member.joined": ("group", MEMBER),
    "member.removed": ("group", _object("MemberGone", _IN_GROUP)),
    "member.left": ("group", _object("MemberGone", _IN_GROUP)),
    "member.role_changed": (
        "group",
        _object(
            "MemberRoleChanged",
            {
                **_IN_GROUP,
                "from": {"type": "string", "enum": ["admin", "member"]},
                "to": {"type": "string", "enum": ["admin", "member"]},
            },
        ),
    ),
    "group.joined": ("user", _GROUP_EVENT),
    "group.removed": (
        "user",
        _object(
            "GroupRemoved",
            {
                "group_id": ID,
                "reason": {
                    "type": "string",
                    "enum": ["member.removed", "member.left", "group.deleted", "friend.removed"],
                },
            },
        ),
    ),
    "user.updated": (
        "any",
        _object(
            "PublicProfile", {"id": ID, "name": {"type": "string"}, "picture": {"type": ["string", "null"]}}
        ),
    ),
    "friend.added": ("user", _FRIEND),
    "friend.removed": ("user", _FRIEND),
    "notification.created": ("user", NOTIFICATION),
    "notifications.read": (
        "user",
        _object(
            "ReadMark",
            {"read_up_to": {"type": ["string", "null"]}, "unread_count": {"type": "integer", "minimum": 0}},
        ),
    ),
    "stream.reset": ("any", _object("StreamReset", {"reason": {"type": "string"}})),
}
"""Each event type: the channels it is sent on (`group`, `user`, or `any`) and its `data`."""


def event_frame(event_type: str) -> Schema:
    """The whole frame of one event type: the envelope with its `data`."""
    _, data = EVENTS[event_type]
    title = "".join(part.capitalize() for part in event_type.replace("_", ".").split(".")) + "Event"
    return _object(
        title,
        {
            "channel": _CHANNEL,
            "seq": {**_SEQ, "description": "1, 2, 3, ... per channel, with no gaps, within one epoch"},
            "epoch": _EPOCH,
            "type": _const(event_type),
            "id": {"type": "string", "description": "unique per event"},
            "ts": {"type": "number", "description": "when it was published, seconds since the Unix epoch"},
            "data": data,
        },
    )


SERVER_FRAMES: dict[str, Schema] = {
    "welcome": _object(
        "Welcome",
        {
            "type": _const("welcome"),
            "user_id": ID,
            "heartbeat_seconds": {"type": "number"},
            "max_message_bytes": {"type": "integer"},
        },
        {"worker": {"type": "integer", "minimum": 0, "description": "with `serve --workers N`: which one"}},
    ),
    "typing": _object(
        "Typing",
        {"channel": _GROUP_CHANNEL, "type": _const("typing"), "data": _object(None, {"user_id": ID})},
    ),
    "presence": _object(
        "Presence",
        {
            "channel": _GROUP_CHANNEL,
            "type": _const("presence"),
            "data": _object(None, {"user_id": ID, "status": _PRESENCE, "connection": {"type": "string"}}),
        },
    ),
    "unsubscribed": _object(
        "Unsubscribed", {"type": _const("unsubscribed"), "channel": _CHANNEL, "reason": {"type": "string"}}
    ),
    "resubscribe": _object(
        "Resubscribe",
        {
            "type": _const("resubscribe"),
            "channel": _CHANNEL,
            "reason": {"type": "string", "enum": ["gap", "epoch_changed", "history_lost"]},
        },
    ),
    "shutdown": _object(
        "Shutdown", {"type": _const("shutdown"), "reconnect_after_ms": {"type": "integer", "minimum": 0}}
    ),
}
"""The server's frames that are neither replies nor events, by `type`."""
