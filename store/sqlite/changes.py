"""The changes logs (issue 14), as the schema's triggers write them: a group's, with the records a
page of it names, and each user's own."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, cast

from domain import Change, UserChange
from domain.models import ChangeKind, ChangeOp, UserChangeKind
from store.base import ChangedRecords
from store.sqlite.engine import Db, _Engine
from store.sqlite.rows import (
    _CHAT_COLUMNS,
    _COMMENT_COLUMNS,
    _EXPENSE_COLUMNS,
    _SETTLEMENT_COLUMNS,
    _chat_message,
    _comment,
    _expense,
    _settlement,
)


def _change(row: Any) -> Change:
    return Change(
        seq=int(row[0]),
        kind=cast(ChangeKind, row[1]),
        id=row[2],
        op=cast(ChangeOp, row[3]),
        version=None if row[4] is None else int(row[4]),
    )


class _Changes(_Engine):
    """The changes-log methods of `SQLiteStore`."""

    async def list_changes(self, group_id: str, *, after: int, limit: int) -> tuple[list[Change], bool]:
        rows = await self._all(
            "SELECT seq, kind, entity_id, op, version FROM changes WHERE group_id = ? AND seq > ? "
            "ORDER BY seq LIMIT ?",
            (group_id, after, limit + 1),
        )
        return [_change(row) for row in rows[:limit]], len(rows) > limit

    async def last_change(self, group_id: str) -> int:
        row = await self._one("SELECT max(seq) FROM changes WHERE group_id = ?", (group_id,))
        return int(row[0]) if row is not None and row[0] is not None else 0

    async def read_changed(self, group_id: str, changes: Collection[Change]) -> ChangedRecords:
        wanted: dict[str, set[str]] = {"expense": set(), "settlement": set(), "chat": set(), "comment": set()}
        for change in changes:
            if change.kind in wanted and change.op == "upsert":
                wanted[change.kind].add(change.id)

        async def rows(table: str, columns: str, ids: set[str]) -> list[Any]:
            if not ids:
                return []
            marks = ", ".join("?" * len(ids))
            return await self._all(
                f"SELECT {columns} FROM {table} WHERE group_id = ? AND id IN ({marks})",
                (group_id, *sorted(ids)),
            )

        expenses = [_expense(r) for r in await rows("expenses", _EXPENSE_COLUMNS, wanted["expense"])]
        settlements = [
            _settlement(r) for r in await rows("settlements", _SETTLEMENT_COLUMNS, wanted["settlement"])
        ]
        chats = [_chat_message(r) for r in await rows("chat_messages", _CHAT_COLUMNS, wanted["chat"])]
        comments = [_comment(r) for r in await rows("comments", _COMMENT_COLUMNS, wanted["comment"])]
        return ChangedRecords(
            expenses={e.id: e for e in expenses},
            settlements={s.id: s for s in settlements},
            chats={m.id: m for m in chats},
            comments={c.id: c for c in comments},
        )

    async def list_user_changes(
        self, user_id: str, *, after: int, limit: int
    ) -> tuple[list[UserChange], bool]:
        rows = await self._all(
            "SELECT seq, kind, entity_id, op FROM user_changes WHERE user_id = ? AND seq > ? "
            "ORDER BY seq LIMIT ?",
            (user_id, after, limit + 1),
        )
        changes = [
            UserChange(
                seq=int(row[0]), kind=cast(UserChangeKind, row[1]), id=row[2], op=cast(ChangeOp, row[3])
            )
            for row in rows[:limit]
        ]
        return changes, len(rows) > limit

    async def last_user_change(self, user_id: str) -> int:
        row = await self._one("SELECT max(seq) FROM user_changes WHERE user_id = ?", (user_id,))
        return int(row[0]) if row is not None and row[0] is not None else 0

    async def delete_user_changes(self, user_id: str) -> None:
        def work(db: Db) -> None:
            db.execute("DELETE FROM user_changes WHERE user_id = ?", (user_id,))

        await self._write(work)
