"""The embedded backend: one SQLite file in WAL mode, via aiosqlite.

Writes go through one connection, one `BEGIN IMMEDIATE` transaction per store call, serialised by an
asyncio lock (a single connection cannot interleave transactions); reads use a second connection and
are single statements, so each sees one committed snapshot and never waits for a writer. Several
processes may share the file: `busy_timeout` makes their writers queue rather than fail.
"""
from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from domain import (
    BadRequest,
    Conflict,
    Group,
    GroupMembership,
    Invite,
    Member,
    NotFound,
    Page,
    PreconditionFailed,
    User,
)
from domain.models import MAX_GROUP_MEMBERS
from store.base import NewGroup, Store, TokenStanding
from store.cursor import decode_cursor, encode_cursor
from store.timefmt import from_text, to_text, utc_now

_MIGRATIONS: list[str] = [
    """
    CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        picture TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE revoked_tokens (
        jti TEXT PRIMARY KEY,
        expires_at TEXT NOT NULL
    );
    CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens (expires_at);
    CREATE TABLE groups (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        default_currency TEXT NOT NULL,
        owner_id TEXT NOT NULL REFERENCES users (id),
        member_count INTEGER NOT NULL,
        version INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE memberships (
        group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL REFERENCES users (id),
        role TEXT NOT NULL,
        joined_at TEXT NOT NULL,
        PRIMARY KEY (group_id, user_id)
    );
    CREATE INDEX memberships_by_user ON memberships (user_id, joined_at, group_id);
    CREATE TABLE invites (
        token_hash TEXT PRIMARY KEY,
        group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE INDEX invites_by_group ON invites (group_id);
    """,
]

INVITE_RETENTION = timedelta(days=30)
"""How long an expired invite is kept before it is purged (DynamoDB's TTL purges lazily, too)."""

_GROUP_COLUMNS = (
    "g.id, g.name, g.description, g.default_currency, g.owner_id, g.member_count, g.version, "
    "g.created_at, g.updated_at"
)


def _group(row: Any, offset: int = 0) -> Group:
    return Group(
        id=row[offset],
        name=row[offset + 1],
        description=row[offset + 2],
        default_currency=row[offset + 3],
        owner_id=row[offset + 4],
        member_count=row[offset + 5],
        version=row[offset + 6],
        created_at=from_text(row[offset + 7]),
        updated_at=from_text(row[offset + 8]),
    )


def _user(row: Any) -> User:
    return User(
        id=row[0], email=row[1], name=row[2], picture=row[3], created_at=from_text(row[4])
    )


class SQLiteStore(Store):
    def __init__(self, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path) -> AsyncIterator[SQLiteStore]:
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await _connect(path)
        try:
            await _migrate(writer)
            reader = await _connect(path)
            try:
                yield cls(writer, reader)
            finally:
                await reader.close()
        finally:
            await writer.close()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            else:
                await self._writer.execute("COMMIT")

    async def _one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        rows = await self._reader.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return list(await self._reader.execute_fetchall(sql, params))

    async def ping(self) -> None:
        await self._one("SELECT 1")

    # users

    async def ensure_user(self, email: str, name: str, picture: str | None = None) -> User:
        email = email.strip().lower()
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO users (id, email, name, picture, created_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (email) DO NOTHING",
                (uuid.uuid4().hex, email, name, picture, to_text(utc_now())),
            )
            async with db.execute(
                "SELECT id, email, name, picture, created_at FROM users WHERE email = ?", (email,)
            ) as cursor:
                row = await cursor.fetchone()
        return _user(row)

    async def get_user(self, user_id: str) -> User:
        row = await self._one(
            "SELECT id, email, name, picture, created_at FROM users WHERE id = ?", (user_id,)
        )
        if row is None:
            raise NotFound("user not found")
        return _user(row)

    async def find_user_by_email(self, email: str) -> User | None:
        row = await self._one(
            "SELECT id, email, name, picture, created_at FROM users WHERE email = ?",
            (email.strip().lower(),),
        )
        return None if row is None else _user(row)

    # token revocation

    async def revoke_token(self, jti: str, expires_at: datetime) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT OR IGNORE INTO revoked_tokens (jti, expires_at) VALUES (?, ?)",
                (jti, to_text(expires_at)),
            )
            # Expired entries can no longer matter; dropping them here keeps the table small.
            await db.execute(
                "DELETE FROM revoked_tokens WHERE expires_at < ?", (to_text(utc_now()),)
            )

    async def token_standing(self, user_id: str, jti: str) -> TokenStanding:
        user_exists, revoked = await self._one(
            "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?), "
            "EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?)",
            (user_id, jti),
        )
        if not user_exists:
            return TokenStanding.UNKNOWN_USER
        return TokenStanding.REVOKED if revoked else TokenStanding.ACTIVE

    # groups

    async def create_group(self, group: NewGroup) -> Group:
        created = to_text(group.created_at)
        async with self._transaction() as db:
            await _require_user(db, group.owner_id)
            await db.execute(
                "INSERT INTO groups (id, name, description, default_currency, owner_id, member_count,"
                " version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, 1, ?, ?)",
                (
                    group.id,
                    group.name,
                    group.description,
                    group.default_currency,
                    group.owner_id,
                    created,
                    created,
                ),
            )
            await db.execute(
                "INSERT INTO memberships (group_id, user_id, role, joined_at) VALUES (?, ?, 'owner', ?)",
                (group.id, group.owner_id, created),
            )
        return Group(
            id=group.id,
            name=group.name,
            description=group.description,
            default_currency=group.default_currency,
            owner_id=group.owner_id,
            member_count=1,
            version=1,
            created_at=group.created_at,
            updated_at=group.created_at,
        )

    async def get_group(self, group_id: str) -> Group:
        row = await self._one(f"SELECT {_GROUP_COLUMNS} FROM groups g WHERE g.id = ?", (group_id,))
        if row is None:
            raise NotFound("group not found")
        return _group(row)

    async def get_group_as_member(self, group_id: str, user_id: str) -> tuple[Group, Member]:
        row = await self._one(
            f"SELECT {_GROUP_COLUMNS}, m.role, m.joined_at FROM groups g "
            "JOIN memberships m ON m.group_id = g.id AND m.user_id = ? WHERE g.id = ?",
            (user_id, group_id),
        )
        if row is None:
            raise NotFound("group not found")
        return _group(row), Member(user_id=user_id, role=row[9], joined_at=from_text(row[10]))

    async def list_members(self, group_id: str) -> list[Member]:
        rows = await self._all(
            "SELECT m.user_id, m.role, m.joined_at, u.email, u.name, u.picture FROM memberships m "
            "JOIN users u ON u.id = m.user_id WHERE m.group_id = ? "
            "ORDER BY m.role = 'owner' DESC, m.joined_at, m.user_id",
            (group_id,),
        )
        return [
            Member(
                user_id=r[0],
                role=r[1],
                joined_at=from_text(r[2]),
                email=r[3],
                name=r[4],
                picture=r[5],
            )
            for r in rows
        ]

    async def list_user_groups(
        self, user_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[GroupMembership]:
        where, params = "m.user_id = ?", [user_id]
        if cursor is not None:
            position = decode_cursor("user_groups", cursor)
            if not (isinstance(position, list) and len(position) == 2):
                raise BadRequest("cursor is not one this server issued", code="invalid_cursor")
            where += " AND (m.joined_at, m.group_id) < (?, ?)"
            params += [str(position[0]), str(position[1])]
        rows = await self._all(
            f"SELECT {_GROUP_COLUMNS}, m.role, m.joined_at FROM memberships m "
            f"JOIN groups g ON g.id = m.group_id WHERE {where} "
            "ORDER BY m.joined_at DESC, m.group_id DESC LIMIT ?",
            (*params, limit + 1),
        )
        items = [
            GroupMembership(group=_group(r), role=r[9], joined_at=from_text(r[10]))
            for r in rows[:limit]
        ]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor("user_groups", [last[10], last[0]])
        return Page(items=items, next_cursor=next_cursor)

    async def update_group(
        self, group_id: str, *, expected_version: int, changes: dict[str, Any], updated_at: datetime
    ) -> Group:
        allowed = {"name", "description", "default_currency"}
        assignments = "".join(f"{column} = ?, " for column in changes if column in allowed)
        values = [value for column, value in changes.items() if column in allowed]
        async with self._transaction() as db:
            result = await db.execute(
                f"UPDATE groups SET {assignments}version = version + 1, updated_at = ? "
                "WHERE id = ? AND version = ?",
                (*values, to_text(updated_at), group_id, expected_version),
            )
            if result.rowcount == 0:
                async with db.execute("SELECT version FROM groups WHERE id = ?", (group_id,)) as cur:
                    row = await cur.fetchone()
                if row is None:
                    raise NotFound("group not found")
                raise PreconditionFailed(
                    f"group was changed meanwhile: you sent version {expected_version}, "
                    f"it is now {row[0]}",
                    details={"current_version": row[0]},
                )
            async with db.execute(
                f"SELECT {_GROUP_COLUMNS} FROM groups g WHERE g.id = ?", (group_id,)
            ) as cur:
                return _group(await cur.fetchone())

    async def delete_group(self, group_id: str) -> None:
        async with self._transaction() as db:
            result = await db.execute("DELETE FROM groups WHERE id = ?", (group_id,))
            if result.rowcount == 0:
                raise NotFound("group not found")

    async def add_member(
        self, group_id: str, user_id: str, joined_at: datetime
    ) -> tuple[Member, bool]:
        async with self._transaction() as db:
            async with db.execute(
                "SELECT g.member_count, m.role, m.joined_at FROM groups g LEFT JOIN memberships m "
                "ON m.group_id = g.id AND m.user_id = ? WHERE g.id = ?",
                (user_id, group_id),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                raise NotFound("group not found")
            if row[1] is not None:
                return Member(user_id=user_id, role=row[1], joined_at=from_text(row[2])), False
            await _require_user(db, user_id)
            if row[0] >= MAX_GROUP_MEMBERS:
                raise Conflict(
                    f"group is full: at most {MAX_GROUP_MEMBERS} members", code="group_full"
                )
            await db.execute(
                "INSERT INTO memberships (group_id, user_id, role, joined_at) VALUES (?, ?, 'member', ?)",
                (group_id, user_id, to_text(joined_at)),
            )
            await db.execute(
                "UPDATE groups SET member_count = member_count + 1 WHERE id = ?", (group_id,)
            )
        return Member(user_id=user_id, role="member", joined_at=joined_at), True

    async def remove_member(self, group_id: str, user_id: str) -> None:
        async with self._transaction() as db:
            result = await db.execute(
                "DELETE FROM memberships WHERE group_id = ? AND user_id = ?", (group_id, user_id)
            )
            if result.rowcount == 0:
                raise NotFound("member not found")
            await db.execute(
                "UPDATE groups SET member_count = member_count - 1 WHERE id = ?", (group_id,)
            )

    # invites

    async def create_invite(self, invite: Invite) -> None:
        async with self._transaction() as db:
            async with db.execute("SELECT 1 FROM groups WHERE id = ?", (invite.group_id,)) as cur:
                if await cur.fetchone() is None:
                    raise NotFound("group not found")
            try:
                await db.execute(
                    "INSERT INTO invites (token_hash, group_id, created_by, created_at, expires_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        invite.token_hash,
                        invite.group_id,
                        invite.created_by,
                        to_text(invite.created_at),
                        to_text(invite.expires_at),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict("an invite with this token exists", code="invite_exists") from exc
            # Long-expired invites are dead weight; recently expired ones stay so that their holders
            # hear "expired" (410) rather than "unknown". The index bounds this to one group.
            await db.execute(
                "DELETE FROM invites WHERE group_id = ? AND expires_at < ?",
                (invite.group_id, to_text(utc_now() - INVITE_RETENTION)),
            )

    async def get_invite(self, token_hash: str) -> Invite:
        row = await self._one(
            "SELECT token_hash, group_id, created_by, created_at, expires_at FROM invites "
            "WHERE token_hash = ?",
            (token_hash,),
        )
        if row is None:
            raise NotFound("invite not found")
        return Invite(
            token_hash=row[0],
            group_id=row[1],
            created_by=row[2],
            created_at=from_text(row[3]),
            expires_at=from_text(row[4]),
        )


async def _require_user(db: aiosqlite.Connection, user_id: str) -> None:
    async with db.execute("SELECT 1 FROM users WHERE id = ?", (user_id,)) as cursor:
        if await cursor.fetchone() is None:
            raise NotFound("user not found")


async def _connect(path: Path) -> aiosqlite.Connection:
    db = await aiosqlite.connect(path, isolation_level=None)
    await db.execute("PRAGMA journal_mode = WAL")
    await db.execute("PRAGMA busy_timeout = 10000")
    await db.execute("PRAGMA foreign_keys = ON")
    await db.execute("PRAGMA synchronous = NORMAL")
    return db


async def _migrate(db: aiosqlite.Connection) -> None:
    """Apply the migrations this file does not have yet, each in its own transaction."""
    await db.execute("BEGIN IMMEDIATE")
    try:
        async with db.execute("PRAGMA user_version") as cursor:
            (applied,) = await cursor.fetchone()
        for number, script in enumerate(_MIGRATIONS[applied:], start=applied + 1):
            for statement in filter(str.strip, script.split(";")):
                await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {number}")
    except BaseException:
        await db.execute("ROLLBACK")
        raise
    await db.execute("COMMIT")
