"""Record identifiers: 32 lowercase hex digits, time-ordered.

The first 12 digits are the milliseconds since the Unix epoch and the other 20 are random (80 bits
from the operating system), like a UUIDv7 without the version bits. New records therefore land at
the right-hand edge of every B-tree index keyed by id instead of on a random page, so a write dirties
a few hot pages rather than one cold page per index; that keeps SQLite's write cost flat as history
grows. Ids stay unguessable, and reveal nothing the records' own timestamps do not.

The random part is read from the OS a few kilobytes at a time rather than with one `getrandom`
call per id: a busy server makes several ids per request, and the buffer is dropped in a forked
child so that no two processes hand out the same bytes.
"""

from __future__ import annotations

import os
import time

_RANDOM_BYTES = 10
_BUFFER_SIZE = 4096 * _RANDOM_BYTES


class _RandomPool:
    __slots__ = ("buffer", "offset")

    def __init__(self) -> None:
        self.buffer = b""
        self.offset = 0

    def take(self) -> bytes:
        if self.offset + _RANDOM_BYTES > len(self.buffer):
            self.buffer, self.offset = os.urandom(_BUFFER_SIZE), 0
        chunk = self.buffer[self.offset : self.offset + _RANDOM_BYTES]
        self.offset += _RANDOM_BYTES
        return chunk

    def forget(self) -> None:
        self.buffer, self.offset = b"", 0


_pool = _RandomPool()
os.register_at_fork(after_in_child=_pool.forget)


def new_id() -> str:
    return f"{time.time_ns() // 1_000_000:012x}{_pool.take().hex()}"
