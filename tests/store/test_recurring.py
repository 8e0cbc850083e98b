"""Store contract, recurring expenses: rules, the due look-up, and the occurrence write that
happens exactly once however many writers race for it."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import datetime, timezone

import pytest

from domain import ActivityEntry, Conflict, Expense, NotFound, PreconditionFailed
from domain.recurring import MAX_RECURRING_PER_GROUP, RecurringRule
from store.base import Store
from tests.store.builders import T0, activity, all_activity, as_balances, expense, moves, trio


def rule(
    group_id: str, created_by: str, *, next_on: str | None = "2024-03-01", **fields: object
) -> RecurringRule:
    made = RecurringRule(
        id=uuid.uuid4().hex,
        group_id=group_id,
        expense={"description": "Rent", "amount": "30.00", "currency": "EUR"},
        every="month",
        interval=1,
        starts_on="2024-03-01",
        ends_on=None,
        count=None,
        timezone="UTC",
        paused=False,
        next_on=next_on,
        made=0,
        last_on=None,
        stopped=None,
        created_by=created_by,
        created_at=T0,
        updated_at=T0,
        version=1,
    )
    return dataclasses.replace(made, **fields)  # type: ignore[arg-type]


def advanced(current: RecurringRule, on: str, next_on: str | None) -> RecurringRule:
    return dataclasses.replace(
        current, made=current.made + 1, last_on=on, next_on=next_on, version=current.version + 1
    )


async def test_a_rule_is_stored_listed_updated_and_deleted(store: Store) -> None:
    group, a, _, _ = await trio(store)
    first, second = rule(group.id, a.id), rule(group.id, a.id, every="week")
    for made in (first, second):
        await store.create_recurring(made, activity=activity(group.id, "recurring.created", made.id, a.id))
    assert await store.get_recurring(group.id, first.id) == first
    assert sorted(await store.list_recurring(group.id), key=lambda r: r.id) == sorted(
        [first, second], key=lambda r: r.id
    )
    paused = dataclasses.replace(first, paused=True, version=2)
    await store.update_recurring(
        paused, expected_version=1, activity=activity(group.id, "recurring.updated", first.id, a.id)
    )
    assert await store.get_recurring(group.id, first.id) == paused
    with pytest.raises(PreconditionFailed) as stale:
        await store.update_recurring(
            dataclasses.replace(first, version=2),
            expected_version=1,
            activity=activity(group.id, "recurring.updated", first.id, a.id),
        )
    assert stale.value.details == {"current_version": 2}
    with pytest.raises(PreconditionFailed):
        await store.delete_recurring(
            group.id, first.id, expected_version=1, activity=activity(group.id, "x", first.id, a.id)
        )
    await store.delete_recurring(
        group.id,
        first.id,
        expected_version=2,
        activity=activity(group.id, "recurring.deleted", first.id, a.id),
    )
    with pytest.raises(NotFound):
        await store.get_recurring(group.id, first.id)
    with pytest.raises(NotFound):
        await store.delete_recurring(
            group.id, first.id, expected_version=2, activity=activity(group.id, "x", first.id, a.id)
        )
    assert [r.id for r in await store.list_recurring(group.id)] == [second.id]
    actions = [entry.action for entry in await all_activity(store, group.id)]
    assert actions.count("recurring.created") == 2 and "recurring.deleted" in actions


async def test_a_rule_of_another_group_or_of_no_group_is_not_there(store: Store) -> None:
    group, a, _, _ = await trio(store)
    other, _, _, _ = await trio(store)
    made = rule(group.id, a.id)
    await store.create_recurring(made, activity=activity(group.id, "recurring.created", made.id, a.id))
    with pytest.raises(NotFound):
        await store.get_recurring(other.id, made.id)
    with pytest.raises(NotFound):
        await store.update_recurring(
            dataclasses.replace(made, group_id=other.id, version=2),
            expected_version=1,
            activity=activity(other.id, "x", made.id, a.id),
        )
    assert await store.list_recurring(other.id) == []
    orphan = rule(uuid.uuid4().hex, a.id)
    with pytest.raises(NotFound):
        await store.create_recurring(orphan, activity=activity(orphan.group_id, "x", orphan.id, a.id))


async def test_a_group_has_at_most_its_fill_of_rules(store: Store) -> None:
    group, a, _, _ = await trio(store)
    for _ in range(MAX_RECURRING_PER_GROUP):
        made = rule(group.id, a.id)
        await store.create_recurring(made, activity=activity(group.id, "recurring.created", made.id, a.id))
    extra = rule(group.id, a.id)
    with pytest.raises(Conflict) as refused:
        await store.create_recurring(extra, activity=activity(group.id, "recurring.created", extra.id, a.id))
    assert refused.value.code == "too_many_recurring"
    gone = (await store.list_recurring(group.id))[0]
    await store.delete_recurring(
        group.id, gone.id, expected_version=1, activity=activity(group.id, "x", gone.id, a.id)
    )
    await store.create_recurring(extra, activity=activity(group.id, "recurring.created", extra.id, a.id))


async def test_due_rules_are_found_by_when_they_fall_due_and_paused_or_finished_ones_are_not(
    store: Store,
) -> None:
    group, a, _, _ = await trio(store)
    other, d, _, _ = await trio(store)
    # dates far from every other test's, so that rules other tests leave behind do not count
    early = rule(group.id, a.id, next_on="1990-01-05")
    later = rule(other.id, d.id, next_on="1990-01-09")
    tokyo = rule(other.id, d.id, next_on="1990-01-10", timezone="Asia/Tokyo")  # 1990-01-09T15:00Z
    paused = rule(group.id, a.id, next_on="1990-01-01", paused=True)
    finished = rule(group.id, a.id, next_on=None)
    for made in (early, later, tokyo, paused, finished):
        await store.create_recurring(
            made, activity=activity(made.group_id, "recurring.created", made.id, a.id)
        )

    async def due(now: str) -> list[str]:
        moment = datetime.fromisoformat(now).replace(tzinfo=timezone.utc)
        return [r.id for r in await store.due_recurring(moment, limit=50) if (r.next_on or "") < "2000"]

    async def settled(now: str, expected: list[str]) -> None:
        for _ in range(100):  # DynamoDB's GSI is eventually consistent; moto's is at once
            if await due(now) == expected:
                return
            await asyncio.sleep(0.01)
        assert await due(now) == expected

    await settled("1990-01-04T23:59:59", [])
    await settled("1990-01-05T00:00:00", [early.id])
    await settled("1990-01-09T14:59:59", [early.id, later.id])
    await settled("1990-01-09T15:00:00", [early.id, later.id, tokyo.id])
    resumed = dataclasses.replace(paused, paused=False, version=2)
    await store.update_recurring(
        resumed, expected_version=1, activity=activity(group.id, "x", paused.id, a.id)
    )
    await settled("1990-01-31T00:00:00", [paused.id, early.id, later.id, tokyo.id])
    assert tokyo.due_at == "1990-01-09T15:00:00.000000Z"


async def test_an_occurrence_is_the_expense_the_rule_advanced_and_the_balances_at_once(store: Store) -> None:
    group, a, b, _ = await trio(store)
    made = rule(group.id, a.id)
    await store.create_recurring(made, activity=activity(group.id, "recurring.created", made.id, a.id))
    rent = dataclasses.replace(
        expense(group.id, {a.id: 3000}, {a.id: 1500, b.id: 1500}, date="2024-03-01"), recurring_id=made.id
    )
    after = advanced(made, "2024-03-01", "2024-04-01")
    await store.create_occurrence(
        rent,
        after,
        expected_version=1,
        deltas=moves(rent),
        activity=activity(group.id, "expense.created", rent.id, a.id),
    )
    assert await store.get_expense(group.id, rent.id) == rent
    assert await store.get_recurring(group.id, made.id) == after
    assert await store.get_balances(group.id) == as_balances({(a.id, "EUR"): 1500, (b.id, "EUR"): -1500})
    changes, _ = await store.list_changes(group.id, after=0, limit=100)
    assert any(change.kind == "expense" and change.id == rent.id for change in changes)


async def test_an_occurrence_made_twice_is_refused_and_changes_nothing(store: Store) -> None:
    group, a, b, _ = await trio(store)
    made = rule(group.id, a.id)
    await store.create_recurring(made, activity=activity(group.id, "recurring.created", made.id, a.id))

    def occurrence() -> tuple[Expense, ActivityEntry]:
        rent = dataclasses.replace(
            expense(group.id, {a.id: 3000}, {a.id: 1500, b.id: 1500}, date="2024-03-01"), recurring_id=made.id
        )
        return rent, activity(group.id, "expense.created", rent.id, a.id)

    first, first_log = occurrence()
    await store.create_occurrence(
        first,
        advanced(made, "2024-03-01", "2024-04-01"),
        expected_version=1,
        deltas=moves(first),
        activity=first_log,
    )
    again, again_log = occurrence()
    with pytest.raises(PreconditionFailed):  # a writer that read the rule before the first one
        await store.create_occurrence(
            again,
            advanced(made, "2024-03-01", "2024-04-01"),
            expected_version=1,
            deltas=moves(again),
            activity=again_log,
        )
    current = await store.get_recurring(group.id, made.id)
    replayed = dataclasses.replace(current, next_on="2024-03-01", version=3)  # a rule wound back by an edit
    await store.update_recurring(
        replayed, expected_version=2, activity=activity(group.id, "x", made.id, a.id)
    )
    with pytest.raises(Conflict) as exists:  # the key alone still refuses the date made before
        await store.create_occurrence(
            again,
            advanced(replayed, "2024-03-01", "2024-04-01"),
            expected_version=3,
            deltas=moves(again),
            activity=again_log,
        )
    assert exists.value.code == "occurrence_exists"
    with pytest.raises(NotFound):
        await store.get_expense(group.id, again.id)
    assert await store.get_balances(group.id) == as_balances({(a.id, "EUR"): 1500, (b.id, "EUR"): -1500})


async def test_racing_writers_make_each_occurrence_once(store: Store) -> None:
    group, a, b, _ = await trio(store)
    made = rule(group.id, a.id)
    await store.create_recurring(made, activity=activity(group.id, "recurring.created", made.id, a.id))

    async def attempt() -> bool:
        rent = dataclasses.replace(
            expense(group.id, {a.id: 3000}, {a.id: 1500, b.id: 1500}, date="2024-03-01"), recurring_id=made.id
        )
        try:
            await store.create_occurrence(
                rent,
                advanced(made, "2024-03-01", "2024-04-01"),
                expected_version=1,
                deltas=moves(rent),
                activity=activity(group.id, "expense.created", rent.id, a.id),
            )
        except (PreconditionFailed, Conflict):
            return False
        return True

    outcomes = await asyncio.gather(*(attempt() for _ in range(6)))
    assert outcomes.count(True) == 1
    assert await store.get_balances(group.id) == as_balances({(a.id, "EUR"): 1500, (b.id, "EUR"): -1500})


async def test_an_occurrence_involving_someone_who_left_is_refused_naming_them(store: Store) -> None:
    group, a, b, c = await trio(store)
    made = rule(group.id, c.id)
    await store.create_recurring(made, activity=activity(group.id, "recurring.created", made.id, c.id))
    await store.remove_member(group.id, c.id, activity=activity(group.id, "member.left", c.id, c.id))
    rent = dataclasses.replace(
        expense(group.id, {a.id: 3000}, {a.id: 1500, b.id: 1500}), recurring_id=made.id, created_by=c.id
    )
    with pytest.raises(Conflict) as refused:  # its creator left: the rule is theirs
        await store.create_occurrence(
            rent,
            advanced(made, "2024-03-01", "2024-04-01"),
            expected_version=1,
            deltas=moves(rent),
            activity=activity(group.id, "expense.created", rent.id, c.id),
        )
    assert refused.value.code == "not_a_member" and refused.value.details == {"user_ids": [c.id]}
    assert await store.get_recurring(group.id, made.id) == made
    with pytest.raises(NotFound):
        await store.get_expense(group.id, rent.id)


async def test_a_deleted_groups_rules_go_with_it(store: Store) -> None:
    group, a, _, _ = await trio(store)
    made = rule(group.id, a.id, next_on="1991-02-01")
    await store.create_recurring(made, activity=activity(group.id, "recurring.created", made.id, a.id))
    await store.delete_group(group.id)
    with pytest.raises(NotFound):
        await store.get_recurring(group.id, made.id)
    assert await store.list_recurring(group.id) == []
    due = await store.due_recurring(datetime(1991, 2, 2, tzinfo=timezone.utc), limit=100)
    assert made.id not in {r.id for r in due}
