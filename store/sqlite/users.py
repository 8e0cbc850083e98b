"""Users (by email, or by OpenID Connect subject) and revoked tokens."""

from __future__ import annotations

from datetime import datetime

from domain import User
from domain.clock import to_text, utc_now
from domain.ids import new_id
from store.base import TokenStanding
from store.errors import linked_elsewhere, user_not_found
from store.sqlite.engine import Db, _Engine, _fetchone
from store.sqlite.rows import _USER_COLUMNS, _user

_TOKEN_STANDING = (
    # A deleted account's tokens are all dead at once: it counts as no user at all.
    "SELECT EXISTS (SELECT 1 FROM users WHERE id = ? AND deleted_at IS NULL), "
    "EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?)"
)

_SESSION_TOKEN_STANDING = (
    f"{_TOKEN_STANDING}, EXISTS (SELECT 1 FROM sessions WHERE id = ? AND user_id = ? AND revoked_at IS NULL)"
)


class _Users(_Engine):
    """The user and token-revocation methods of `SQLiteStore`."""

    async def ensure_user(self, email: str, name: str, picture: str | None = None) -> User:
        email = email.strip().lower()
        created = to_text(utc_now())

        def work(db: Db) -> User:
            db.execute(
                "INSERT INTO users (id, email, name, picture, created_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (email) DO NOTHING",
                (new_id(), email, name, picture, created),
            )
            return _user(
                _fetchone(
                    db,
                    f"SELECT {_USER_COLUMNS} FROM users WHERE email = ?",
                    (email,),
                )
            )

        return await self._write(work)

    async def get_user(self, user_id: str) -> User:
        row = await self._one(f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (user_id,))
        if row is None:
            raise user_not_found()
        return _user(row)

    async def find_user_by_email(self, email: str) -> User | None:
        row = await self._one(
            f"SELECT {_USER_COLUMNS} FROM users WHERE email = ?",
            (email.strip().lower(),),
        )
        return None if row is None else _user(row)

    async def ensure_oidc_user(self, subject: str, email: str, name: str, picture: str | None) -> User:
        email = email.strip().lower()
        created = to_text(utc_now())
        columns = _USER_COLUMNS

        def work(db: Db) -> User:
            linked = _fetchone(db, "SELECT id FROM users WHERE oidc_subject = ?", (subject,))
            if linked is None:
                by_email = _fetchone(db, "SELECT id, oidc_subject FROM users WHERE email = ?", (email,))
                if by_email is None:
                    db.execute(
                        "INSERT INTO users (id, email, name, picture, created_at, oidc_subject) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (new_id(), email, name, picture, created, subject),
                    )
                elif by_email[1] is not None:
                    raise linked_elsewhere()
                else:
                    db.execute("UPDATE users SET oidc_subject = ? WHERE id = ?", (subject, by_email[0]))
            # Until the user names themselves, the provider's name and picture are theirs.
            db.execute(
                "UPDATE users SET name = ?, picture = ? WHERE oidc_subject = ? AND name_set = 0",
                (name, picture, subject),
            )
            return _user(_fetchone(db, f"SELECT {columns} FROM users WHERE oidc_subject = ?", (subject,)))

        return await self._write(work)

    async def revoke_token(self, jti: str, expires_at: datetime) -> None:
        expires, now = to_text(expires_at), to_text(utc_now())

        def work(db: Db) -> None:
            db.execute(
                "INSERT OR IGNORE INTO revoked_tokens (jti, expires_at) VALUES (?, ?)",
                (jti, expires),
            )
            # Expired entries can no longer matter; dropping them here keeps the table small.
            db.execute("DELETE FROM revoked_tokens WHERE expires_at < ?", (now,))

        await self._write(work)

    async def token_standing(self, user_id: str, jti: str, session_id: str | None = None) -> TokenStanding:
        # Every authenticated request asks: one statement on the event loop's thread.
        if session_id is None:
            rows = await self._all(_TOKEN_STANDING, (user_id, jti))
            user_exists, revoked = rows[0]
        else:
            rows = await self._all(_SESSION_TOKEN_STANDING, (user_id, jti, session_id, user_id))
            user_exists, revoked, live = rows[0]
            revoked = revoked or not live
        if not user_exists:
            return TokenStanding.UNKNOWN_USER
        return TokenStanding.REVOKED if revoked else TokenStanding.ACTIVE
