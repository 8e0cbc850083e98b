"""The embedded store's engine: its connections, the thread that may wait, group commit, read
snapshots, WAL checkpoints and what happens when SQLite answers "busy".

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
writes. A group commit first takes the process's write turn (`store.sqlite.turn`). When another
worker has it, the call is queued, and a thread waits for the turn in the kernel; the moment it
comes free, every queued call runs in one group commit on the event loop (a call still queued after
`BUSY_TIMEOUT_MS` is withdrawn, never having run, and answers 503). When SQLite's lock is held by a
program that takes no turns, the call runs as its own transaction in the waiting thread, where
`busy_timeout` makes it queue rather than fail. Writes whose size the caller does not bound
(deleting a group with its whole history) always go there, so as not to hold the event loop.

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
import logging
import sqlite3
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Self, TypeVar

from domain import Unavailable
from domain.metrics import STORE_SECONDS
from store.sqlite.backup import hold_store_lock
from store.sqlite.schema import _connect, _migrate
from store.sqlite.turn import Claim, WriteTurn

T = TypeVar("T")
log = logging.getLogger("store.sqlite")  # named for the package: the backend has one logger

BUSY_TIMEOUT_MS = 10_000
"""How long a writer (or a read that found the file busy) waits for another process's lock."""
WAL_RESET_FRAMES = 4096
"""WAL size (in pages) beyond which writes pause for a checkpoint so that the WAL can start over."""
CHECKPOINT_EVERY = 100
"""Writes between background WAL checkpoints (an expense write adds ~10 pages to the WAL, so this is
about SQLite's own default of 1000 pages)."""

Db = sqlite3.Connection
_WRITE_SECONDS = STORE_SECONDS.labels("sqlite", "write")


class _Busy(Exception):
    """The event loop's connection met another writer's lock: take the write to the waiting thread."""


class _Engine:
    """What every contract method runs on: `_write` for a change, `_all`/`_one` for a read. The
    per-concern method classes of `SQLiteStore` derive from this; it knows no table."""

    def __init__(self, db: Db, w: Db, waiter: Db, waiter_thread: ThreadPoolExecutor, turn: WriteTurn) -> None:
        self._db = db
        self._turn = turn
        self._reading = False
        self._w = w
        self._batch: list[tuple[asyncio.Future[Any], object]] | None = None
        self._pending: deque[tuple[Callable[[Db], Any], asyncio.Future[Any]]] = deque()
        self._asking: asyncio.Future[None] | None = None
        self._turn_thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-turn")
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
    async def open(cls, path: Path) -> AsyncIterator[Self]:
        """The store on the file at `path` (created, and migrated to the current schema, if need
        be), until the context ends; then whatever is pending commits and the connections close."""
        # Held while open, so that `expense-tracker restore` cannot replace the file under it.
        with hold_store_lock(path):
            async with cls._opened(path) as store:
                yield store

    @classmethod
    @asynccontextmanager
    async def _opened(cls, path: Path) -> AsyncIterator[Self]:
        loop = asyncio.get_running_loop()
        thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-wait")
        opened: list[Db | WriteTurn] = []
        store: Self | None = None
        try:
            waiter = await loop.run_in_executor(thread, _connect, path, BUSY_TIMEOUT_MS, BUSY_TIMEOUT_MS)
            opened.append(waiter)
            await loop.run_in_executor(thread, _migrate, waiter)
            # The event loop's connections: opened after the migrations, so they never meet a
            # schema mid-change, and off the loop (opening may wait for a lock); no busy timeout.
            db = await loop.run_in_executor(thread, _connect, path, 0, BUSY_TIMEOUT_MS)
            opened.append(db)
            w = await loop.run_in_executor(thread, _connect, path, 0, BUSY_TIMEOUT_MS)
            opened.append(w)
            # Its commits never checkpoint (that fsyncs); the waiting thread does, in the background.
            w.execute("PRAGMA wal_autocheckpoint = 0")
            turn = WriteTurn(path)
            opened.append(turn)
            store = cls(db, w, waiter, thread, turn)
            try:
                yield store
            finally:
                if store._batch is not None:
                    store._commit()
                store._end_snapshot()
        finally:
            # Closed in the thread, after whatever was queued there; the last close checkpoints.
            for resource in reversed(opened):
                await loop.run_in_executor(thread, resource.close)
            thread.shutdown(wait=False)
            if store is not None:
                store._turn_thread.shutdown(wait=False)

    async def _write(self, work: Callable[[Db], T], *, inline: bool = True) -> T:
        """Run `work` atomically: in the current group commit on the event loop's thread, or, when
        the write lock is held elsewhere, writes are already waiting, or `inline` is False, as its
        own transaction in the waiting thread."""
        started = time.perf_counter()
        try:
            return await self._write_now(work, inline=inline)
        finally:
            _WRITE_SECONDS.observe(time.perf_counter() - started)

    async def _write_now(self, work: Callable[[Db], T], *, inline: bool) -> T:
        if not self._writable.is_set():
            await self._writable.wait()
        if inline and not self._queued:
            try:
                if self._batch is not None or (not self._pending and self._turn.try_take()):
                    return await self._batched(work)
                return await self._after_turn(work)
            except _Busy:
                pass
        return await self._in_thread(work)

    async def _batched(self, work: Callable[[Db], T]) -> T:
        """`work` in a savepoint of the open group commit (begun if none is open: the caller holds
        the turn); returns once that has committed. Raises _Busy, having changed nothing, if SQLite's
        write lock is held by a program that does not take turns."""
        if self._batch is None:
            self._begin()
        result = self._in_savepoint(work)
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._join(done, None)
        await done
        return result

    def _begin(self) -> None:
        """Open the group commit, holding the turn (given back if SQLite's lock is elsewhere)."""
        try:
            self._w.execute("BEGIN IMMEDIATE")
        except BaseException as exc:
            self._turn.give_back()
            if isinstance(exc, sqlite3.OperationalError) and _is_busy(exc):
                raise _Busy() from exc
            raise
        self._batch = []
        asyncio.get_running_loop().call_soon(self._commit)

    def _in_savepoint(self, work: Callable[[Db], T]) -> T:
        """`work` in a savepoint of the open group commit, undone alone if it raises."""
        db = self._w
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
        return result

    def _join(self, done: asyncio.Future[Any], value: object) -> None:
        """`done` gets `value` when the open group commit commits, or its error if it fails."""
        assert self._batch is not None
        self._batch.append((done, value))

    async def _after_turn(self, work: Callable[[Db], T]) -> T:
        """Another process has the turn: queue `work` for the group commit that begins as soon as
        the turn-waiting thread gets it (`_turn_arrived`). A write still queued after
        `BUSY_TIMEOUT_MS` is withdrawn, never having run, and answers 503."""
        loop = asyncio.get_running_loop()
        entry: tuple[Callable[[Db], Any], asyncio.Future[Any]] = (work, loop.create_future())
        self._pending.append(entry)
        if self._asking is None:
            self._asking = loop.run_in_executor(self._turn_thread, self._turn.wait_for_loop)
            self._asking.add_done_callback(self._turn_arrived)
        try:
            result: T = await asyncio.wait_for(asyncio.shield(entry[1]), BUSY_TIMEOUT_MS / 1000)
        except TimeoutError:
            if entry in self._pending:
                self._pending.remove(entry)
                raise _busy_to_unavailable() from None
            result = await entry[1]  # it ran and is committing: its outcome is the answer
        return result

    def _turn_arrived(self, asked: asyncio.Future[None]) -> None:
        """The thread holds the turn for the event loop: run every queued write in one group
        commit (or give the turn straight back if nobody waits any more)."""
        self._asking = None
        if asked.cancelled() or asked.exception() is not None:
            for _, done in self._pending:
                done.set_exception(_Busy())
            self._pending.clear()
            return
        self._turn.handed_over()
        pending, self._pending = self._pending, deque()
        if not pending:
            self._turn.give_back()
            return
        try:
            if self._batch is None:
                self._begin()
        except BaseException as exc:
            for _, done in pending:
                done.set_exception(exc)
            return
        for work, done in pending:
            if self._batch is None:  # lost to an earlier write's error (`_fail_batch`)
                done.set_exception(Unavailable("the write could not be committed; try again"))
                continue
            try:
                self._join(done, self._in_savepoint(work))
            except BaseException as exc:
                done.set_exception(exc)

    async def _in_thread(self, work: Callable[[Db], T]) -> T:
        """`work` as its own transaction in the waiting thread, once it has the turn, where
        `busy_timeout` lets it wait for programs that do not take turns."""
        self._queued += 1
        claim = Claim()
        done = asyncio.get_running_loop().run_in_executor(
            self._waiter_thread, _in_turn, self._turn, claim, self._waiter, work
        )
        try:
            return await asyncio.wait_for(asyncio.shield(done), BUSY_TIMEOUT_MS / 1000)
        except TimeoutError:
            if not claim.abandon():
                return await done  # it began just now, and holds the lock: let it finish
            done.add_done_callback(_forget)
            raise _busy_to_unavailable() from None
        finally:
            self._queued -= 1

    def _fail_batch(self, exc: BaseException) -> None:
        """The open group commit is lost: every call waiting on it fails."""
        batch, self._batch = self._batch, None
        self._turn.give_back()
        for done, _ in batch or ():
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
        self._turn.give_back()
        self._end_snapshot()  # so that whoever reads next sees what was just committed
        for done, value in batch:
            if not done.done():
                done.set_result(value)
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
        """Let writes go on again, and remember how large the WAL is now."""
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
        """End the open read snapshot, if any, so the next read sees the latest commits."""
        if self._reading:
            self._reading = False
            if self._db.in_transaction:
                self._db.execute("COMMIT")

    async def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """Every row of a read: in this iteration's snapshot, or in the waiting thread if busy."""
        rows = self._snapshot_read(sql, params)
        if rows is not None:
            return rows
        return await asyncio.get_running_loop().run_in_executor(
            self._waiter_thread, _slow_read, self._waiter, sql, params
        )

    async def _one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        """The first row of a read, or None."""
        rows = await self._all(sql, params)
        return rows[0] if rows else None


def _fetchone(db: Db, sql: str, params: tuple[Any, ...] = ()) -> Any:
    """The first row; the statement is stepped to completion so it leaves nothing open."""
    rows = db.execute(sql, params).fetchall()
    return rows[0] if rows else None


_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    """SQLite's "busy"/"locked" (extended codes included), as opposed to a real error."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _BUSY_CODES


def _busy_to_unavailable() -> Unavailable:
    """What a caller hears when another process held the lock past `BUSY_TIMEOUT_MS`."""
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


def _in_turn(turn: WriteTurn, claim: Claim, db: Db, work: Callable[[Db], T]) -> T:
    """In the waiting thread: wait for the write turn (`store.sqlite.turn`), then `work` as one
    transaction, unless its caller gave up waiting meanwhile."""
    turn.wait()
    try:
        if not claim.begin():
            raise _Abandoned()
        return _transaction(db, work)
    finally:
        turn.done()


class _Abandoned(Exception):
    """A write whose caller stopped waiting for its turn: it never ran."""


def _forget(done: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned write's outcome, so asyncio does not log it as never retrieved."""
    if not done.cancelled():
        done.exception()


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
