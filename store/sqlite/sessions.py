"""Sessions: one row per sign-in, holding only hashes of its refresh tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain.clock import from_text, to_text
from store.base import MAX_LIVE_SESSIONS, Rotation, RotationResult, Session
from store.errors import session_not_found
from store.sqlite.engine import Db, _Engine, _fetchone

_COLUMNS = "id, user_id, created_at, last_used_at, user_agent, generation, expires_at"
_LIVE = "revoked_at IS NULL AND expires_at > ?"


def _session(row: Any) -> Session:
    return Session(
        id=row[0],
        user_id=row[1],
        created_at=from_text(row[2]),
        last_used_at=from_text(row[3]),
        user_agent=row[4],
        generation=int(row[5]),
        expires_at=from_text(row[6]),
    )


class _Sessions(_Engine):
    """The session methods of `SQLiteStore`."""

    async def create_session(self, session: Session, refresh_hash: str, now: datetime) -> None:
        moment = to_text(now)

        def work(db: Db) -> None:
            live = db.execute(
                f"SELECT id FROM sessions WHERE user_id = ? AND {_LIVE} ORDER BY last_used_at DESC",
                (session.user_id, moment),
            ).fetchall()
            for (evicted,) in live[MAX_LIVE_SESSIONS - 1 :]:
                db.execute("UPDATE sessions SET revoked_at = ? WHERE id = ?", (moment, evicted))
            # Rows of sessions that can no longer matter are dropped as the user signs in again.
            db.execute(
                "DELETE FROM sessions WHERE user_id = ? AND expires_at <= ?", (session.user_id, moment)
            )
            db.execute(
                "INSERT INTO sessions (id, user_id, created_at, last_used_at, user_agent, refresh_hash, "
                "generation, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session.id,
                    session.user_id,
                    to_text(session.created_at),
                    to_text(session.last_used_at),
                    session.user_agent,
                    refresh_hash,
                    session.generation,
                    to_text(session.expires_at),
                ),
            )

        await self._write(work)

    async def rotate_refresh(
        self,
        session_id: str,
        presented_hash: str,
        new_hash: str,
        *,
        now: datetime,
        expires_at: datetime,
        grace: timedelta,
    ) -> RotationResult:
        moment = to_text(now)

        def work(db: Db) -> RotationResult:
            row = _fetchone(
                db,
                f"SELECT {_COLUMNS}, refresh_hash, previous_hash, rotated_at FROM sessions "
                f"WHERE id = ? AND {_LIVE}",
                (session_id, moment),
            )
            if row is None:
                return RotationResult(Rotation.UNKNOWN, None)
            current, previous, rotated_at = row[7], row[8], row[9]
            if current == presented_hash:
                db.execute(
                    "UPDATE sessions SET previous_hash = refresh_hash, refresh_hash = ?, "
                    "generation = generation + 1, rotated_at = ?, last_used_at = ?, expires_at = ? "
                    "WHERE id = ?",
                    (new_hash, moment, moment, to_text(expires_at), session_id),
                )
                return RotationResult(
                    Rotation.ROTATED,
                    _session(_fetchone(db, f"SELECT {_COLUMNS} FROM sessions WHERE id = ?", (session_id,))),
                )
            if previous == presented_hash and rotated_at is not None and now < from_text(rotated_at) + grace:
                return RotationResult(Rotation.GRACE_REPLAY, _session(row))
            db.execute("UPDATE sessions SET revoked_at = ? WHERE id = ?", (moment, session_id))
            return RotationResult(Rotation.REUSED, _session(row))

        return await self._write(work)

    async def list_sessions(self, user_id: str, now: datetime) -> list[Session]:
        rows = await self._all(
            f"SELECT {_COLUMNS} FROM sessions WHERE user_id = ? AND {_LIVE} "
            "ORDER BY last_used_at DESC, id LIMIT ?",
            (user_id, to_text(now), MAX_LIVE_SESSIONS),
        )
        return [_session(row) for row in rows]

    async def revoke_session(self, user_id: str, session_id: str, now: datetime) -> None:
        moment = to_text(now)

        def work(db: Db) -> int:
            cursor = db.execute(
                f"UPDATE sessions SET revoked_at = ? WHERE id = ? AND user_id = ? AND {_LIVE}",
                (moment, session_id, user_id, moment),
            )
            return int(cursor.rowcount)

        if await self._write(work) == 0:
            raise session_not_found()

    async def revoke_sessions(self, user_id: str, now: datetime) -> list[str]:
        moment = to_text(now)

        def work(db: Db) -> list[str]:
            ended = [
                row[0]
                for row in db.execute(
                    f"SELECT id FROM sessions WHERE user_id = ? AND {_LIVE}", (user_id, moment)
                ).fetchall()
            ]
            db.execute(
                f"UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND {_LIVE}", (moment, user_id, moment)
            )
            return ended

        return await self._write(work)
