"""Notifications: one row per (user, notification id), and one `notification_states` row per
user with the unread counter and the read mark."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from domain import Page
from domain.clock import from_text, to_text
from store.base import NOTIFICATIONS_PER_WRITE, Notification, NotificationState
from store.cursor import after_cursor, notification_cursor
from store.errors import notification_not_found
from store.sqlite.engine import Db, _Engine, _fetchone

_COLUMNS = "user_id, id, kind, actor_id, actor_name, summary, link, created_at"
_CURSOR = "notifications"


def _notification(row: Any) -> Notification:
    return Notification(
        user_id=row[0],
        id=row[1],
        kind=row[2],
        actor_id=row[3],
        actor_name=row[4],
        summary=row[5],
        link=json.loads(row[6]),
        created_at=from_text(row[7]),
    )


class _Notifications(_Engine):
    """The notification methods of `SQLiteStore`."""

    async def add_notifications(self, notifications: Collection[Notification]) -> None:
        if len(notifications) > NOTIFICATIONS_PER_WRITE:
            raise ValueError(f"at most {NOTIFICATIONS_PER_WRITE} notifications per write")

        def work(db: Db) -> None:
            for n in notifications:
                db.execute(
                    f"INSERT INTO notifications ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        n.user_id,
                        n.id,
                        n.kind,
                        n.actor_id,
                        n.actor_name,
                        n.summary,
                        json.dumps(n.link, separators=(",", ":")),
                        to_text(n.created_at),
                    ),
                )
                db.execute(
                    "INSERT INTO notification_states (user_id, unread) VALUES (?, 1) "
                    "ON CONFLICT (user_id) DO UPDATE SET unread = unread + 1",
                    (n.user_id,),
                )

        if notifications:
            await self._write(work)

    async def list_notifications(
        self, user_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[Notification]:
        before = notification_cursor(cursor) if cursor is not None else None
        if before is None:
            rows = await self._all(
                f"SELECT {_COLUMNS} FROM notifications WHERE user_id = ? ORDER BY id DESC LIMIT ?",
                (user_id, limit + 1),
            )
        else:
            rows = await self._all(
                f"SELECT {_COLUMNS} FROM notifications WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
                (user_id, before, limit + 1),
            )
        found = [_notification(row) for row in rows]
        page = found[:limit]
        more = len(found) > limit
        return Page(items=page, next_cursor=after_cursor(_CURSOR, page[-1].id) if more else None)

    async def get_notifications(self, user_id: str, ids: Collection[str]) -> dict[str, Notification]:
        if not ids:
            return {}
        marks = ", ".join("?" * len(ids))
        rows = await self._all(
            f"SELECT {_COLUMNS} FROM notifications WHERE user_id = ? AND id IN ({marks})",
            (user_id, *sorted(ids)),
        )
        return {n.id: n for n in map(_notification, rows)}

    async def notification_state(self, user_id: str) -> NotificationState:
        row = await self._one(
            "SELECT unread, read_up_to FROM notification_states WHERE user_id = ?", (user_id,)
        )
        return NotificationState() if row is None else NotificationState(int(row[0]), row[1])

    async def mark_notifications_read(self, user_id: str, up_to: str) -> NotificationState:
        def work(db: Db) -> NotificationState:
            if (
                _fetchone(db, "SELECT 1 FROM notifications WHERE user_id = ? AND id = ?", (user_id, up_to))
                is None
            ):
                raise notification_not_found()
            row = _fetchone(db, "SELECT read_up_to FROM notification_states WHERE user_id = ?", (user_id,))
            mark = up_to if row is None or row[0] is None else max(row[0], up_to)
            (unread,) = _fetchone(
                db, "SELECT COUNT(*) FROM notifications WHERE user_id = ? AND id > ?", (user_id, mark)
            )
            db.execute(
                "INSERT INTO notification_states (user_id, unread, read_up_to) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id) DO UPDATE "
                "SET unread = excluded.unread, read_up_to = excluded.read_up_to",
                (user_id, unread, mark),
            )
            return NotificationState(int(unread), mark)

        return await self._write(work)

    async def delete_notifications(self, user_id: str) -> None:
        def work(db: Db) -> None:
            db.execute("DELETE FROM notifications WHERE user_id = ?", (user_id,))
            db.execute("DELETE FROM notification_states WHERE user_id = ?", (user_id,))

        await self._write(work)
