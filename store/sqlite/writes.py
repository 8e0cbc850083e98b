"""Steps several writes share: the look-ups they begin with (does the user, the group, the
record at the expected version exist?) and the activity entry they end with."""

from __future__ import annotations

from typing import Any

from domain import PreconditionFailed
from store.errors import group_not_found, record_not_found, user_not_found
from store.sqlite.engine import Db, _fetchone

_INSERT_ACTIVITY = (
    "INSERT INTO activity (id, group_id, at, actor_id, action, subject_id, details) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_STAMP_GROUP = "UPDATE groups SET last_activity_at = ? WHERE id = ?"


def _require_user(db: Db, user_id: str) -> None:
    """NotFound unless the user exists (a deleted account does not), so the caller hears what is
    missing rather than a foreign-key failure, and nobody joins a deleted account to anything."""
    if _fetchone(db, "SELECT 1 FROM users WHERE id = ? AND deleted_at IS NULL", (user_id,)) is None:
        raise user_not_found()


def _require_group(db: Db, group_id: str) -> None:
    """NotFound unless the group exists, so a write to a deleted group says so."""
    if _fetchone(db, "SELECT 1 FROM groups WHERE id = ?", (group_id,)) is None:
        raise group_not_found()


def _check_version(
    db: Db, table: str, group_id: str, record_id: str, expected: int, *, deleted: bool = False
) -> None:
    """NotFound unless the group's expense or settlement exists and is deleted or not as
    `deleted` says, PreconditionFailed unless it is at version `expected`: an update, delete or
    restore applies only to the version its caller read."""
    row = _fetchone(
        db, f"SELECT version, deleted_at FROM {table} WHERE group_id = ? AND id = ?", (group_id, record_id)
    )
    missing = record_not_found("expense" if table == "expenses" else "transaction")
    # A deleted record is not there for an edit or a delete, whatever its version; a restore that
    # finds another version (say, restored meanwhile) is a stale one.
    if row is None or (row[1] is not None and not deleted):
        raise missing
    if row[0] != expected:
        raise PreconditionFailed(
            f"it was changed meanwhile: you sent version {expected}, it is now {row[0]}",
            details={"current_version": row[0]},
        )
    if row[1] is None and deleted:
        raise missing


def _log(db: Db, logged: tuple[Any, ...]) -> None:
    """Append an activity row (from `_activity_row`) and stamp its group's latest-activity time,
    which the dashboard uses to find the groups worth reading."""
    db.execute(_INSERT_ACTIVITY, logged)
    db.execute(_STAMP_GROUP, (logged[2], logged[1]))
