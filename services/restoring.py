"""What restoring a deleted expense or settlement shares: whether it may still be restored, and a
refusal that names the members who left, so the caller can invite them back first."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from domain import Conflict, Gone
from services.payloads import user_names_json
from store import Store


class _Deletable(Protocol):
    @property
    def deleted_at(self) -> datetime | None: ...


def check_restorable(record: _Deletable, window: timedelta, now: datetime) -> None:
    """409 `not_deleted` for a live record (restoring twice is refused, not repeated); 410
    `restore_window_passed` once RESTORE_DAYS have gone by since the deletion."""
    if record.deleted_at is None:
        raise Conflict("it is not deleted; there is nothing to restore", code="not_deleted")
    if now >= record.deleted_at + window:
        raise Gone(
            f"it was deleted more than {window.days} days ago and can no longer be restored",
            code="restore_window_passed",
        )


async def naming_who_left(store: Store, refusal: Conflict) -> Conflict:
    """The store's `not_a_member` refusal of a restore, with the people it names (`users`, as
    lists have it) and a message saying what to do."""
    details = refusal.details if isinstance(refusal.details, dict) else {}
    user_ids = list(details.get("user_ids", []))
    users = user_names_json(await store.get_users(user_ids)) if user_ids else {}
    names = ", ".join(str(users.get(user_id, {}).get("name") or user_id) for user_id in user_ids)
    return Conflict(
        f"someone it involves has left the group ({names}); invite them back first",
        code="not_a_member",
        details={"user_ids": user_ids, "users": users},
    )
