"""JSON Schemas shared by several handler modules (request parts and response bodies)."""

from __future__ import annotations

from typing import Any

from handlers.components import untitled
from ledger import CURRENCY_EXPONENTS

Schema = dict[str, Any]

TIMESTAMP: Schema = {"type": "string", "format": "date-time"}
ID: Schema = {"type": "string", "minLength": 1, "maxLength": 64}
CURRENCY: Schema = {
    "title": "Currency",
    "type": "string",
    "enum": sorted(CURRENCY_EXPONENTS),
    "description": "ISO 4217 currency code",
}

ERROR: Schema = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "request_id"],
            "properties": {
                "code": {"type": "string", "description": "stable machine-readable reason"},
                "message": {"type": "string", "description": "human-readable explanation"},
                "details": {"description": "per-field problems or other context"},
                "request_id": {"type": "string"},
            },
        }
    },
}

LOCALE: Schema = {
    "type": ["string", "null"],
    "maxLength": 35,
    "pattern": (
        r"^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?"
        r"(-([A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*$"
    ),
    "x-message": "must be a BCP 47 language tag, like en, en-GB or pt-BR",
    "description": (
        "a BCP 47 language tag (language[-Script][-REGION][-variant]), like en, en-GB, pt-BR; null clears it"
    ),
}
USER: Schema = {
    "title": "User",
    "type": "object",
    "required": ["id", "email", "name", "picture", "default_currency", "locale", "created_at"],
    "additionalProperties": False,
    "properties": {
        "id": ID,
        "email": {"type": "string"},
        "name": {"type": "string"},
        "picture": {"type": ["string", "null"]},
        "default_currency": {"type": "string", "description": "ISO 4217; the default for new groups"},
        "locale": {"type": ["string", "null"], "description": "BCP 47 language tag, or null"},
        "created_at": TIMESTAMP,
        "unread_count": {
            "type": "integer",
            "minimum": 0,
            "description": "your unread notifications (`GET` and `PATCH /api/user`; see /api/notifications)",
        },
    },
}

PAGE_QUERY: Schema = {
    "type": "object",
    "properties": {
        "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
        "cursor": {
            "type": "string",
            "minLength": 1,
            "maxLength": 2048,
            "description": (
                "opaque: the `next_cursor` of the previous page of the same list; any other "
                "string is refused with 400 `invalid_cursor`"
            ),
        },
    },
}


def page_of(item: Schema) -> Schema:
    return {
        "type": "object",
        "required": ["items", "next_cursor"],
        "additionalProperties": False,
        "properties": {
            "items": {"type": "array", "items": item},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "pass as `cursor` for the next page; null on the last",
            },
        },
    }


USER_NAMES: Schema = {
    "title": "UserNames",
    "type": "object",
    "description": (
        "everyone the page mentions, by user id: what a client needs to show names without a lookup "
        'per row. A deleted account is named "Deleted user", with no picture'
    ),
    "additionalProperties": {
        "type": "object",
        "required": ["name", "picture", "deleted"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string"},
            "picture": {"type": ["string", "null"]},
            "deleted": {"type": "boolean"},
        },
    },
}
"""The `users` map of every reply that mentions people (published as the component `UserNames`)."""


def with_user_names(schema: Schema) -> Schema:
    """`schema` (an object) with the page's `users` map beside its own properties (and without its
    title: it is another type)."""
    return {
        **untitled(schema),
        "required": [*schema.get("required", []), "users"],
        "properties": {**schema["properties"], "users": USER_NAMES},
    }


INCLUDE_DELETED: Schema = {
    "type": "string",
    "enum": ["true", "false"],
    "default": "false",
    "description": (
        "`true`: also deleted ones that can still be restored (RESTORE_DAYS), with `deleted_at` and "
        "`deleted_by`"
    ),
}
DELETION: Schema = {
    "deleted_at": {**TIMESTAMP, "description": "only on a deleted (restorable) one: when it was deleted"},
    "deleted_by": {**ID, "description": "only on a deleted one: who deleted it"},
}
"""The properties a deleted expense or transaction carries (and a live one lacks)."""
