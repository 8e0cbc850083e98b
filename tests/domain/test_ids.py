"""Record ids: well-formed, unique, ordered by time, and never shared with a forked child."""

from __future__ import annotations

import os
import re
import time

from domain.ids import new_id
from tests.waiting import wait_until_sync


def test_ids_are_32_hex_digits_and_unique() -> None:
    ids = [new_id() for _ in range(20_000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_ids_sort_by_creation_time() -> None:
    earlier = new_id()
    # Ids made in the same millisecond order at random: wait for the clock to tick.
    wait_until_sync(lambda: time.time_ns() // 1_000_000 > int(earlier[:12], 16), what="the next millisecond")
    later = new_id()
    assert earlier < later
    assert abs(int(later[:12], 16) - time.time_ns() // 1_000_000) < 1_000


def test_a_forked_child_draws_other_random_bytes() -> None:
    new_id()  # the parent's pool now holds bytes a careless child would reuse
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        os.write(write_end, new_id().encode())
        os._exit(0)
    os.waitpid(child, 0)
    os.close(write_end)
    childs = os.read(read_end, 64).decode()
    os.close(read_end)
    assert childs[12:] != new_id()[12:]
