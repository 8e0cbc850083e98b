"""The embedded backend: one SQLite file in WAL mode, through the standard library's `sqlite3`.

Everything normally runs on the event loop's own thread, because each statement is an indexed point
or range access of a few to tens of microseconds that never waits in WAL mode, far cheaper than a
hop to a worker thread (aiosqlite made one hop per statement: ~8 per write, and they queued behind
each other and fought over the GIL).

Reads: on their own connection, inside one read transaction per event-loop iteration (a read
snapshot): the first read of an iteration begins it, and it ends at the start of the next iteration
or as soon as this process commits, whichever comes first. Each read transaction costs two `fcntl`
calls on the WAL index, the largest cost of a point read, so a request's several reads (token,
membership, the data it asked for) share one. A snapshot never outlives the iteration, so whatever
committed before a request arrived is visible to it, and nothing a request reads can be older than
the loop iteration that read it. A WAL reader never waits for a writer; in the rare case SQLite still
answers "busy" (another process recovering the WAL), the read is retried in the waiting thread,
where it may wait.

Writes: each store call's statements run synchronously, without yielding, inside a SAVEPOINT of
the write connection's current `BEGIN IMMEDIATE` transaction, which is committed once per event-loop
iteration (group commit): every call that wrote during one iteration shares one COMMIT, and none is
answered before that COMMIT succeeds. A call that raises rolls back to its savepoint, undoing only
its own changes; if the COMMIT itself fails, every call in it fails and none of their changes
persist. So each call stays atomic and isolated; reads (other connection) never see uncommitted
writes. When the write lock is held elsewhere (another process sharing the file, or writes already
waiting), the call instead runs as its own transaction in the waiting thread, where `busy_timeout`
makes it queue rather than fail. Writes whose size the caller does not bound (deleting a group with
its whole history) always go there, so as not to hold the event loop.

WAL checkpoints (which fsync) run in the waiting thread every `CHECKPOINT_EVERY` writes, never on the
event loop. SQLite rewinds the WAL to its start only when a write begins after a checkpoint has
copied every frame back, which under a steady stream of writes never happens by itself: the WAL
grew by ~10 MB a second under load, and every read slowed as SQLite searched its growing index. So
once the WAL holds `WAL_RESET_FRAMES`, new writes wait for the next checkpoint to finish (a short
pause: the checkpoints before it copied nearly everything already), and the first write after it
rewinds the WAL.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from domain import (
    ActivityEntry,
    Balance,
    ChatMessage,
    Conflict,
    Dashboard,
    Expense,
    ExpenseFilter,
    Group,
    GroupMembership,
    GroupStanding,
    IdempotentReply,
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
from domain.clock import from_text, to_text, utc_now
from domain.ids import new_id
from domain.models import MAX_GROUP_MEMBERS
from store.base import (
    IDEMPOTENCY_LEASE,
    IDEMPOTENCY_RETENTION,
    BalanceDeltas,
    NewGroup,
    SpendingDeltas,
    Store,
    TokenStanding,
)
from store.cursor import cursor_pair, dated_position, decode_cursor, encode_cursor, timed_pair
from store.errors import (
    author_not_a_member,
    chat_message_exists,
    group_not_found,
    in_progress,
    key_reused,
    linked_elsewhere,
    not_a_member,
    record_not_found,
    unsettled,
    user_not_found,
)
from store.recent import latest_across_groups

T = TypeVar("T")
log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
"""How long a writer (or a read that found the file busy) waits for another process's lock."""
WAL_RESET_FRAMES = 4096
"""WAL size (in pages) beyond which writes pause for a checkpoint so that the WAL can start over."""
CHECKPOINT_EVERY = 100
"""Writes between background WAL checkpoints (an expense write adds ~10 pages to the WAL, so this is
about SQLite's own default of 1000 pages)."""

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
    """
    ALTER TABLE groups ADD COLUMN last_activity_at TEXT;
    CREATE TABLE spending (
        user_id TEXT NOT NULL,
        group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        month TEXT NOT NULL,
        category TEXT NOT NULL,
        currency TEXT NOT NULL,
        amount INTEGER NOT NULL,
        PRIMARY KEY (user_id, group_id, month, category, currency)
    );
    ALTER TABLE users ADD COLUMN oidc_subject TEXT;
    CREATE UNIQUE INDEX users_by_oidc_subject ON users (oidc_subject);
    """,
    """
    CREATE TABLE chat_messages (
        id TEXT PRIMARY KEY,
        group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        author_id TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX chat_messages_by_time ON chat_messages (group_id, created_at, id);
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
    return User(id=row[0], email=row[1], name=row[2], picture=row[3], created_at=from_text(row[4]))


Db = sqlite3.Connection


class _Busy(Exception):
    """The event loop's connection met another writer's lock: take the write to the waiting thread."""


class SQLiteStore(Store):
    def __init__(self, db: Db, w: Db, waiter: Db, waiter_thread: ThreadPoolExecutor) -> None:
        self._db = db
        self._reading = False
        self._w = w
        self._batch: list[asyncio.Future[None]] | None = None
        self._waiter = waiter
        self._waiter_thread = waiter_thread
        self._queued = 0
        self._commits_since_checkpoint = 0
        self._checkpointing = False
        self._wal_frames = 0
        self._writable = asyncio.Event()
        self._writable.set()

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path) -> AsyncIterator[SQLiteStore]:
        loop = asyncio.get_running_loop()
        path.parent.mkdir(parents=True, exist_ok=True)
        thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-wait")
        opened: list[Db] = []
        try:
            waiter = await loop.run_in_executor(thread, _connect, path, BUSY_TIMEOUT_MS)
            opened.append(waiter)
            await loop.run_in_executor(thread, _migrate, waiter)
            # The event loop's connections: opened after the migrations, so they never meet a
            # schema mid-change, and off the loop (opening may wait for a lock); no busy timeout.
            db = await loop.run_in_executor(thread, _connect, path, 0)
            opened.append(db)
            w = await loop.run_in_executor(thread, _connect, path, 0)
            opened.append(w)
            # Its commits never checkpoint (that fsyncs); the waiting thread does, in the background.
            w.execute("PRAGMA wal_autocheckpoint = 0")
            store = cls(db, w, waiter, thread)
            try:
                yield store
            finally:
                if store._batch is not None:
                    store._commit()
                store._end_snapshot()
        finally:
            # Closed in the thread, after whatever was queued there; the last close checkpoints.
            for db in reversed(opened):
                await loop.run_in_executor(thread, db.close)
            thread.shutdown(wait=False)

    # plumbing

    async def _write(self, work: Callable[[Db], T], *, inline: bool = True) -> T:
        """Run `work` atomically: in the current group commit on the event loop's thread, or, when
        the write lock is held elsewhere, writes are already waiting, or `inline` is False, as its
        own transaction in the waiting thread."""
        if not self._writable.is_set():
            await self._writable.wait()
        if inline and not self._queued:
            try:
                return await self._batched(work)
            except _Busy:
                pass
        self._queued += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._waiter_thread, _transaction, self._waiter, work
            )
        finally:
            self._queued -= 1

    async def _batched(self, work: Callable[[Db], T]) -> T:
        """`work` in a savepoint of the open group commit (begun if none is open); returns once
        that has committed. Raises _Busy, having changed nothing, if the write lock is elsewhere."""
        db = self._w
        batch = self._batch
        if batch is None:
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if _is_busy(exc):
                    raise _Busy() from exc
                raise
            batch = self._batch = []
            asyncio.get_running_loop().call_soon(self._commit)
        db.execute("SAVEPOINT w")
        try:
            result = work(db)
        except BaseException as exc:
            if db.in_transaction:
                db.execute("ROLLBACK TO w")
                db.execute("RELEASE w")
            else:
                self._fail_batch(exc)
            if isinstance(exc, sqlite3.OperationalError) and _is_busy(exc):
                raise _Busy() from exc
            raise
        db.execute("RELEASE w")
        done = asyncio.get_running_loop().create_future()
        batch.append(done)
        await done
        return result

    def _fail_batch(self, exc: BaseException) -> None:
        """The open group commit is lost: every call waiting on it fails."""
        batch, self._batch = self._batch, None
        for done in batch or ():
            if not done.done():
                done.set_exception(Unavailable(f"the write could not be committed: {exc}"))

    def _commit(self) -> None:
        """Commit the open group commit and answer its calls (called soon after it began)."""
        batch = self._batch
        if batch is None:
            return
        try:
            self._w.execute("COMMIT")
        except BaseException as exc:
            if self._w.in_transaction:
                self._w.execute("ROLLBACK")
            self._fail_batch(exc)
            return
        self._batch = None
        self._end_snapshot()  # so that whoever reads next sees what was just committed
        for done in batch:
            if not done.done():
                done.set_result(None)
        self._committed(len(batch))

    def _committed(self, writes: int) -> None:
        """Now and then, checkpoint the WAL in the waiting thread, so commits here never fsync."""
        self._commits_since_checkpoint += writes
        if self._commits_since_checkpoint >= CHECKPOINT_EVERY and not self._checkpointing:
            self._commits_since_checkpoint = 0
            self._checkpointing = True
            if self._wal_frames >= WAL_RESET_FRAMES:
                self._writable.clear()  # see the module docstring: lets the next write rewind it
            done = asyncio.get_running_loop().run_in_executor(self._waiter_thread, _checkpoint, self._waiter)
            done.add_done_callback(self._checkpoint_done)

    def _checkpoint_done(self, done: asyncio.Future[int]) -> None:
        self._checkpointing = False
        self._writable.set()
        if done.cancelled():
            return
        if done.exception() is not None:
            log.warning("WAL checkpoint failed: %r", done.exception())
            return
        self._wal_frames = done.result()

    def _snapshot_read(self, sql: str, params: tuple[Any, ...]) -> list[Any] | None:
        """The rows, read in this iteration's snapshot (begun if none is open); None if busy."""
        db = self._db
        if not self._reading:
            if not db.in_transaction:  # (it is only if ending the last snapshot failed)
                db.execute("BEGIN")
            self._reading = True
            asyncio.get_running_loop().call_soon(self._end_snapshot)
        try:
            return db.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            self._end_snapshot()
            return None

    def _end_snapshot(self) -> None:
        if self._reading:
            self._reading = False
            if self._db.in_transaction:
                self._db.execute("COMMIT")

    async def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        rows = self._snapshot_read(sql, params)
        if rows is not None:
            return rows
        return await asyncio.get_running_loop().run_in_executor(
            self._waiter_thread, _slow_read, self._waiter, sql, params
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
                (new_id(), email, name, picture, created),
            )
            return _user(
                _fetchone(
                    db,
                    "SELECT id, email, name, picture, created_at FROM users WHERE email = ?",
                    (email,),
                )
            )

        return await self._write(work)

    async def get_user(self, user_id: str) -> User:
        row = await self._one(
            "SELECT id, email, name, picture, created_at FROM users WHERE id = ?", (user_id,)
        )
        if row is None:
            raise user_not_found()
        return _user(row)

    async def find_user_by_email(self, email: str) -> User | None:
        row = await self._one(
            "SELECT id, email, name, picture, created_at FROM users WHERE email = ?",
            (email.strip().lower(),),
        )
        return None if row is None else _user(row)

    async def ensure_oidc_user(self, subject: str, email: str, name: str, picture: str | None) -> User:
        email = email.strip().lower()
        created = to_text(utc_now())
        columns = "id, email, name, picture, created_at"

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
            db.execute(
                "UPDATE users SET name = ?, picture = ? WHERE oidc_subject = ?",
                (name, picture, subject),
            )
            return _user(_fetchone(db, f"SELECT {columns} FROM users WHERE oidc_subject = ?", (subject,)))

        return await self._write(work)

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
        rows = await self._all(_TOKEN_STANDING, (user_id, jti))
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
            raise group_not_found()
        return _group(row)

    async def get_group_as_member(self, group_id: str, user_id: str) -> tuple[Group, Member]:
        # Every group-scoped request asks: one statement on the event loop's thread.
        rows = await self._all(_GROUP_AS_MEMBER, (user_id, group_id))
        if not rows:
            raise group_not_found()
        row = rows[0]
        return _group(row), Member(user_id=user_id, role=row[9], joined_at=from_text(row[10]))

    async def get_group_with_member_ids(self, group_id: str, user_id: str) -> tuple[Group, Member, list[str]]:
        rows = await self._all(_GROUP_WITH_MEMBERS, (group_id,))
        mine = next((row for row in rows if row[9] == user_id), None)
        if mine is None:
            raise group_not_found()
        me = Member(user_id=user_id, role=mine[10], joined_at=from_text(mine[11]))
        return _group(mine), me, [row[9] for row in rows]

    async def list_members(self, group_id: str) -> list[Member]:
        rows = await self._all(
            "SELECT m.user_id, m.role, m.joined_at, u.email, u.name, u.picture FROM memberships m "
            "JOIN users u ON u.id = m.user_id WHERE m.group_id = ? "
            f"ORDER BY {_MEMBER_ORDER}",
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
            joined_at, group_id = cursor_pair(decode_cursor("user_groups", cursor))
            where += " AND (m.joined_at, m.group_id) < (?, ?)"
            params += [joined_at, group_id]
        rows = await self._all(
            f"SELECT {_GROUP_COLUMNS}, m.role, m.joined_at FROM memberships m "
            f"JOIN groups g ON g.id = m.group_id WHERE {where} "
            "ORDER BY m.joined_at DESC, m.group_id DESC LIMIT ?",
            (*params, limit + 1),
        )
        items = [
            GroupMembership(group=_group(r), role=r[9], joined_at=from_text(r[10])) for r in rows[:limit]
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
                    raise group_not_found()
                raise PreconditionFailed(
                    f"group was changed meanwhile: you sent version {expected_version}, it is now {row[0]}",
                    details={"current_version": row[0]},
                )
            return _group(_fetchone(db, f"SELECT {_GROUP_COLUMNS} FROM groups g WHERE g.id = ?", (group_id,)))

        return await self._write(work)

    async def delete_group(self, group_id: str) -> None:
        def work(db: Db) -> None:
            if _fetchone(
                db,
                "SELECT EXISTS (SELECT 1 FROM balances WHERE group_id = ? AND amount != 0)",
                (group_id,),
            )[0]:
                raise unsettled("the group still has unsettled balances; settle up first")
            if db.execute("DELETE FROM groups WHERE id = ?", (group_id,)).rowcount == 0:
                raise group_not_found()

        # Cascades over the group's whole history: too long to hold the event loop for.
        await self._write(work, inline=False)

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
                raise group_not_found()
            if row[1] is not None:
                return Member(user_id=user_id, role=row[1], joined_at=from_text(row[2])), False
            _require_user(db, user_id)
            if row[0] >= MAX_GROUP_MEMBERS:
                raise Conflict(f"group is full: at most {MAX_GROUP_MEMBERS} members", code="group_full")
            db.execute(
                "INSERT INTO memberships (group_id, user_id, role, joined_at) VALUES (?, ?, 'member', ?)",
                (group_id, user_id, joined),
            )
            db.execute("UPDATE groups SET member_count = member_count + 1 WHERE id = ?", (group_id,))
            if activity is not None:
                _log(db, _activity_row(activity))
            return Member(user_id=user_id, role="member", joined_at=joined_at), True

        return await self._write(work)

    async def remove_member(self, group_id: str, user_id: str, activity: ActivityEntry | None = None) -> None:
        def work(db: Db) -> None:
            if _fetchone(
                db,
                "SELECT EXISTS (SELECT 1 FROM balances WHERE group_id = ? AND user_id = ? AND amount != 0)",
                (group_id, user_id),
            )[0]:
                raise unsettled("this member still has an unsettled balance; settle up first")
            result = db.execute(
                "DELETE FROM memberships WHERE group_id = ? AND user_id = ?", (group_id, user_id)
            )
            if result.rowcount == 0:
                raise NotFound("member not found")
            db.execute("DELETE FROM balances WHERE group_id = ? AND user_id = ?", (group_id, user_id))
            db.execute("DELETE FROM spending WHERE group_id = ? AND user_id = ?", (group_id, user_id))
            db.execute("UPDATE groups SET member_count = member_count - 1 WHERE id = ?", (group_id,))
            if activity is not None:
                _log(db, _activity_row(activity))

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
                    raise key_reused()
                if state == "done":
                    return StoredReply(status=status, body=body)
                if from_text(claimed_at) > lease_start:
                    raise in_progress()
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
        spending: SpendingDeltas | None = None,
    ) -> None:
        # Everything that needs no database is prepared here, before the transaction, so that the
        # write lock (the one resource every write shares) is held only for the statements.
        row = _expense_row(expense)
        participants = [(expense.id, user) for user in expense.participants]
        moves = _Moves(expense.group_id, deltas, spending, expense.participants)
        logged = _activity_row(activity)

        def work(db: Db) -> None:
            _move_balances(db, moves)
            db.execute(_INSERT_EXPENSE, row)
            db.executemany(_INSERT_PARTICIPANT, participants)
            _log(db, logged)
            _record_reply(db, reply)

        await self._write(work)

    async def get_expense(self, group_id: str, expense_id: str) -> Expense:
        row = await self._one(
            f"SELECT {_EXPENSE_COLUMNS} FROM expenses WHERE group_id = ? AND id = ?",
            (group_id, expense_id),
        )
        if row is None:
            raise record_not_found("expense")
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
        rows = await self._page("expenses", _EXPENSE_COLUMNS, where, params, limit=limit, cursor=cursor)
        return _paged([_expense(r) for r in rows], limit, "expenses")

    async def update_expense(
        self,
        expense: Expense,
        *,
        expected_version: int,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        spending: SpendingDeltas | None = None,
    ) -> None:
        row = (*_expense_row(expense), expense.id)
        participants = [(expense.id, user) for user in expense.participants]
        moves = _Moves(expense.group_id, deltas, spending, expense.participants)
        logged = _activity_row(activity)

        def work(db: Db) -> None:
            _check_version(db, "expenses", expense.group_id, expense.id, expected_version)
            _move_balances(db, moves)
            db.execute(_UPDATE_EXPENSE, row)
            db.execute("DELETE FROM expense_participants WHERE expense_id = ?", (expense.id,))
            db.executemany(_INSERT_PARTICIPANT, participants)
            _log(db, logged)

        await self._write(work)

    async def delete_expense(
        self,
        group_id: str,
        expense_id: str,
        *,
        expected_version: int,
        deltas: BalanceDeltas,
        activity: ActivityEntry,
        spending: SpendingDeltas | None = None,
    ) -> None:
        moves = _Moves(group_id, deltas, spending)
        logged = _activity_row(activity)

        def work(db: Db) -> None:
            _check_version(db, "expenses", group_id, expense_id, expected_version)
            _move_balances(db, moves)
            db.execute("DELETE FROM expenses WHERE id = ?", (expense_id,))
            _log(db, logged)

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
            _move_balances(db, moves)
            db.execute(_INSERT_SETTLEMENT, row)
            _log(db, logged)
            _record_reply(db, reply)

        await self._write(work)

    async def get_settlement(self, group_id: str, settlement_id: str) -> Settlement:
        row = await self._one(
            f"SELECT {_SETTLEMENT_COLUMNS} FROM settlements WHERE group_id = ? AND id = ?",
            (group_id, settlement_id),
        )
        if row is None:
            raise record_not_found("transaction")
        return _settlement(row)

    async def list_settlements(
        self, group_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[Settlement]:
        rows = await self._page(
            "settlements",
            _SETTLEMENT_COLUMNS,
            ["group_id = ?"],
            [group_id],
            limit=limit,
            cursor=cursor,
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
            _log(db, logged)

        await self._write(work)

    # balances and activity

    async def get_balances(self, group_id: str) -> list[Balance]:
        rows = await self._all(
            "SELECT user_id, currency, amount FROM balances WHERE group_id = ? ORDER BY user_id, currency",
            (group_id,),
        )
        return [Balance(user_id=r[0], currency=r[1], amount=r[2]) for r in rows]

    async def get_balances_for_member(self, group_id: str, user_id: str) -> list[Balance]:
        rows = await self._all(_BALANCES_FOR_MEMBER, (group_id, user_id))
        if not rows:
            raise group_not_found()
        return [Balance(user_id=r[0], currency=r[1], amount=r[2]) for r in rows if r[0] is not None]

    async def list_activity(
        self, group_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[ActivityEntry]:
        where, params = "group_id = ?", [group_id]
        if cursor is not None:
            at, entry_id = cursor_pair(decode_cursor("activity", cursor))
            where += " AND (at, id) < (?, ?)"
            params += [at, entry_id]
        rows = await self._all(
            f"SELECT {_ACTIVITY_COLUMNS} FROM activity WHERE {where} ORDER BY at DESC, id DESC LIMIT ?",
            (*params, limit + 1),
        )
        entries = [_activity(r) for r in rows]
        next_cursor = None
        if len(entries) > limit:
            last = entries[limit - 1]
            next_cursor = encode_cursor("activity", [to_text(last.at), last.id])
        return Page(items=entries[:limit], next_cursor=next_cursor)

    async def dashboard(self, user_id: str, *, group_limit: int, recent_limit: int) -> Dashboard:
        rows = await self._all(
            f"SELECT {_GROUP_COLUMNS}, m.role, m.joined_at, g.last_activity_at FROM memberships m "
            "JOIN groups g ON g.id = m.group_id WHERE m.user_id = ? "
            "ORDER BY m.joined_at DESC, m.group_id DESC LIMIT ?",
            (user_id, group_limit + 1),
        )
        rows, more_groups = rows[:group_limit], len(rows) > group_limit
        group_ids = [row[0] for row in rows]
        marks = ",".join("?" * len(group_ids))
        balances: dict[str, dict[str, int]] = {group_id: {} for group_id in group_ids}
        spending: dict[tuple[str, str, str], int] = {}
        if group_ids:
            for group_id, currency, amount in await self._all(
                "SELECT group_id, currency, amount FROM balances "
                f"WHERE group_id IN ({marks}) AND user_id = ? AND amount != 0 ORDER BY currency",
                (*group_ids, user_id),
            ):
                balances[group_id][currency] = amount
            for month, category, currency, amount in await self._all(
                "SELECT month, category, currency, SUM(amount) FROM spending "
                f"WHERE user_id = ? AND group_id IN ({marks}) "
                "GROUP BY month, category, currency HAVING SUM(amount) != 0 "
                "ORDER BY month, category, currency",
                (user_id, *group_ids),
            ):
                spending[(month, category, currency)] = amount
        active = sorted(
            ((row[0], row[11]) for row in rows if row[11] is not None),
            key=lambda group: (group[1], group[0]),
            reverse=True,
        )
        recent = (
            await latest_across_groups(active, recent_limit, self._latest_activity)
            if recent_limit > 0
            else []
        )
        return Dashboard(
            groups=[
                GroupStanding(
                    membership=GroupMembership(group=_group(row), role=row[9], joined_at=from_text(row[10])),
                    balances=balances[row[0]],
                )
                for row in rows
            ],
            more_groups=more_groups,
            spending=spending,
            recent=recent,
        )

    async def _latest_activity(self, group_id: str, limit: int) -> list[ActivityEntry]:
        rows = await self._all(
            f"SELECT {_ACTIVITY_COLUMNS} FROM activity WHERE group_id = ? ORDER BY at DESC, id DESC LIMIT ?",
            (group_id, limit),
        )
        return [_activity(row) for row in rows]

    # chat

    async def create_chat_message(self, message: ChatMessage) -> None:
        row = (
            message.id,
            message.group_id,
            message.author_id,
            message.text,
            to_text(message.created_at),
        )

        def work(db: Db) -> None:
            group_exists, is_member = _fetchone(
                db, _GROUP_AND_MEMBERSHIP, (message.group_id, message.group_id, message.author_id)
            )
            if not group_exists:
                raise group_not_found()
            if not is_member:
                raise author_not_a_member(message.author_id)
            try:
                db.execute(_INSERT_CHAT_MESSAGE, row)
            except sqlite3.IntegrityError as exc:
                raise chat_message_exists() from exc

        await self._write(work)

    async def list_chat_messages(
        self, group_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[ChatMessage]:
        where, params = "group_id = ?", [group_id]
        if cursor is not None:
            created_at, message_id = timed_pair("chat", cursor)
            where += " AND (created_at, id) < (?, ?)"
            params += [created_at, message_id]
        rows = await self._all(
            f"SELECT {_CHAT_COLUMNS} FROM chat_messages "
            f"WHERE {where} ORDER BY created_at DESC, id DESC LIMIT ?",
            (*params, limit + 1),
        )
        messages = [_chat_message(r) for r in rows]
        next_cursor = None
        if len(messages) > limit:
            last = messages[limit - 1]
            next_cursor = encode_cursor("chat", [to_text(last.created_at), last.id])
        return Page(items=messages[:limit], next_cursor=next_cursor)

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
            date, created_at, record_id = dated_position(decode_cursor(table, cursor))
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


# json.dumps with options builds a new encoder per call; these are built once (same output).
_json = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode
_compact_json = json.JSONEncoder(separators=(",", ":")).encode


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


_CHAT_COLUMNS = "id, group_id, author_id, text, created_at"
_INSERT_CHAT_MESSAGE = f"INSERT INTO chat_messages ({_CHAT_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
_GROUP_AND_MEMBERSHIP = (
    "SELECT EXISTS (SELECT 1 FROM groups WHERE id = ?), "
    "EXISTS (SELECT 1 FROM memberships WHERE group_id = ? AND user_id = ?)"
)


def _chat_message(row: Any) -> ChatMessage:
    return ChatMessage(
        id=row[0], group_id=row[1], author_id=row[2], text=row[3], created_at=from_text(row[4])
    )


_TOKEN_STANDING = (
    "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?), EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?)"
)
_GROUP_AS_MEMBER = (
    f"SELECT {_GROUP_COLUMNS}, m.role, m.joined_at FROM groups g "
    "JOIN memberships m ON m.group_id = g.id AND m.user_id = ? WHERE g.id = ?"
)
_MEMBER_ORDER = "m.role = 'owner' DESC, m.joined_at, m.user_id"
"""Owner first, then by join time: the order `list_members` promises."""
_GROUP_WITH_MEMBERS = (
    f"SELECT {_GROUP_COLUMNS}, m.user_id, m.role, m.joined_at FROM groups g "
    "JOIN memberships m ON m.group_id = g.id WHERE g.id = ? "
    f"ORDER BY {_MEMBER_ORDER}"
)
_BALANCES_FOR_MEMBER = (
    "SELECT b.user_id, b.currency, b.amount FROM memberships m "
    "LEFT JOIN balances b ON b.group_id = m.group_id "
    "WHERE m.group_id = ? AND m.user_id = ? ORDER BY b.user_id, b.currency"
)
_INSERT_EXPENSE = f"INSERT INTO expenses ({_EXPENSE_COLUMNS}) VALUES ({_marks(_EXPENSE_COLUMNS)})"
_UPDATE_EXPENSE = (
    "UPDATE expenses SET "
    + ", ".join(f"{c.strip()} = ?" for c in _EXPENSE_COLUMNS.split(","))
    + " WHERE id = ?"
)
_INSERT_PARTICIPANT = "INSERT INTO expense_participants (expense_id, user_id) VALUES (?, ?)"
_INSERT_SETTLEMENT = f"INSERT INTO settlements ({_SETTLEMENT_COLUMNS}) VALUES ({_marks(_SETTLEMENT_COLUMNS)})"
_INSERT_ACTIVITY = (
    "INSERT INTO activity (id, group_id, at, actor_id, action, subject_id, details) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_STAMP_GROUP = "UPDATE groups SET last_activity_at = ? WHERE id = ?"
_UPSERT_SPENDING = (
    "INSERT INTO spending (user_id, group_id, month, category, currency, amount) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, group_id, month, category, currency) "
    "DO UPDATE SET amount = amount + excluded.amount"
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
    row = _fetchone(db, f"SELECT version FROM {table} WHERE group_id = ? AND id = ?", (group_id, record_id))
    if row is None:
        raise record_not_found("expense" if table == "expenses" else "transaction")
    if row[0] != expected:
        raise PreconditionFailed(
            f"it was changed meanwhile: you sent version {expected}, it is now {row[0]}",
            details={"current_version": row[0]},
        )


def _activity_row(entry: ActivityEntry) -> tuple[Any, ...]:
    return (
        entry.id,
        entry.group_id,
        to_text(entry.at),
        entry.actor_id,
        entry.action,
        entry.subject_id,
        _compact_json(entry.details),
    )


_ACTIVITY_COLUMNS = "id, group_id, at, actor_id, action, subject_id, details"


def _activity(row: Any) -> ActivityEntry:
    return ActivityEntry(
        id=row[0],
        group_id=row[1],
        at=from_text(row[2]),
        actor_id=row[3],
        action=row[4],
        subject_id=row[5],
        details=json.loads(row[6]),
    )


def _log(db: Db, logged: tuple[Any, ...]) -> None:
    """Append an activity row (from `_activity_row`) and stamp its group's latest-activity time,
    which the dashboard uses to find the groups worth reading."""
    db.execute(_INSERT_ACTIVITY, logged)
    db.execute(_STAMP_GROUP, (logged[2], logged[1]))


class _Moves:
    """Balance and spending deltas made ready for `_move_balances`: who must be a member (everyone
    whose balance or spending moves, and `involved`), and the upserts."""

    __slots__ = ("group_id", "users", "members_sql", "upserts", "spending")

    def __init__(
        self,
        group_id: str,
        deltas: BalanceDeltas,
        spending: SpendingDeltas | None = None,
        involved: Iterable[str] = (),
    ) -> None:
        self.group_id = group_id
        self.spending = [
            (user, group_id, month, category, currency, delta)
            for (user, month, category, currency), delta in sorted((spending or {}).items())
        ]
        self.users = sorted({user for user, _ in deltas} | {row[0] for row in self.spending} | set(involved))
        self.members_sql = _members_among(len(self.users))
        self.upserts = [
            (group_id, user, currency, delta) for (user, currency), delta in sorted(deltas.items())
        ]


@functools.lru_cache(maxsize=64)
def _members_among(count: int) -> str:
    marks = ",".join("?" * count)
    return f"SELECT user_id FROM memberships WHERE group_id = ? AND user_id IN ({marks})"


def _move_balances(db: Db, moves: _Moves) -> None:
    """Apply the deltas, refusing (Conflict `not_a_member`) if any user is not a member now, and
    (NotFound) if the group is gone. Memberships exist only within an existing group, so when
    every user is a member the group needs no look-up of its own."""
    if not moves.users:
        _require_group(db, moves.group_id)
    else:
        members = {row[0] for row in db.execute(moves.members_sql, (moves.group_id, *moves.users))}
        outsiders = [user for user in moves.users if user not in members]
        if outsiders:
            _require_group(db, moves.group_id)
            raise not_a_member(outsiders)
    db.executemany(_UPSERT_BALANCE, moves.upserts)
    db.executemany(_UPSERT_SPENDING, moves.spending)


def _require_group(db: Db, group_id: str) -> None:
    if _fetchone(db, "SELECT 1 FROM groups WHERE id = ?", (group_id,)) is None:
        raise group_not_found()


def _record_reply(db: Db, reply: IdempotentReply | None) -> None:
    if reply is None:
        return
    result = db.execute(
        "UPDATE idempotency_keys SET state = 'done', status = ?, body = ? "
        "WHERE user_id = ? AND key = ? AND state = 'pending'",
        (reply.status, reply.body, reply.user_id, reply.key),
    )
    if result.rowcount == 0:
        raise in_progress()


def _require_user(db: Db, user_id: str) -> None:
    if _fetchone(db, "SELECT 1 FROM users WHERE id = ?", (user_id,)) is None:
        raise user_not_found()


# connections and threads

_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    """SQLite's "busy"/"locked" (extended codes included), as opposed to a real error."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _BUSY_CODES


def _busy_to_unavailable() -> Unavailable:
    return Unavailable(f"the database stayed locked by another process for {BUSY_TIMEOUT_MS} ms; try again")


def _transaction(db: Db, work: Callable[[Db], T]) -> T:
    """In the waiting thread: `work` as one IMMEDIATE transaction, rolled back if anything raises.
    A lock still held elsewhere after `busy_timeout` raises Unavailable."""
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            result = work(db)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    except sqlite3.OperationalError as exc:
        if _is_busy(exc):
            raise _busy_to_unavailable() from exc
        raise
    return result


def _checkpoint(db: Db) -> int:
    """Copy committed pages from the WAL into the database; never blocks readers or the writer.
    Returns how many frames the WAL holds."""
    _, frames, _ = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(frames)


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
