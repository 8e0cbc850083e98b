"""People: a user's own profile settings, who may look whom up (`group_people`, which a trigger
fills on every membership insert and nothing empties on leaving), and users by id in one read."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from domain import Page, User
from store.cursor import decode_cursor, encode_cursor, foreign_cursor
from store.errors import user_not_found
from store.sqlite.engine import Db, _Engine, _fetchone
from store.sqlite.rows import _USER_COLUMNS, _user

_PROFILE_COLUMNS = ("name", "default_currency", "locale")
_CAN_SEE = (
    "SELECT EXISTS (SELECT 1 FROM memberships m JOIN group_people p "
    "ON p.group_id = m.group_id AND p.user_id = ? WHERE m.user_id = ?)"
)


class _People(_Engine):
    """The people part of the contract."""

    async def list_groups_ever(self, user_id: str, *, limit: int, cursor: str | None = None) -> Page[str]:
        after = "" if cursor is None else decode_cursor("groups_ever", cursor)
        if not isinstance(after, str):
            raise foreign_cursor()
        rows = await self._all(
            "SELECT group_id FROM group_people WHERE user_id = ? AND group_id > ? ORDER BY group_id LIMIT ?",
            (user_id, after, limit + 1),
        )
        ids = [row[0] for row in rows[:limit]]
        more = len(rows) > limit
        return Page(items=ids, next_cursor=encode_cursor("groups_ever", ids[-1]) if more else None)

    async def update_profile(self, user_id: str, *, changes: dict[str, Any]) -> User:
        columns = [column for column in _PROFILE_COLUMNS if column in changes]
        assignments = [f"{column} = ?" for column in columns]
        values: list[Any] = [changes[column] for column in columns]
        if "name" in changes:
            assignments.append("name_set = 1")

        def work(db: Db) -> User:
            if assignments:
                db.execute(f"UPDATE users SET {', '.join(assignments)} WHERE id = ?", (*values, user_id))
            row = _fetchone(db, f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (user_id,))
            if row is None:
                raise user_not_found()
            return _user(row)

        return await self._write(work)

    async def can_see_user(self, viewer_id: str, user_id: str) -> bool:
        if viewer_id == user_id:
            row = await self._one("SELECT EXISTS (SELECT 1 FROM users WHERE id = ?)", (user_id,))
        else:
            row = await self._one(_CAN_SEE, (user_id, viewer_id))
        return bool(row[0])

    async def get_users(self, user_ids: Collection[str]) -> dict[str, User]:
        wanted = sorted(set(user_ids))
        if not wanted:
            return {}
        marks = ", ".join("?" * len(wanted))
        rows = await self._all(f"SELECT {_USER_COLUMNS} FROM users WHERE id IN ({marks})", tuple(wanted))
        return {user.id: user for user in map(_user, rows)}
