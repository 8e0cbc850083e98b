"""Friends: add one by e-mail, list them with the net balance between you, end a friendship. Each
friendship is a direct ledger, served by the ordinary `/api/groups/{group_id}/...` routes."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from domain.clock import to_text
from handlers.fields import AMOUNT
from handlers.schemas import ERROR, ID, TIMESTAMP, Schema
from ledger import format_amount
from server.keys import CLAIMS, SERVICES
from server.routing import Api, Reply
from services.friends import FriendStanding

api = Api("friends")

EMAIL: Schema = {
    "type": "string",
    "minLength": 3,
    "maxLength": 254,
    "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    "x-trim": True,
    "x-message": "must be an e-mail address",
    "description": "an e-mail address (trimmed; compared without regard to case)",
}
NEW_FRIEND: Schema = {
    "title": "NewFriend",
    "type": "object",
    "required": ["email"],
    "additionalProperties": False,
    "properties": {"email": EMAIL},
}
ADDED: Schema = {
    "title": "FriendAdded",
    "type": "object",
    "required": ["user_id", "email", "group_id"],
    "additionalProperties": False,
    "description": "the same shape whether or not the address had an account",
    "properties": {
        "user_id": ID,
        "email": {"type": "string"},
        "group_id": {**ID, "description": "your direct ledger with them"},
    },
}
FRIEND: Schema = {
    "title": "Friend",
    "type": "object",
    "required": ["user_id", "name", "picture", "email", "group_id", "since", "balances"],
    "additionalProperties": False,
    "properties": {
        "user_id": ID,
        "name": {"type": "string"},
        "picture": {"type": ["string", "null"]},
        "email": {"type": "string"},
        "group_id": {**ID, "description": "your direct ledger with them"},
        "since": {**TIMESTAMP, "description": "when you (re)joined that ledger"},
        "balances": {
            "type": "array",
            "description": (
                "per currency, non-zero only: positive, they owe you; negative, you owe them; across "
                "the direct ledger and every group you share (see docs/people.md)"
            ),
            "items": {
                "type": "object",
                "required": ["currency", "amount"],
                "additionalProperties": False,
                "properties": {"currency": {"type": "string"}, "amount": AMOUNT},
            },
        },
    },
}
FRIENDS: Schema = {
    "title": "Friends",
    "type": "object",
    "required": ["items", "friends_truncated", "groups_truncated"],
    "additionalProperties": False,
    "properties": {
        "items": {"type": "array", "items": FRIEND},
        "friends_truncated": {"type": "boolean", "description": "more friends than the 200 listed"},
        "groups_truncated": {
            "type": "boolean",
            "description": "balances net only your 100 most recently joined groups, and you have more",
        },
    },
}
_NOT_A_FRIEND = Reply("not a friend of the caller (or no such user)", ERROR)


@api.post(
    "/api/friends",
    summary="Add a friend by e-mail (whether or not they have signed up yet)",
    body=NEW_FRIEND,
    replies={
        201: Reply("now friends; your direct ledger with them", ADDED),
        200: Reply("already friends", ADDED),
        422: Reply("not an e-mail address, or your own (`own_address`)", ERROR),
    },
)
async def add_friend(request: web.Request, body: dict[str, Any]) -> web.Response:
    added = await request.app[SERVICES].friends.add(request[CLAIMS].user_id, body["email"])
    return web.json_response(
        {"user_id": added.user_id, "email": added.email, "group_id": added.group_id},
        status=201 if added.created else 200,
    )


@api.get(
    "/api/friends",
    summary="Your friends, each with the net balance between you per currency",
    replies={200: Reply("most recently added first", FRIENDS)},
)
async def list_friends(request: web.Request) -> web.Response:
    view = await request.app[SERVICES].friends.view(request[CLAIMS].user_id)
    return web.json_response(
        {
            "items": [_friend_json(standing) for standing in view.friends],
            "friends_truncated": view.friends_truncated,
            "groups_truncated": view.groups_truncated,
        }
    )


@api.delete(
    "/api/friends/{user_id}",
    summary="End a friendship (the direct ledger and its history stay)",
    replies={
        204: Reply("no longer friends"),
        404: _NOT_A_FRIEND,
        409: Reply("the direct balance is not zero in every currency (`balance_not_settled`)", ERROR),
    },
)
async def remove_friend(request: web.Request) -> web.Response:
    await request.app[SERVICES].friends.remove(request[CLAIMS].user_id, request.match_info["user_id"])
    return web.Response(status=204)


def _friend_json(standing: FriendStanding) -> dict[str, Any]:
    user = standing.friend.user
    return {
        "user_id": user.id,
        "name": user.name,
        "picture": user.picture,
        "email": user.email,
        "group_id": standing.friend.group_id,
        "since": to_text(standing.friend.since),
        "balances": [
            {"currency": currency, "amount": format_amount(amount, currency)}
            for currency, amount in standing.balances.items()
        ],
    }
