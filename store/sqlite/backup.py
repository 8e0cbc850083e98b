"""Backups of the embedded store (`expense-tracker backup`, `restore`, `check`), synchronous: the
commands run in a process of their own, beside a server that may be serving the same file.

- **Backup** copies the store with SQLite's online backup API in one step, inside one read
  transaction: in WAL mode that is a consistent snapshot (every committed write before it, none
  after) that never stops the server writing. The copy is written beside the target, checked
  (`PRAGMA integrity_check`), made a single self-contained file (journal mode DELETE), synced and
  only then renamed into place, so a file named like the target is always a whole backup.
- **Restore** copies a backup over the store, through SQLite (so its WAL and the other
  connections' view stay right). It refuses a file that is not a whole store of this schema or a
  newer one, a store a process is serving or reading (every open store holds a shared lock on
  `<store>.lock`, see `hold_store_lock`), and a store that holds any data unless forced.
- **Check** lists what `PRAGMA integrity_check` and `PRAGMA foreign_key_check` find.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from store.sqlite.schema import _MIGRATIONS

LOCK_SUFFIX = ".lock"


class BackupError(Exception):
    """A backup or restore that did not happen; the message says why, for the operator."""


@dataclass(frozen=True, slots=True)
class Copied:
    pages: int
    size: int
    seconds: float


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + LOCK_SUFFIX)


@contextlib.contextmanager
def hold_store_lock(path: Path, *, exclusive: bool = False) -> Iterator[None]:
    """Hold the store's lock file: shared while a process has the store open (the server, any
    command), exclusive for a restore, which fails at once (`BackupError`) when anyone holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path(path), "a+b") as handle:
        try:
            fcntl.flock(handle, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            if exclusive:
                raise BackupError(
                    f"{path} is in use (a server or another command has it open); stop it first"
                ) from None
            fcntl.flock(handle, fcntl.LOCK_SH)  # a restore is running: wait for it to finish
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def backup(path: Path, target: Path) -> Copied:
    """Copy the store at `path` to `target` (replaced if it exists), consistently, while it serves."""
    if not path.is_file():
        raise BackupError(f"{path}: there is no store there")
    started = time.monotonic()
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    source = _read_only(path)
    try:
        destination = sqlite3.connect(partial, isolation_level=None)
        try:
            source.backup(destination)  # one step: one read snapshot, however busy the server is
            destination.execute("PRAGMA journal_mode = DELETE")
            problems = _problems(destination)
            if problems:
                raise BackupError(f"the copy of {path} fails its integrity check: {problems[0]}")
            (pages,) = destination.execute("PRAGMA page_count").fetchone()
        finally:
            destination.close()
        _sync(partial)
        os.replace(partial, target)
        _sync(target.parent)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    return Copied(int(pages), target.stat().st_size, time.monotonic() - started)


def restore(backup_file: Path, path: Path, *, force: bool = False) -> Copied:
    """Copy `backup_file` over the store at `path` (created if missing)."""
    started = time.monotonic()
    if not backup_file.is_file():
        raise BackupError(f"{backup_file}: no such file")
    source = _read_only(backup_file)
    try:
        _check_backup(backup_file, source)
        with hold_store_lock(path, exclusive=True):
            destination = sqlite3.connect(path, isolation_level=None)
            try:
                if not force and _holds_data(destination):
                    raise BackupError(
                        f"{path} already holds data; restore --force replaces it with the backup"
                    )
                source.backup(destination)
                destination.execute("PRAGMA journal_mode = WAL")
                (pages,) = destination.execute("PRAGMA page_count").fetchone()
            finally:
                destination.close()
    finally:
        source.close()
    return Copied(int(pages), backup_file.stat().st_size, time.monotonic() - started)


def problems(path: Path) -> list[str]:
    """What SQLite's integrity and foreign key checks find in the store at `path` (none: [])."""
    db = _read_only(path)
    try:
        return _problems(db)
    finally:
        db.close()


def group_ids(path: Path) -> list[str]:
    """Every group of the store at `path`, by id (for `check`, which verifies each)."""
    db = _read_only(path)
    try:
        return [str(row[0]) for row in db.execute("SELECT id FROM groups ORDER BY id")]
    finally:
        db.close()


def _read_only(path: Path) -> sqlite3.Connection:
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        db.execute("PRAGMA busy_timeout = 10000")
        db.execute("SELECT count(*) FROM sqlite_schema").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: not an SQLite database ({exc})") from None
    return db


def _check_backup(name: Path, db: sqlite3.Connection) -> None:
    (version,) = db.execute("PRAGMA user_version").fetchone()
    if version < 1 or not db.execute("SELECT 1 FROM sqlite_schema WHERE name = 'groups'").fetchone():
        raise BackupError(f"{name}: not a backup of this server's store")
    if version > len(_MIGRATIONS):
        raise BackupError(f"{name}: made by a newer version of the server (schema {version})")
    found = _problems(db)
    if found:
        raise BackupError(f"{name}: fails its integrity check: {found[0]}")


def _holds_data(db: sqlite3.Connection) -> bool:
    if not db.execute("SELECT 1 FROM sqlite_schema WHERE name = 'users'").fetchone():
        return False
    return db.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None


def _problems(db: sqlite3.Connection) -> list[str]:
    found = [str(row[0]) for row in db.execute("PRAGMA integrity_check") if row[0] != "ok"]
    for table, rowid, parent, _ in db.execute("PRAGMA foreign_key_check"):
        found.append(f"{table} row {rowid} refers to a missing {parent} row")
    return found


def _sync(path: Path) -> None:
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
    descriptor = os.open(path, flags)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
