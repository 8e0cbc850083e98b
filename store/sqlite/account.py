"""Deleting an account, and what the export needs of the user row that no record carries."""

from __future__ import annotations

from datetime import datetime

from domain import User
from domain.clock import to_text
from store.errors import user_not_found
from store.sqlite.engine import Db, _Engine, _fetchone
from store.sqlite.rows import _USER_COLUMNS, _user

ERASED_EMAIL_PREFIX = "deleted:"
"""The `email` column is NOT NULL UNIQUE: an erased account keeps `deleted:<id>` there, which no
sign-in can produce (it is not an address) and which `rows._user` hands out as ""."""


class _Account(_Engine):
    """The account methods of `SQLiteStore`."""

    async def get_oidc_subject(self, user_id: str) -> str | None:
        row = await self._one("SELECT oidc_subject FROM users WHERE id = ?", (user_id,))
        if row is None:
            raise user_not_found()
        subject: str | None = row[0]
        return subject

    async def erase_user(self, user_id: str, deleted_at: datetime) -> User:
        def work(db: Db) -> User:
            result = db.execute(
                "UPDATE users SET name = '', email = ? || id, picture = NULL, oidc_subject = NULL, "
                "deleted_at = COALESCE(deleted_at, ?) WHERE id = ?",
                (ERASED_EMAIL_PREFIX, to_text(deleted_at), user_id),
            )
            if result.rowcount == 0:
                raise user_not_found()
            return _user(_fetchone(db, f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (user_id,)))

        return await self._write(work)
