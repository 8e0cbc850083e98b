"""Two processes writing one embedded store (`serve --workers N`) take turns (`store.sqlite.turn`):
the writes of the one that waits are group-committed as soon as the turn comes free, a turn held
past the busy timeout answers 503 with nothing written, and a write given up on never runs later.

Two stores opened on one file in one process stand for two workers: each store's turn is its own
open files, which exclude each other exactly as two processes' do."""

from __future__ import annotations

import asyncio
import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import store.sqlite.engine as engine
from domain import Unavailable
from store.sqlite import SQLiteStore
from store.sqlite.turn import TURN_SUFFIX
from tests.waiting import wait_until

WRITES = 150


@contextmanager
def turn_held_by_another_process(path: Path) -> Iterator[None]:
    with open(path.with_name(path.name + TURN_SUFFIX), "a+b") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        yield


async def test_two_writers_on_one_file_both_progress_and_lose_nothing(
    sqlite_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handovers = 0
    arrived = engine._Engine._turn_arrived

    def counting(self: Any, asked: asyncio.Future[None]) -> None:
        nonlocal handovers
        handovers += 1
        arrived(self, asked)

    monkeypatch.setattr(engine._Engine, "_turn_arrived", counting)
    async with SQLiteStore.open(sqlite_path) as one, SQLiteStore.open(sqlite_path) as other:
        made: list[str] = []

        async def writer(store: SQLiteStore, who: str) -> None:
            for number in range(WRITES // 5):
                made.append((await store.ensure_user(f"{who}{number}@example.com", who)).id)

        # Five writers a store, one write after another, so the turn changes hands many times.
        await asyncio.gather(
            *(writer(store, f"{who}{n}-") for n in range(5) for store, who in ((one, "a"), (other, "b")))
        )
        found = await one.get_users(made)
    assert sorted(user.email for user in found.values()) == sorted(
        f"{who}{n}-{number}@example.com" for number in range(WRITES // 5) for n in range(5) for who in "ab"
    )
    # The stores met each other's turn again and again, and had their queued writes committed
    # each time it came.
    assert handovers >= 10, handovers


async def test_a_write_waits_for_the_turn_and_lands_when_it_comes_free(sqlite_path: Path) -> None:
    async with SQLiteStore.open(sqlite_path) as store:
        with turn_held_by_another_process(sqlite_path):
            pending = asyncio.ensure_future(store.ensure_user("late@example.com", "Late"))
            await wait_until(lambda: len(store._pending) == 1, what="the write queued for its turn")
            assert not pending.done()
        user = await pending
        assert (await store.get_user(user.id)).email == "late@example.com"


async def test_a_turn_held_too_long_is_a_503_and_the_write_never_happens(
    sqlite_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "BUSY_TIMEOUT_MS", 200)
    async with SQLiteStore.open(sqlite_path) as store:
        with turn_held_by_another_process(sqlite_path):
            with pytest.raises(Unavailable, match="locked"):
                await store.ensure_user("gave-up@example.com", "Gave Up")
            assert not store._pending
        # The turn comes back; a later write goes through, and the one given up on is not there.
        later = await store.ensure_user("later@example.com", "Later")
        emails = {user.email for user in (await store.get_users([later.id])).values()}
        assert emails == {"later@example.com"}
        assert await store.find_user_by_email("gave-up@example.com") is None
