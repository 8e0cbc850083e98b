"""Leaving for good and taking one's data along: `DELETE /api/user` and `GET /api/user/export`."""

from __future__ import annotations

from aiohttp import web

from handlers.schemas import ERROR, ID, TIMESTAMP, USER_NAMES, Schema
from ocr.service import RECEIPTS
from realtime.hub import HUB
from server.keys import CLAIMS, SERVICES
from server.routing import Api, Reply, json_text

api = Api("auth")

_LIST: Schema = {"type": "array", "items": {"type": "object"}}
PERSONAL_DATA: Schema = {
    "title": "PersonalData",
    "type": "object",
    "required": [
        "exported_at",
        "profile",
        "sign_in_identities",
        "groups",
        "former_groups",
        "friends",
        "expenses",
        "settlements",
        "chat_messages",
        "receipts",
        "push_subscriptions",
        "notifications",
        "users",
    ],
    "properties": {
        "exported_at": TIMESTAMP,
        "profile": {
            "type": "object",
            "required": ["id", "email", "name", "picture", "default_currency", "locale", "created_at"],
            "properties": {
                "id": ID,
                "email": {"type": "string"},
                "name": {"type": "string"},
                "picture": {"type": ["string", "null"]},
                "default_currency": {"type": "string"},
                "locale": {"type": ["string", "null"]},
                "name_set": {"type": "boolean"},
                "created_at": TIMESTAMP,
                "deleted_at": {"type": ["string", "null"], "format": "date-time"},
            },
        },
        "sign_in_identities": {
            "type": "array",
            "description": "linked OpenID Connect identities; no secret of any kind is stored",
            "items": {
                "type": "object",
                "required": ["type", "issuer", "subject"],
                "properties": {
                    "type": {"const": "oidc"},
                    "issuer": {"type": "string"},
                    "subject": {"type": "string"},
                },
            },
        },
        "groups": {
            "type": "array",
            "description": "every group the caller belongs to, direct (two-person) ledgers included",
            "items": {
                "type": "object",
                "required": ["id", "name", "kind", "role", "joined_at"],
                "properties": {
                    "id": ID,
                    "name": {"type": "string"},
                    "kind": {"enum": ["group", "direct"]},
                    "role": {"type": "string"},
                    "joined_at": TIMESTAMP,
                },
            },
        },
        "former_groups": {
            "type": "array",
            "description": "groups the caller has left (or a friendship that ended) that still exist",
            "items": {
                "type": "object",
                "required": ["id", "name", "kind"],
                "properties": {"id": ID, "name": {"type": "string"}, "kind": {"enum": ["group", "direct"]}},
            },
        },
        "friends": {
            "type": "array",
            "description": "the caller's friends: who, their direct ledger, and since when",
            "items": {
                "type": "object",
                "required": ["user_id", "group_id", "since"],
                "properties": {"user_id": ID, "group_id": ID, "since": TIMESTAMP},
            },
        },
        "expenses": {
            **_LIST,
            "description": "every expense the caller pays or owes in, in any group they ever belonged to",
        },
        "settlements": {
            **_LIST,
            "description": "every settlement to or from the caller, in any group they ever belonged to",
        },
        "chat_messages": {
            **_LIST,
            "description": "every chat message the caller wrote, in any group they ever belonged to",
        },
        "users": USER_NAMES,
        "receipts": {**_LIST, "description": "the receipts the caller uploaded (what was read from them)"},
        "notifications": {
            **_LIST,
            "description": "the caller's notifications, newest first, as GET /api/notifications lists them",
        },
        "push_subscriptions": {
            "type": "array",
            "description": "the browsers the caller lets us push to (Web Push; their keys are left out)",
            "items": {
                "type": "object",
                "required": ["endpoint", "expirationTime", "created_at"],
                "properties": {
                    "endpoint": {"type": "string"},
                    "expirationTime": {"type": ["integer", "null"]},
                    "created_at": TIMESTAMP,
                },
            },
        },
    },
}


@api.get(
    "/api/user/export",
    summary="Everything held about the caller, as one JSON download",
    replies={200: Reply("the caller's data (Content-Disposition: attachment)", PERSONAL_DATA)},
)
async def export_personal_data(request: web.Request) -> web.Response:
    user_id = request[CLAIMS].user_id
    data = await request.app[SERVICES].accounts.export(user_id, request.app[RECEIPTS])
    return web.Response(
        text=json_text(data),
        content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="expense-tracker-{user_id}.json"'},
    )


@api.delete(
    "/api/user",
    summary="Delete the caller's account: leave every group, erase the profile, sign-in link and "
    "receipt images, end every token and WebSocket; other people's records stay whole",
    replies={
        204: Reply("deleted"),
        409: Reply(
            "`balance_not_settled`: a balance of the caller is not zero (details `groups`: id and "
            "name of each); `owner_of_groups`: the caller owns groups with other members (details "
            "`groups`), hand ownership over first; the account stays; `import_in_progress`: an "
            "import into one of the caller's groups is being written, try again in a moment",
            ERROR,
        ),
    },
)
async def delete_account(request: web.Request) -> web.Response:
    user_id = request[CLAIMS].user_id
    await request.app[SERVICES].accounts.delete(user_id, request.app[RECEIPTS])
    request.app[HUB].end_user_sessions(user_id)
    return web.Response(status=204)
