"""The use cases on a real SQLite store, without HTTP: the clock is injected (no sleeping to make
time pass) and a recording publisher stands in for the broker, to see what is announced and when."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from domain import Gone, Group, IdempotentReply, NotFound, User
from services import Services
from services.verify import verify_group
from store import Store
from store.sqlite import SQLiteStore
from tests.realtime.frames_check import check_event

START = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class Published:
    events: list[tuple[str, str, Any]] = field(default_factory=list)

    def __call__(self, channel: str, type_: str, data: Any) -> None:
        check_event(channel, type_, data)  # as the AsyncAPI document describes it
        self.events.append((channel, type_, data))

    def types(self) -> list[str]:
        return [type_ for _, type_, _ in self.events]


class NoKey:
    def reply(
        self, status: int, payload: Any, headers: dict[str, str] | None = None
    ) -> IdempotentReply | None:
        return None


@dataclass
class World:
    store: Store
    services: Services
    clock: Clock
    published: Published
    ana: User
    bea: User


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with SQLiteStore.open(tmp_path / "store.sqlite3") as store:
        clock, published = Clock(), Published()
        services = Services.build(store, published, clock)
        ana = await store.ensure_user("ana@example.com", "Ana")
        bea = await store.ensure_user("bea@example.com", "Bea")
        yield World(store, services, clock, published, ana, bea)


async def flat(world: World) -> Group:
    group, _ = await world.services.groups.create(world.ana.id, {"name": "Flat", "default_currency": "EUR"})
    _, token = await world.services.invites.create(group, world.ana.id, lifetime_hours=24)
    await world.services.invites.accept(token, world.bea.id)
    return await world.store.get_group(group.id)


async def test_an_invite_expires_when_the_clock_says_so(world: World) -> None:
    group, _ = await world.services.groups.create(world.ana.id, {"name": "Flat"})
    invite, token = await world.services.invites.create(group, world.ana.id, lifetime_hours=24)
    assert invite.expires_at == START + timedelta(hours=24)

    world.clock.advance(timedelta(hours=23, minutes=59))
    assert (await world.services.invites.preview(token))[1].id == group.id

    world.clock.advance(timedelta(minutes=1))
    with pytest.raises(Gone):
        await world.services.invites.accept(token, world.bea.id)
    with pytest.raises(NotFound):
        await world.services.invites.preview("not-a-token")


async def test_an_expense_is_stamped_by_the_clock_and_announced_after_it_is_stored(world: World) -> None:
    group = await flat(world)
    members = [world.ana.id, world.bea.id]
    world.published.events.clear()

    written = await world.services.expenses.create(
        group, world.ana.id, members, {"description": "rent", "amount": "1000.01"}, NoKey()
    )

    expense = written.record
    assert expense.created_at == expense.updated_at == START and expense.date == "2026-12-01"
    first, second = sorted(members)  # the leftover cent goes to the smaller user id
    assert expense.owed == {first: 50001, second: 50000}
    # The group hears of it, then the other member, who owes a share, is notified.
    assert world.published.types() == ["expense.created", "notification.created"]
    assert world.published.events[1][0] == f"user:{world.bea.id}"
    channel, _, data = world.published.events[0]
    assert channel == f"group:{group.id}"
    event = json.loads(data.text)
    moves = event.pop("balance_moves")
    assert event == json.loads(written.payload_json)
    ana_gets = 100001 - expense.owed[world.ana.id]  # she paid it all
    assert {m["user_id"]: m["amount"] for m in moves} == {
        world.ana.id: f"{ana_gets / 100:.2f}",
        world.bea.id: f"{-ana_gets / 100:.2f}",
    }
    stored = await world.store.get_expense(group.id, expense.id)
    assert stored == expense


async def test_edits_and_deletes_leave_balances_that_history_agrees_with(world: World) -> None:
    group = await flat(world)
    members = [world.ana.id, world.bea.id]
    expenses = world.services.expenses
    first = await expenses.create(group, world.ana.id, members, {"description": "a", "amount": "30"}, NoKey())
    second = await expenses.create(
        group, world.bea.id, members, {"description": "b", "amount": "7.77"}, NoKey()
    )
    world.clock.advance(timedelta(days=40))
    edited = await expenses.update(
        group, world.ana.id, members, first.record.id, {"amount": "31.50", "currency": "USD"}, 1,
        check_receipt=_no_receipt,
    )  # fmt: skip
    assert edited.record.updated_at == START + timedelta(days=40) and edited.record.version == 2
    await world.services.settlements.create(
        group, world.bea.id, members, {"to_user": world.ana.id, "amount": "10", "currency": "USD"}, NoKey()
    )
    await expenses.delete(group, world.ana.id, second.record.id, expected_version=None)

    verification = await verify_group(world.store, group.id)
    assert verification.differences == {}
    assert (verification.expenses, verification.settlements) == (1, 1)
    balances = {(b.user_id, b.currency): b.amount for b in await world.store.get_balances(group.id)}
    assert balances[(world.ana.id, "USD")] == 1575 - 1000
    assert all(amount == 0 for (_, currency), amount in balances.items() if currency == "EUR")
    group_events = [t for c, t, _ in world.published.events if c.startswith("group:")]
    assert group_events[-4:] == [
        "expense.created",
        "expense.updated",
        "settlement.created",
        "expense.deleted",
    ]


async def _no_receipt(receipt_id: str | None) -> None:
    assert receipt_id is None
