"""The embedded backend: one SQLite file in WAL mode, through the standard library's `sqlite3`.

Writes: one connection owned by one dedicated thread. Each store call's whole transaction
(`BEGIN IMMEDIATE` … `COMMIT`, or `ROLLBACK` when it raises) runs there as one synchronous function,
so a write costs the event loop a single thread hop however many statements it takes, and the one
thread serialises transactions without any asyncio lock. Several processes may share the file:
`busy_timeout` makes their writers queue (in that thread, off the event loop) rather than fail.

Reads: single statements on a second connection, run directly on the event loop's thread. In WAL
mode a reader never waits for a writer, and these are indexed point and range reads of tens of
microseconds, cheaper than a hop to a thread. That connection has no busy timeout; in the rare case
SQLite still answers "busy" (another process recovering or truncating the WAL), the read is retried
on a third connection in a thread of its own that may wait. Each read is one statement stepped to
completion, so it sees one committed snapshot and holds no read transaction open afterwards.
"""
from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from domain import (
    ActivityEntry,
    BadRequest,
    Balance,
    Conflict,
    Expense,
    ExpenseFilter,
    Group,
    GroupMembership,
    IdempotentReply,
    Invalid,
    Invite,
    Member,
    NotFound,
    Page,
    PreconditionFailed,
    Settlement,
    StoredReply,
    Unavailable,
    User,
)
from domain.models import MAX_GROUP_MEMBERS
from store.base import (
    IDEMPOTENCY_LEASE,
    IDEMPOTENCY_RETENTION,
    BalanceDeltas,
    NewGroup,
    Store,
    TokenStanding,
)
from store.cursor import decode_cursor, encode_cursor
from store.timefmt import from_text, to_text, utc_now

T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000
"""How long a writer (or a read that found the file busy) waits for another process's lock."""

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
    """
    CREATE TABLE balances (
        group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        currency TEXT NOT NULL,
        amount INTEGER NOT NULL,
        PRIMARY KEY (group_id, user_id, currency)
    );
    CREATE TABLE expenses (
        id TEXT PRIMARY KEY,
        group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        description TEXT NOT NULL,
        amount INTEGER NOT NULL,
        currency TEXT NOT NULL,
        date TEXT NOT NULL,
        category TEXT NOT NULL,
        paid TEXT NOT NULL,
        owed TEXT NOT NULL,
        split TEXT NOT NULL,
        notes TEXT NOT NULL,
        receipt_id TEXT,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        version INTEGER NOT NULL
    );
    CREATE INDEX expenses_by_date ON expenses (group_id, date, created_at, id);
    CREATE TABLE expense_participants (
        expense_id TEXT NOT NULL REFERENCES expenses (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        PRIMARY KEY (expense_id, user_id)
    );
    CREATE TABLE settlements (
        id TEXT PRIMARY KEY,
        group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        from_user TEXT NOT NULL,
        to_user TEXT NOT NULL,
        amount INTEGER NOT NULL,
        currency TEXT NOT NULL,
        date TEXT NOT NULL,
        note TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        version INTEGER NOT NULL
    );
    CREATE INDEX settlements_by_date ON settlements (group_id, date, created_at, id);
    CREATE TABLE activity (
        id TEXT PRIMARY KEY,
        group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        actor_id TEXT NOT NULL,
        action TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        details TEXT NOT NULL
    );
    CREATE INDEX activity_by_time ON activity (group_id, at, id);
    CREATE TABLE idempotency_keys (
        user_id TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        state TEXT NOT NULL,
        status INTEGER,
        body TEXT,
        claimed_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        PRIMARY KEY (user_id, key)
    );
    CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
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

Db = sqlite3.Connection


class SQLiteStore(Store):
    def __init__(
        self,
        reader: Db,
        writer: Db,
        writer_thread: ThreadPoolExecutor,
        slow_reader: Db,
        slow_read_thread: ThreadPoolExecutor,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._writer_thread = writer_thread
        self._slow_reader = slow_reader
        self._slow_read_thread = slow_read_thread

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path) -> AsyncIterator[SQLiteStore]:
        loop = asyncio.get_running_loop()
        path.parent.mkdir(parents=True, exist_ok=True)
        writer_thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        slow_read_thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-reader")
        opened: list[tuple[ThreadPoolExecutor | None, Db]] = []
        try:
            writer = await loop.run_in_executor(writer_thread, _connect, path, BUSY_TIMEOUT_MS)
            opened.append((writer_thread, writer))
            await loop.run_in_executor(writer_thread, _migrate, writer)
            slow_reader = await loop.run_in_executor(
                slow_read_thread, _connect, path, BUSY_TIMEOUT_MS
            )
            opened.append((slow_read_thread, slow_reader))
            # Opened after the migrations, so it never meets a schema mid-change; opened off the
            # loop (opening may wait for a lock), then used only on the loop's thread.
            reader = await loop.run_in_executor(slow_read_thread, _connect, path, 0)
            opened.append((None, reader))
            yield cls(reader, writer, writer_thread, slow_reader, slow_read_thread)
        finally:
            # Each connection closes in its own thread, after whatever was queued there.
            for thread, db in reversed(opened):
                if thread is None:
                    db.close()
                else:
                    await loop.run_in_executor(thread, db.close)
            for thread in (writer_thread, slow_read_thread):
                thread.shutdown(wait=False)

    # plumbing

    def _write(self, work: Callable[[Db], T]) -> asyncio.Future[T]:
        """Run `work` as one transaction in the writer thread: one hop for the whole write."""
        return asyncio.get_running_loop().run_in_executor(
            self._writer_thread, _transaction, self._writer, work
        )

    async def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        try:
            return self._reader.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
        return await asyncio.get_running_loop().run_in_executor(
            self._slow_read_thread, _slow_read, self._slow_reader, sql, params
        )

    async def _one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

    async def ping(self) -> None:
        await self._one("SELECT 1")

    # users

    async def ensure_user(self, email: str, name: str, picture: str | None = None) -> User:
        email = email.strip().lower()
        created = to_text(utc_now())

        def work(db: Db) -> User:
            db.execute(
                "INSERT INTO users (id, email, name, picture, created_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (email) DO NOTHING",
                (uuid.uuid4().hex, email, name, picture, created),
            )
            return _user(_fetchone(
                db, "SELECT id, email, name, picture, created_at FROM users WHERE email = ?",
                (email,),
            ))

        return await self._write(work)

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
        expires, now = to_text(expires_at), to_text(utc_now())

        def work(db: Db) -> None:
            db.execute(
                "INSERT OR IGNORE INTO revoked_tokens (jti, expires_at) VALUES (?, ?)",
                (jti, expires),
            )
            # Expired entries can no longer matter; dropping them here keeps the table small.
            db.execute("DELETE FROM revoked_tokens WHERE expires_at < ?", (now,))

        await self._write(work)

    async def token_standing(self, user_id: str, jti: str) -> TokenStanding:
        # Every authenticated request asks: one statement on the event loop's thread.
        params = (user_id, jti)
        try:
            rows = self._reader.execute(_TOKEN_STANDING, params).fetchall()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            rows = await self._all(_TOKEN_STANDING, params)
        user_exists, revoked = rows[0]
        if not user_exists:
            return TokenStanding.UNKNOWN_USER
        return TokenStanding.REVOKED if revoked else TokenStanding.ACTIVE

    # groups

    async def create_group(self, group: NewGroup) -> Group:
        created = to_text(group.created_at)

        def work(db: Db) -> None:
            _require_user(db, group.owner_id)
            db.execute(
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
            db.execute(
                "INSERT INTO memberships (group_id, user_id, role, joined_at) VALUES (?, ?, 'owner', ?)",
                (group.id, group.owner_id, created),
            )

        await self._write(work)
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
        # Every group-scoped request asks: one statement on the event loop's thread.
        params = (user_id, group_id)
        try:
            rows = self._reader.execute(_GROUP_AS_MEMBER, params).fetchall()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            rows = await self._all(_GROUP_AS_MEMBER, params)
        if not rows:
            raise NotFound("group not found")
        row = rows[0]
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
            joined_at, group_id = _pair(decode_cursor("user_groups", cursor))
            where += " AND (m.joined_at, m.group_id) < (?, ?)"
            params += [joined_at, group_id]
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
        updated = to_text(updated_at)

        def work(db: Db) -> Group:
            result = db.execute(
                f"UPDATE groups SET {assignments}version = version + 1, updated_at = ? "
                "WHERE id = ? AND version = ?",
                (*values, updated, group_id, expected_version),
            )
            if result.rowcount == 0:
                row = _fetchone(db, "SELECT version FROM groups WHERE id = ?", (group_id,))
                if row is None:
                    raise NotFound("group not found")
                raise PreconditionFailed(
                    f"group was changed meanwhile: you sent version {expected_version}, "
                    f"it is now {row[0]}",
                    details={"current_version": row[0]},
                )
            return _group(_fetchone(
                db, f"SELECT {_GROUP_COLUMNS} FROM groups g WHERE g.id = ?", (group_id,)
            ))

        return await self._write(work)

    async def delete_group(self, group_id: str) -> None:
        def work(db: Db) -> None:
            if _fetchone(
                db,
                "SELECT EXISTS (SELECT 1 FROM balances WHERE group_id = ? AND amount != 0)",
                (group_id,),
            )[0]:
                raise _unsettled("the group still has unsettled balances; settle up first")
            if db.execute("DELETE FROM groups WHERE id = ?", (group_id,)).rowcount == 0:
                raise NotFound("group not found")

        await self._write(work)

    async def add_member(
        self,
        group_id: str,
        user_id: str,
        joined_at: datetime,
        activity: ActivityEntry | None = None,
    ) -> tuple[Member, bool]:
        joined = to_text(joined_at)

        def work(db: Db) -> tuple[Member, bool]:
            row = _fetchone(
                db,
                "SELECT g.member_count, m.role, m.joined_at FROM groups g LEFT JOIN memberships m "
                "ON m.group_id = g.id AND m.user_id = ? WHERE g.id = ?",
                (user_id, group_id),
            )
            if row is None:
                raise NotFound("group not found")
            if row[1] is not None:
                return Member(user_id=user_id, role=row[1], joined_at=from_text(row[2])), False
            _require_user(db, user_id)
            if row[0] >= MAX_GROUP_MEMBERS:
                raise Conflict(
                    f"group is full: at most {MAX_GROUP_MEMBERS} members", code="group_full"
                )
            db.execute(
                "INSERT INTO memberships (group_id, user_id, role, joined_at) VALUES (?, ?, 'member', ?)",
                (group_id, user_id, joined),
            )
            db.execute(
                "UPDATE groups SET member_count = member_count + 1 WHERE id = ?", (group_id,)
            )
            if activity is not None:
                _log(db, activity)
            return Member(user_id=user_id, role="member", joined_at=joined_at), True

        return await self._write(work)

    async def remove_member(
        self, group_id: str, user_id: str, activity: ActivityEntry | None = None
    ) -> None:
        def work(db: Db) -> None:
            if _fetchone(
                db,
                "SELECT EXISTS (SELECT 1 FROM balances "
                "WHERE group_id = ? AND user_id = ? AND amount != 0)",
                (group_id, user_id),
            )[0]:
                raise _unsettled("this member still has an unsettled balance; settle up first")
            result = db.execute(
                "DELETE FROM memberships WHERE group_id = ? AND user_id = ?", (group_id, user_id)
            )
            if result.rowcount == 0:
                raise NotFound("member not found")
            db.execute(
                "DELETE FROM balances WHERE group_id = ? AND user_id = ?", (group_id, user_id)
            )
            db.execute(
                "UPDATE groups SET member_count = member_count - 1 WHERE id = ?", (group_id,)
            )
            if activity is not None:
                _log(db, activity)

        await self._write(work)

    # invites

    async def create_invite(self, invite: Invite) -> None:
        row = (
            invite.token_hash,
            invite.group_id,
            invite.created_by,
            to_text(invite.created_at),
            to_text(invite.expires_at),
        )
        purge_before = to_text(utc_now() - INVITE_RETENTION)

        def work(db: Db) -> None:
            _require_group(db, invite.group_id)
            try:
                db.execute(
                    "INSERT INTO invites (token_hash, group_id, created_by, created_at, expires_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    row,
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict("an invite with this token exists", code="invite_exists") from exc
            # Long-expired invites are dead weight; recently expired ones stay so that their holders
            # hear "expired" (410) rather than "unknown". The index bounds this to one group.
            db.execute(
                "DELETE FROM invites WHERE group_id = ? AND expires_at < ?",
                (invite.group_id, purge_before),
            )

        await self._write(work)

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

    # idempotency

    async def claim_idempotency_key(
        self, user_id: str, key: str, fingerprint: str, now: datetime
    ) -> StoredReply | None:
        now_text = to_text(now)
        expires = to_text(now + IDEMPOTENCY_RETENTION)
        lease_start = now - IDEMPOTENCY_LEASE

        def work(db: Db) -> StoredReply | None:
            db.execute("DELETE FROM idempotency_keys WHERE expires_at < ?", (now_text,))
            row = _fetchone(
                db,
                "SELECT fingerprint, state, status, body, claimed_at FROM idempotency_keys "
                "WHERE user_id = ? AND key = ?",
                (user_id, key),
            )
            if row is not None:
                stored_fingerprint, state, status, body, claimed_at = row
                if stored_fingerprint != fingerprint:
                    raise _key_reused()
                if state == "done":
                    return StoredReply(status=status, body=body)
                if from_text(claimed_at) > lease_start:
                    raise _in_progress()
            db.execute(
                "INSERT INTO idempotency_keys (user_id, key, fingerprint, state, claimed_at, "
                "expires_at) VALUES (?, ?, ?, 'pending', ?, ?) ON CONFLICT (user_id, key) DO UPDATE "
                "SET claimed_at = excluded.claimed_at",
                (user_id, key, fingerprint, now_text, expires),
            )
            return None

        return await self._write(work)

    async def release_idempotency_key(self, user_id: str, key: str) -> None:
        def work(db: Db) -> None:
            db.execute(
                "DELETE FROM idempotency_keys WHERE user_id = ? AND key = ? AND state = 'pending'",
                (user_id, key),
            )

        await self._write(work)

    # expenses

    async def create_expense(
        self,
        expense: Expense,
        *,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        reply: IdempotentReply | None = None,
    ) -> None:
        # Everything that needs no database is prepared here, on the event loop, so that the
        # writer thread (the one resource every write shares) does only the statements.
        row = _expense_row(expense)
        participants = [(expense.id, user) for user in expense.participants]
        moves = _Moves(expense.group_id, deltas)
        logged = _activity_row(activity)

        def work(db: Db) -> None:
            _require_group(db, expense.group_id)
            _move_balances(db, moves)
            db.execute(_INSERT_EXPENSE, row)
            db.executemany(_INSERT_PARTICIPANT, participants)
            db.execute(_INSERT_ACTIVITY, logged)
            _record_reply(db, reply)

        await self._write(work)

    async def get_expense(self, group_id: str, expense_id: str) -> Expense:
        row = await self._one(
            f"SELECT {_EXPENSE_COLUMNS} FROM expenses WHERE group_id = ? AND id = ?",
            (group_id, expense_id),
        )
        if row is None:
            raise NotFound("expense not found")
        return _expense(row)

    async def list_expenses(
        self,
        group_id: str,
        *,
        limit: int,
        cursor: str | None = None,
        filters: ExpenseFilter = ExpenseFilter(),
    ) -> Page[Expense]:
        where, params = ["group_id = ?"], [group_id]
        if filters.date_from is not None:
            where.append("date >= ?")
            params.append(filters.date_from)
        if filters.date_to is not None:
            where.append("date <= ?")
            params.append(filters.date_to)
        if filters.category is not None:
            where.append("category = ?")
            params.append(filters.category)
        if filters.member is not None:
            where.append(
                "EXISTS (SELECT 1 FROM expense_participants p "
                "WHERE p.expense_id = expenses.id AND p.user_id = ?)"
            )
            params.append(filters.member)
        rows = await self._page(
            "expenses", _EXPENSE_COLUMNS, where, params, limit=limit, cursor=cursor
        )
        return _paged([_expense(r) for r in rows], limit, "expenses")

    async def update_expense(
        self,
        expense: Expense,
        *,
        expected_version: int,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
    ) -> None:
        row = (*_expense_row(expense), expense.id)
        participants = [(expense.id, user) for user in expense.participants]
        moves = _Moves(expense.group_id, deltas)
        logged = _activity_row(activity)

        def work(db: Db) -> None:
            _check_version(db, "expenses", expense.group_id, expense.id, expected_version)
            _move_balances(db, moves)
            db.execute(_UPDATE_EXPENSE, row)
            db.execute("DELETE FROM expense_participants WHERE expense_id = ?", (expense.id,))
            db.executemany(_INSERT_PARTICIPANT, participants)
            db.execute(_INSERT_ACTIVITY, logged)

        await self._write(work)

    async def delete_expense(
        self,
        group_id: str,
        expense_id: str,
        *,
        expected_version: int,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
    ) -> None:
        moves = _Moves(group_id, deltas)
        logged = _activity_row(activity)

        def work(db: Db) -> None:
            _check_version(db, "expenses", group_id, expense_id, expected_version)
            _move_balances(db, moves)
            db.execute("DELETE FROM expenses WHERE id = ?", (expense_id,))
            db.execute(_INSERT_ACTIVITY, logged)

        await self._write(work)

    # settlements

    async def create_settlement(
        self,
        settlement: Settlement,
        *,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        reply: IdempotentReply | None = None,
    ) -> None:
        row = (
            settlement.id,
            settlement.group_id,
            settlement.from_user,
            settlement.to_user,
            settlement.amount,
            settlement.currency,
            settlement.date,
            settlement.note,
            settlement.created_by,
            to_text(settlement.created_at),
            settlement.version,
        )
        moves = _Moves(settlement.group_id, deltas)
        logged = _activity_row(activity)

        def work(db: Db) -> None:
            _require_group(db, settlement.group_id)
            _move_balances(db, moves)
            db.execute(_INSERT_SETTLEMENT, row)
            db.execute(_INSERT_ACTIVITY, logged)
            _record_reply(db, reply)

        await self._write(work)

    async def get_settlement(self, group_id: str, settlement_id: str) -> Settlement:
        row = await self._one(
            f"SELECT {_SETTLEMENT_COLUMNS} FROM settlements WHERE group_id = ? AND id = ?",
            (group_id, settlement_id),
        )
        if row is None:
            raise NotFound("transaction not found")
        return _settlement(row)

    async def list_settlements(
        self, group_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[Settlement]:
        rows = await self._page(
            "settlements", _SETTLEMENT_COLUMNS, ["group_id = ?"], [group_id],
            limit=limit, cursor=cursor,
        )
        return _paged([_settlement(r) for r in rows], limit, "settlements")

    async def delete_settlement(
        self,
        group_id: str,
        settlement_id: str,
        *,
        expected_version: int,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
    ) -> None:
        moves = _Moves(group_id, deltas)
        logged = _activity_row(activity)

        def work(db: Db) -> None:
            _check_version(db, "settlements", group_id, settlement_id, expected_version)
            _move_balances(db, moves)
            db.execute("DELETE FROM settlements WHERE id = ?", (settlement_id,))
            db.execute(_INSERT_ACTIVITY, logged)

        await self._write(work)

    # balances and activity

    async def get_balances(self, group_id: str) -> list[Balance]:
        rows = await self._all(
            "SELECT user_id, currency, amount FROM balances WHERE group_id = ? "
            "ORDER BY user_id, currency",
            (group_id,),
        )
        return [Balance(user_id=r[0], currency=r[1], amount=r[2]) for r in rows]

    async def list_activity(
        self, group_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[ActivityEntry]:
        where, params = "group_id = ?", [group_id]
        if cursor is not None:
            at, entry_id = _pair(decode_cursor("activity", cursor))
            where += " AND (at, id) < (?, ?)"
            params += [at, entry_id]
        rows = await self._all(
            "SELECT id, group_id, at, actor_id, action, subject_id, details FROM activity "
            f"WHERE {where} ORDER BY at DESC, id DESC LIMIT ?",
            (*params, limit + 1),
        )
        entries = [
            ActivityEntry(
                id=r[0],
                group_id=r[1],
                at=from_text(r[2]),
                actor_id=r[3],
                action=r[4],
                subject_id=r[5],
                details=json.loads(r[6]),
            )
            for r in rows
        ]
        next_cursor = None
        if len(entries) > limit:
            last = entries[limit - 1]
            next_cursor = encode_cursor("activity", [to_text(last.at), last.id])
        return Page(items=entries[:limit], next_cursor=next_cursor)

    async def _page(
        self,
        table: str,
        columns: str,
        where: list[str],
        params: list[Any],
        *,
        limit: int,
        cursor: str | None,
    ) -> list[Any]:
        """One page of a dated history table, newest first by (date, created_at, id)."""
        if cursor is not None:
            date, created_at, record_id = _triple(decode_cursor(table, cursor))
            where = [*where, "(date, created_at, id) < (?, ?, ?)"]
            params = [*params, date, created_at, record_id]
        return await self._all(
            f"SELECT {columns} FROM {table} WHERE {' AND '.join(where)} "
            "ORDER BY date DESC, created_at DESC, id DESC LIMIT ?",
            (*params, limit + 1),
        )


_EXPENSE_COLUMNS = (
    "id, group_id, description, amount, currency, date, category, paid, owed, split, notes, "
    "receipt_id, created_by, created_at, updated_at, version"
)
_SETTLEMENT_COLUMNS = (
    "id, group_id, from_user, to_user, amount, currency, date, note, created_by, created_at, version"
)


def _marks(columns: str) -> str:
    return ", ".join("?" * len(columns.split(",")))


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _expense_row(expense: Expense) -> tuple[Any, ...]:
    return (
        expense.id,
        expense.group_id,
        expense.description,
        expense.amount,
        expense.currency,
        expense.date,
        expense.category,
        _json(expense.paid),
        _json(expense.owed),
        _json(expense.split),
        expense.notes,
        expense.receipt_id,
        expense.created_by,
        to_text(expense.created_at),
        to_text(expense.updated_at),
        expense.version,
    )


def _expense(row: Any) -> Expense:
    return Expense(
        id=row[0],
        group_id=row[1],
        description=row[2],
        amount=row[3],
        currency=row[4],
        date=row[5],
        category=row[6],
        paid=json.loads(row[7]),
        owed=json.loads(row[8]),
        split=json.loads(row[9]),
        notes=row[10],
        receipt_id=row[11],
        created_by=row[12],
        created_at=from_text(row[13]),
        updated_at=from_text(row[14]),
        version=row[15],
    )


def _settlement(row: Any) -> Settlement:
    return Settlement(
        id=row[0],
        group_id=row[1],
        from_user=row[2],
        to_user=row[3],
        amount=row[4],
        currency=row[5],
        date=row[6],
        note=row[7],
        created_by=row[8],
        created_at=from_text(row[9]),
        version=row[10],
    )


def _paged(items: list[Any], limit: int, kind: str) -> Page[Any]:
    """A page of dated records fetched with limit + 1, and the cursor after its last item."""
    next_cursor = None
    if len(items) > limit:
        last = items[limit - 1]
        next_cursor = encode_cursor(kind, [last.date, to_text(last.created_at), last.id])
    return Page(items=items[:limit], next_cursor=next_cursor)


def _pair(position: Any) -> tuple[str, str]:
    if not (isinstance(position, list) and len(position) == 2 and all(isinstance(p, str) for p in position)):
        raise _foreign_cursor()
    return position[0], position[1]


def _triple(position: Any) -> tuple[str, str, str]:
    if not (isinstance(position, list) and len(position) == 3 and all(isinstance(p, str) for p in position)):
        raise _foreign_cursor()
    return position[0], position[1], position[2]


def _foreign_cursor() -> BadRequest:
    return BadRequest("cursor is not one this server issued", code="invalid_cursor")


_TOKEN_STANDING = (
    "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?), "
    "EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?)"
)
_GROUP_AS_MEMBER = (
    f"SELECT {_GROUP_COLUMNS}, m.role, m.joined_at FROM groups g "
    "JOIN memberships m ON m.group_id = g.id AND m.user_id = ? WHERE g.id = ?"
)
_INSERT_EXPENSE = f"INSERT INTO expenses ({_EXPENSE_COLUMNS}) VALUES ({_marks(_EXPENSE_COLUMNS)})"
_UPDATE_EXPENSE = (
    "UPDATE expenses SET "
    + ", ".join(f"{c.strip()} = ?" for c in _EXPENSE_COLUMNS.split(","))
    + " WHERE id = ?"
)
_INSERT_PARTICIPANT = "INSERT INTO expense_participants (expense_id, user_id) VALUES (?, ?)"
_INSERT_SETTLEMENT = (
    f"INSERT INTO settlements ({_SETTLEMENT_COLUMNS}) VALUES ({_marks(_SETTLEMENT_COLUMNS)})"
)
_INSERT_ACTIVITY = (
    "INSERT INTO activity (id, group_id, at, actor_id, action, subject_id, details) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_UPSERT_BALANCE = (
    "INSERT INTO balances (group_id, user_id, currency, amount) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (group_id, user_id, currency) DO UPDATE SET amount = amount + excluded.amount"
)


def _fetchone(db: Db, sql: str, params: tuple[Any, ...] = ()) -> Any:
    """The first row; the statement is stepped to completion so it leaves nothing open."""
    rows = db.execute(sql, params).fetchall()
    return rows[0] if rows else None


def _check_version(db: Db, table: str, group_id: str, record_id: str, expected: int) -> None:
    row = _fetchone(
        db, f"SELECT version FROM {table} WHERE group_id = ? AND id = ?", (group_id, record_id)
    )
    if row is None:
        raise NotFound(f"{'expense' if table == 'expenses' else 'transaction'} not found")
    if row[0] != expected:
        raise PreconditionFailed(
            f"it was changed meanwhile: you sent version {expected}, it is now {row[0]}",
            details={"current_version": row[0]},
        )


def _key_reused() -> Invalid:
    return Invalid(
        "this Idempotency-Key was already used for a different request",
        code="idempotency_key_reused",
    )


def _unsettled(message: str) -> Conflict:
    return Conflict(message, code="balance_not_settled")


def _activity_row(entry: ActivityEntry) -> tuple[Any, ...]:
    return (
        entry.id,
        entry.group_id,
        to_text(entry.at),
        entry.actor_id,
        entry.action,
        entry.subject_id,
        json.dumps(entry.details, separators=(",", ":")),
    )


def _log(db: Db, entry: ActivityEntry) -> None:
    db.execute(_INSERT_ACTIVITY, _activity_row(entry))


class _Moves:
    """Balance deltas made ready for `_move_balances`: who must be a member, and the upserts."""

    __slots__ = ("group_id", "users", "members_sql", "upserts")

    def __init__(self, group_id: str, deltas: BalanceDeltas) -> None:
        self.group_id = group_id
        self.users = sorted({user for user, _ in deltas})
        marks = ",".join("?" * len(self.users))
        self.members_sql = (
            f"SELECT user_id FROM memberships WHERE group_id = ? AND user_id IN ({marks})"
        )
        self.upserts = [
            (group_id, user, currency, delta) for (user, currency), delta in sorted(deltas.items())
        ]



def _move_balances(db: Db, moves: _Moves) -> None:
    """Apply the deltas, refusing (Conflict `not_a_member`) if any user is not a member now."""
    if moves.users:
        members = {
            row[0] for row in db.execute(moves.members_sql, (moves.group_id, *moves.users))
        }
        outsiders = [user for user in moves.users if user not in members]
        if outsiders:
            raise Conflict(
                "every payer and participant must be a member of the group",
                code="not_a_member",
                details={"user_ids": outsiders},
            )
    db.executemany(_UPSERT_BALANCE, moves.upserts)


def _require_group(db: Db, group_id: str) -> None:
    if _fetchone(db, "SELECT 1 FROM groups WHERE id = ?", (group_id,)) is None:
        raise NotFound("group not found")


def _record_reply(db: Db, reply: IdempotentReply | None) -> None:
    if reply is None:
        return
    result = db.execute(
        "UPDATE idempotency_keys SET state = 'done', status = ?, body = ? "
        "WHERE user_id = ? AND key = ? AND state = 'pending'",
        (reply.status, reply.body, reply.user_id, reply.key),
    )
    if result.rowcount == 0:
        raise _in_progress()


def _in_progress() -> Conflict:
    return Conflict(
        "a request with this Idempotency-Key is still being processed; retry shortly",
        code="idempotency_in_progress",
    )


def _require_user(db: Db, user_id: str) -> None:
    if _fetchone(db, "SELECT 1 FROM users WHERE id = ?", (user_id,)) is None:
        raise NotFound("user not found")


# connections and threads

_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    """SQLite's "busy"/"locked" (extended codes included), as opposed to a real error."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _BUSY_CODES


def _busy_to_unavailable() -> Unavailable:
    return Unavailable(
        f"the database stayed locked by another process for {BUSY_TIMEOUT_MS} ms; try again"
    )


def _transaction(db: Db, work: Callable[[Db], T]) -> T:
    """In the writer thread: `work` as one IMMEDIATE transaction, rolled back if anything raises."""
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if _is_busy(exc):
            raise _busy_to_unavailable() from exc
        raise
    try:
        result = work(db)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return result


def _slow_read(db: Db, sql: str, params: tuple[Any, ...]) -> list[Any]:
    """In the read thread: a read the event loop's connection found busy, allowed to wait."""
    try:
        return db.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if _is_busy(exc):
            raise _busy_to_unavailable() from exc
        raise


def _connect(path: Path, busy_timeout_ms: int) -> Db:
    """A connection whose busy timeout is `busy_timeout_ms` once open (opening itself may wait)."""
    db = sqlite3.connect(
        path,
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,  # autocommit: transactions are the explicit BEGIN … COMMIT above
        check_same_thread=False,  # each connection is used by one thread at a time, by design
        cached_statements=256,
    )
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    except BaseException:
        db.close()
        raise
    return db


def _migrate(db: Db) -> None:
    """Apply the migrations this file does not have yet, in one transaction."""
    db.execute("BEGIN IMMEDIATE")
    try:
        (applied,) = _fetchone(db, "PRAGMA user_version")
        for number, script in enumerate(_MIGRATIONS[applied:], start=applied + 1):
            for statement in filter(str.strip, script.split(";")):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
