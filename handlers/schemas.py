"""JSON Schemas shared by several handler modules (request parts and response bodies)."""

from __future__ import annotations

from typing import Any

from ledger import CURRENCY_EXPONENTS

Schema = dict[str, Any]

TIMESTAMP: Schema = {"type": "string", "format": "date-time"}
ID: Schema = {"type": "string", "minLength": 1, "maxLength": 64}
CURRENCY: Schema = {
    "type": "string",
    "enum": sorted(CURRENCY_EXPONENTS),
    "description": "ISO 4217 currency code",
}

ERROR: Schema = {
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

USER: Schema = {
    "type": "object",
    "required": ["id", "email", "name", "picture", "created_at"],
    "additionalProperties": False,
    "properties": {
        "id": ID,
        "email": {"type": "string"},
        "name": {"type": "string"},
        "picture": {"type": ["string", "null"]},
        "created_at": TIMESTAMP,
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
