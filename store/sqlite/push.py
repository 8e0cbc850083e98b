"""Web Push subscriptions: one row per (user, subscription id)."""

from __future__ import annotations

from typing import Any

from domain.clock import from_text, to_text
from store.base import MAX_PUSH_SUBSCRIPTIONS, PushSubscription
from store.errors import too_many_push_subscriptions
from store.sqlite.engine import Db, _Engine, _fetchone

_COLUMNS = "id, user_id, endpoint, p256dh, auth, expiration_time, created_at"


def _subscription(row: Any) -> PushSubscription:
    return PushSubscription(
        id=row[0],
        user_id=row[1],
        endpoint=row[2],
        p256dh=row[3],
        auth=row[4],
        expiration_time=None if row[5] is None else int(row[5]),
        created_at=from_text(row[6]),
    )


class _Push(_Engine):
    """The Web Push subscription methods of `SQLiteStore`."""

    async def save_push_subscription(self, subscription: PushSubscription) -> tuple[PushSubscription, bool]:
        s = subscription

        def work(db: Db) -> tuple[PushSubscription, bool]:
            found = _fetchone(
                db,
                "SELECT created_at FROM push_subscriptions WHERE user_id = ? AND id = ?",
                (s.user_id, s.id),
            )
            if found is None:
                (count,) = _fetchone(
                    db, "SELECT COUNT(*) FROM push_subscriptions WHERE user_id = ?", (s.user_id,)
                )
                if count >= MAX_PUSH_SUBSCRIPTIONS:
                    raise too_many_push_subscriptions(MAX_PUSH_SUBSCRIPTIONS)
                db.execute(
                    f"INSERT INTO push_subscriptions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (s.id, s.user_id, s.endpoint, s.p256dh, s.auth, s.expiration_time, to_text(s.created_at)),
                )
                return s, True
            db.execute(
                "UPDATE push_subscriptions SET endpoint = ?, p256dh = ?, auth = ?, expiration_time = ? "
                "WHERE user_id = ? AND id = ?",
                (s.endpoint, s.p256dh, s.auth, s.expiration_time, s.user_id, s.id),
            )
            row = _fetchone(
                db,
                f"SELECT {_COLUMNS} FROM push_subscriptions WHERE user_id = ? AND id = ?",
                (s.user_id, s.id),
            )
            return _subscription(row), False

        return await self._write(work)

    async def list_push_subscriptions(self, user_id: str) -> list[PushSubscription]:
        rows = await self._all(
            f"SELECT {_COLUMNS} FROM push_subscriptions WHERE user_id = ? ORDER BY created_at, id LIMIT ?",
            (user_id, MAX_PUSH_SUBSCRIPTIONS),
        )
        return [_subscription(row) for row in rows]

    async def delete_push_subscription(self, user_id: str, subscription_id: str) -> bool:
        def work(db: Db) -> bool:
            cursor = db.execute(
                "DELETE FROM push_subscriptions WHERE user_id = ? AND id = ?", (user_id, subscription_id)
            )
            return bool(cursor.rowcount)

        return await self._write(work)

    async def delete_push_subscriptions(self, user_id: str) -> None:
        def work(db: Db) -> None:
            db.execute("DELETE FROM push_subscriptions WHERE user_id = ?", (user_id,))

        await self._write(work)
