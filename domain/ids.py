"""Record identifiers: 32 lowercase hex digits, time-ordered.

The first 12 digits are the milliseconds since the Unix epoch and the other 20 are random (80 bits
from the operating system), like a UUIDv7 without the version bits. New records therefore land at
the right-hand edge of every B-tree index keyed by id instead of on a random page, so a write dirties
a few hot pages rather than one cold page per index; that keeps SQLite's write cost flat as history
grows. Ids stay unguessable, and reveal nothing the records' own timestamps do not.
"""
from __future__ import annotations

import os
import time


def new_id() -> str:
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"
