"""Request pieces shared by the handlers: amount, date and version schemas, and the version a
write is based on (If-Match or the body's `version`)."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from domain import Invalid, PreconditionRequired
from domain.client_json import MAX_INTEGER
from handlers.schemas import Schema

AMOUNT: Schema = {
    "type": "string",
    "maxLength": 40,
    "description": (
        'decimal string in the currency\'s units, e.g. "12.34"; never a number. Plain digits with '
        "at most as many decimals as the currency has (none for JPY), no sign, spaces, thousands "
        "separators or exponents; a total must be greater than zero"
    ),
}
DATE: Schema = {
    "type": "string",
    "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "description": "a real calendar date, YYYY-MM-DD (2024-02-30 is refused)",
}
VERSION: Schema = {
    "type": "integer",
    "minimum": 1,
    "maximum": MAX_INTEGER,
    "description": "the version the change is based on (or send If-Match)",
}
# A write's reply tags the record with its version, `"3"`; a GET's reply adds a digest of the body it
# sent, `"3.Qm9vZm9vZm9vZm9v"` (server/conditional.py). Either names version 3 here.
_VERSION_TAG = re.compile(r'(?:W/)?"?([0-9]{1,16})(?:\.[A-Za-z0-9_-]{1,64})?"?')


def if_match(request: web.Request) -> int | None:
    """The version in an If-Match header (`"3"`, `W/"3"` or a GET's `"3.<digest>"`), or None
    without one; 422 for anything else, and for a version beyond what a body's `version` may be
    (1..MAX_INTEGER), which no store could hold either."""
    if "If-Match" not in request.headers:
        return None
    tag = _VERSION_TAG.fullmatch(request.headers["If-Match"].strip())
    version = int(tag.group(1)) if tag is not None else 0
    if not 1 <= version <= MAX_INTEGER:
        raise Invalid(
            'If-Match must be an ETag this server issued, like "3"',
            details=[{"field": "If-Match", "message": f"not a version (1 to {MAX_INTEGER})"}],
        )
    return version


def based_on_version(request: web.Request, body: dict[str, Any]) -> int:
    """The version an edit is based on: If-Match, else the body's `version`; 428 without either."""
    version = if_match(request)
    if version is None:
        version = body.get("version")
    if version is None:
        raise PreconditionRequired(
            "send the version this change is based on: an If-Match header with the ETag, or a `version` field"
        )
    return int(version)
