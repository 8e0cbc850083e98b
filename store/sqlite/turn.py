"""Whose turn it is to write, among the processes serving one store file (`serve --workers N`).

SQLite lets one writer in at a time and makes the others poll: its busy handler sleeps 1, 2, 5, ...
up to 100 ms between tries. A worker that group-commits once per event-loop iteration holds the
write lock nearly all the time under load, and starts its next transaction microseconds after the
last, so another worker's polls almost never find the lock free: with two workers, POST expense fell
to half of one worker's throughput, with a p99 of 730 ms.

So each writer first takes its turn: an exclusive `flock` on `<store>.write`, held for exactly as
long as the SQLite write transaction. The event loop only ever tries it (never waits); the waiting
thread waits on it in the kernel, which wakes it the moment the holder lets go, rather than after a
sleep. A process that dies lets go of its turn with its file descriptors. Programs that write the
file without taking the turn (`expense-tracker restore` refuses to run beside a server; an ad-hoc
`sqlite3` shell) still meet SQLite's own lock and busy timeout, as before.
"""

from __future__ import annotations

import fcntl
import threading
from pathlib import Path
from typing import BinaryIO

TURN_SUFFIX = ".write"


class WriteTurn:
    """One process's ways to take the turn, each its own open file so that they exclude each other
    as they exclude other processes: the event loop tries it (`try_take`, never waits) or has the
    turn thread wait for it on its behalf (`wait_for_loop`, then `handed_over`), and gives it back
    when its group commit ends (`give_back`); the waiting thread waits for it for its own one-off
    transactions (`wait`, `done`)."""

    def __init__(self, path: Path) -> None:
        lock = path.with_name(path.name + TURN_SUFFIX)
        # Held for the store's lifetime.
        self._loop_file = open(lock, "a+b")  # noqa: SIM115
        self._handover_file = open(lock, "a+b")  # noqa: SIM115
        self._thread_file = open(lock, "a+b")  # noqa: SIM115
        self._loop_holds: BinaryIO | None = None

    def try_take(self) -> bool:
        """Take the turn for the event loop's group commit if nobody has it."""
        try:
            fcntl.flock(self._loop_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._loop_holds = self._loop_file
        return True

    def wait_for_loop(self) -> None:
        """In the turn thread: block until the turn is free, and take it for the event loop."""
        fcntl.flock(self._handover_file, fcntl.LOCK_EX)

    def handed_over(self) -> None:
        """On the event loop, once `wait_for_loop` has returned: the loop now holds the turn."""
        self._loop_holds = self._handover_file

    def give_back(self) -> None:
        """The event loop's transaction has ended (committed or rolled back)."""
        held, self._loop_holds = self._loop_holds, None
        if held is not None:
            fcntl.flock(held, fcntl.LOCK_UN)

    def wait(self) -> None:
        """In the waiting thread: block until the turn is free, then hold it."""
        fcntl.flock(self._thread_file, fcntl.LOCK_EX)

    def done(self) -> None:
        """In the waiting thread: its transaction has ended."""
        fcntl.flock(self._thread_file, fcntl.LOCK_UN)

    def close(self) -> None:
        for handle in (self._loop_file, self._handover_file, self._thread_file):
            handle.close()


class Claim:
    """One write handed to the waiting thread, which the caller may give up on while it still
    waits for its turn (so a turn held past the busy timeout answers 503 rather than hanging), but
    never once it has begun: a write either runs to its end or not at all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = "waiting"

    def begin(self) -> bool:
        """In the thread, holding the turn: False if the caller gave up (do nothing)."""
        with self._lock:
            if self._state == "abandoned":
                return False
            self._state = "running"
            return True

    def abandon(self) -> bool:
        """From the caller: True if the write will now never run; False if it already began."""
        with self._lock:
            if self._state == "running":
                return False
            self._state = "abandoned"
            return True
