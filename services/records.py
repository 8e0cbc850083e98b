"""Checks every versioned write shares: calendar dates, members named in a write, the version an
edit is based on, and deleting the version that was meant."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection, Iterable
from datetime import date
from typing import Protocol, TypeVar

from domain import Conflict, Group, Invalid, PreconditionFailed

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DELETE_ATTEMPTS = 3


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


def check_version(expected: int | None, current: int) -> None:
    """412 when the caller based its change on another version than the current one."""
    if expected is not None and expected != current:
        raise PreconditionFailed(
            f"it was changed meanwhile: you sent version {expected}, it is now {current}",
            details={"current_version": current},
        )


class _Versioned(Protocol):
    @property
    def version(self) -> int: ...


Record = TypeVar("Record", bound=_Versioned)


async def delete_as_meant(
    expected: int | None,
    read: Callable[[], Awaitable[Record]],
    delete: Callable[[Record], Awaitable[None]],
) -> None:
    """Delete a versioned record as the caller meant it. With an `expected` version, only that
    version; without, whatever version is current, reading again (a bounded number of times) if it
    is edited between our read and our write: the balances moved back must be those of the
    version deleted."""
    for attempt in range(DELETE_ATTEMPTS):
        current = await read()
        check_version(expected, current.version)
        try:
            await delete(current)
            return
        except PreconditionFailed:
            if expected is not None or attempt == DELETE_ATTEMPTS - 1:
                raise


def refuse_direct(group: Group, what: str) -> None:
    """A direct ledger (a friendship's two-person group) has exactly its two people: no invites,
    renames, extra members, leaving or deletion. 409 naming why."""
    if group.kind == "direct":
        raise Conflict(
            f"this is the direct ledger between two friends: {what} is not possible here",
            code="direct_ledger",
        )
