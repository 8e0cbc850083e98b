"""Request pieces shared by expenses and transactions: amounts, dates, versions, participants."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection, Iterable
from datetime import date
from typing import Any, Protocol, TypeVar

from aiohttp import web

from domain import Invalid, PreconditionFailed, PreconditionRequired
from handlers.schemas import Schema

AMOUNT: Schema = {
    "type": "string",
    "maxLength": 40,
    "description": 'decimal string in the currency\'s units, e.g. "12.34"; never a number',
}
DATE: Schema = {
    "type": "string",
    "pattern": r"^\d{4}-\d{2}-\d{2}$",
    "description": "calendar date, YYYY-MM-DD",
}
VERSION: Schema = {
    "type": "integer",
    "minimum": 1,
    "description": "the version the change is based on (or send If-Match)",
}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(value: str, field: str) -> str:
    """A real calendar date in ISO form (the schema has checked the shape)."""
    try:
        date.fromisoformat(value)
    except ValueError:
        raise Invalid(
            f"{field}: not a calendar date", details=[{"field": field, "message": "is not a calendar date"}]
        ) from None
    if not _DATE.fullmatch(value):
        raise Invalid(f"{field}: use YYYY-MM-DD", details=[{"field": field, "message": "must be YYYY-MM-DD"}])
    return value


def require_members(user_ids: Iterable[str], member_ids: Collection[str], field: str) -> None:
    """Every payer and participant must belong to the group (422, naming who does not)."""
    outsiders = sorted(user for user in set(user_ids) if user not in member_ids)
    if outsiders:
        raise Invalid(
            f"{field}: not members of this group: {', '.join(outsiders)}",
            code="not_a_member",
            details=[
                {"field": field, "message": f"{user} is not a member of this group"} for user in outsiders
            ],
        )


def if_match(request: web.Request) -> int | None:
    """The version in an If-Match header (`"3"` or `W/"3"`), or None without one."""
    if "If-Match" not in request.headers:
        return None
    raw = request.headers["If-Match"].strip().removeprefix("W/").strip('"')
    try:
        return int(raw)
    except ValueError:
        raise Invalid(
            'If-Match must be an ETag this server issued, like "3"',
            details=[{"field": "If-Match", "message": "not a version"}],
        ) from None


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


def check_version(expected: int | None, current: int) -> None:
    if expected is not None and expected != current:
        raise PreconditionFailed(
            f"it was changed meanwhile: you sent version {expected}, it is now {current}",
            details={"current_version": current},
        )


class _Versioned(Protocol):
    @property
    def version(self) -> int: ...


Record = TypeVar("Record", bound=_Versioned)
DELETE_ATTEMPTS = 3


async def delete_current(
    request: web.Request,
    read: Callable[[], Awaitable[Record]],
    delete: Callable[[Record], Awaitable[None]],
) -> None:
    """Delete a versioned record as the caller meant it. With If-Match, only that version; without,
    whatever version is current, reading again (a bounded number of times) if it is edited between
    our read and our write: the balances moved back must be those of the version deleted."""
    expected = if_match(request)
    for attempt in range(DELETE_ATTEMPTS):
        current = await read()
        check_version(expected, current.version)
        try:
            await delete(current)
            return
        except PreconditionFailed:
            if expected is not None or attempt == DELETE_ATTEMPTS - 1:
                raise
