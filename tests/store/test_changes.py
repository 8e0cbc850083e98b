"""Store contract, the changes log (issue 14): every write to a group's records logs one change per
record, in the same atomic write, numbered in commit order; pages of it read back; and the records
a page names read back in one go. Both backends."""

from __future__ import annotations

import asyncio
import dataclasses

from domain import Change, Conflict
from store.base import Store
from tests.store.builders import activity, at, expense, group, moves, settlement, trio, user
from tests.store.test_chat import chat


def _plain(changes: list[Change]) -> list[tuple[str, str, str, int | None]]:
    return [(c.kind, c.id, c.op, c.version) for c in changes]


async def _all(store: Store, group_id: str, after: int = 0) -> list[Change]:
    changes, more = await store.list_changes(group_id, after=after, limit=1000)
    assert not more
    return changes


async def test_every_write_logs_its_changes_in_order(store: Store) -> None:
    created, a, b, c = await trio(store)
    start = await _all(store, created.id)
    assert _plain(start) == [
        ("group", created.id, "upsert", 1),
        ("member", a.id, "upsert", None),
        ("member", b.id, "upsert", None),
        ("member", c.id, "upsert", None),
    ]
    assert await store.last_change(created.id) == start[-1].seq
    mark = start[-1].seq

    dinner = expense(created.id, {a.id: 900}, {a.id: 300, b.id: 300, c.id: 300})
    await store.create_expense(dinner, deltas=moves(dinner), activity=activity(created.id, "add", dinner.id))
    edited = dataclasses.replace(dinner, description="Supper", version=2)
    await store.update_expense(
        edited, expected_version=1, deltas={}, activity=activity(created.id, "edit", dinner.id)
    )
    paid = settlement(created.id, b.id, a.id, 300)
    await store.create_settlement(paid, deltas=moves(paid), activity=activity(created.id, "pay", paid.id))
    message = chat(created.id, c.id, at(5))
    await store.create_chat_message(message)
    renamed = await store.update_group(
        created.id, expected_version=1, changes={"name": "Tour"}, updated_at=at(6)
    )
    await store.delete_settlement(
        created.id,
        paid.id,
        expected_version=1,
        deltas=moves(paid, -1),
        activity=activity(created.id, "x", paid.id),
    )
    await store.delete_expense(
        created.id,
        dinner.id,
        expected_version=2,
        deltas=moves(edited, -1),
        activity=activity(created.id, "del", dinner.id),
    )
    await store.remove_member(created.id, c.id)
    logged = await _all(store, created.id, after=mark)
    assert renamed.version == 2
    assert _plain(logged) == [
        ("expense", dinner.id, "upsert", 1),
        ("expense", dinner.id, "upsert", 2),
        ("settlement", paid.id, "upsert", 1),
        ("chat", message.id, "upsert", None),
        ("group", created.id, "upsert", 2),
        ("settlement", paid.id, "delete", 2),  # soft deletes: kept, one version on
        ("expense", dinner.id, "delete", 3),
        ("member", c.id, "delete", None),
    ]
    seqs = [change.seq for change in logged]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) and seqs[0] > mark
    assert await store.last_change(created.id) == seqs[-1]


async def test_failed_writes_log_nothing_and_groups_are_apart(store: Store) -> None:
    created, a, b, _ = await trio(store)
    other = await group(store, a, name="Other")
    before = await store.last_change(created.id)
    stranger = await user(store, "stranger-changes")
    bad = expense(created.id, {stranger.id: 100}, {stranger.id: 100})
    try:
        await store.create_expense(bad, deltas=moves(bad), activity=activity(created.id, "add", bad.id))
    except Conflict:
        pass
    else:  # pragma: no cover - the contract refuses non-members
        raise AssertionError("a non-member's expense was stored")
    assert await store.last_change(created.id) == before
    assert _plain(await _all(store, other.id)) == [
        ("group", other.id, "upsert", 1),
        ("member", a.id, "upsert", None),
    ]
    assert await store.list_changes("no-such-group", after=0, limit=10) == ([], False)
    assert await store.last_change("no-such-group") == 0


async def test_pages_and_concurrent_writes_number_every_change_once(store: Store) -> None:
    created, a, b, c = await trio(store)
    mark = await store.last_change(created.id)
    records = [expense(created.id, {a.id: 30}, {a.id: 10, b.id: 10, c.id: 10}) for _ in range(12)]
    await asyncio.gather(
        *(
            store.create_expense(r, deltas=moves(r), activity=activity(created.id, "add", r.id))
            for r in records
        )
    )
    seen: list[Change] = []
    after = mark
    while True:
        page, more = await store.list_changes(created.id, after=after, limit=5)
        seen += page
        if not more:
            break
        assert len(page) == 5
        after = page[-1].seq
    assert sorted(c.id for c in seen) == sorted(r.id for r in records)
    assert [c.seq for c in seen] == sorted({c.seq for c in seen})


async def test_read_changed_reads_what_a_page_names(store: Store) -> None:
    created, a, b, c = await trio(store)
    kept = expense(created.id, {a.id: 600}, {a.id: 200, b.id: 200, c.id: 200})
    gone = expense(created.id, {b.id: 300}, {a.id: 100, b.id: 100, c.id: 100})
    paid = settlement(created.id, b.id, a.id, 200)
    message = chat(created.id, b.id, at(3))
    for record in (kept, gone):
        await store.create_expense(
            record, deltas=moves(record), activity=activity(created.id, "add", record.id)
        )
    await store.create_settlement(paid, deltas=moves(paid), activity=activity(created.id, "pay", paid.id))
    await store.create_chat_message(message)
    changes = await _all(store, created.id)
    await store.delete_expense(
        created.id,
        gone.id,
        expected_version=1,
        deltas=moves(gone, -1),
        activity=activity(created.id, "d", gone.id),
    )
    found = await store.read_changed(created.id, changes)
    assert found.expenses[kept.id] == kept
    assert found.expenses[gone.id].deleted_at is not None  # kept while restorable; the feed skips it
    assert found.settlements == {paid.id: paid}
    assert found.chats == {message.id: message}
    elsewhere = await group(store, a, name="Elsewhere")
    assert (await store.read_changed(elsewhere.id, changes)).expenses == {}
