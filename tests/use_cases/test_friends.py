"""Friends without HTTP: the ledger id, what is announced (once, however often a friend is added),
and the pairwise rule that nets a group's settle-up plan between two people."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from domain import Balance
from domain.clock import to_text
from domain.models import GroupBalances
from services import Services
from services.friends import direct_group_id, pairwise_nets
from store.sqlite import SQLiteStore
from tests.use_cases.test_use_cases import START, Clock, Published


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[Services, Published, str]]:
    async with SQLiteStore.open(tmp_path / "store.sqlite3") as store:
        published = Published()
        services = Services.build(store, published, Clock())
        ana = await store.ensure_user("ana@example.com", "Ana")
        yield services, published, ana.id


def test_the_ledger_id_is_the_pairs_whoever_asks() -> None:
    assert direct_group_id("u1", "u2") == direct_group_id("u2", "u1")
    assert direct_group_id("u1", "u2") != direct_group_id("u1", "u3")
    assert len(direct_group_id("u1", "u2")) == 32


async def test_a_friend_is_announced_once(world: tuple[Services, Published, str]) -> None:
    services, published, ana = world

    added = await services.friends.add(ana, "Bea@Example.com")
    again = await services.friends.add(ana, "bea@example.com")

    assert added.created and not again.created and again.group_id == added.group_id
    assert added.group_id == direct_group_id(ana, added.user_id)
    assert published.types() == [
        "friend.added",
        "group.joined",
        "friend.added",
        "group.joined",
        "notification.created",  # for the friend Ana added
    ]
    assert {channel for channel, _, _ in published.events} == {f"user:{ana}", f"user:{added.user_id}"}
    joined = published.events[1][2]
    assert (joined["kind"], joined["created_at"]) == ("direct", to_text(START))


def test_a_groups_plan_decides_what_two_people_owe_each_other() -> None:
    # a is owed 60; b owes 50 and c owes 10. The plan: b pays a 50, c pays a 10. Nothing passes
    # between b and c, though both are in debt.
    group = GroupBalances(
        group_id="g",
        kind="group",
        balances=[Balance("a", "EUR", 60), Balance("b", "EUR", -50), Balance("c", "EUR", -10)],
    )
    direct = GroupBalances(
        group_id="d", kind="direct", balances=[Balance("a", "EUR", -15), Balance("b", "EUR", 15)]
    )

    assert pairwise_nets("a", [group]) == {"b": {"EUR": 50}, "c": {"EUR": 10}}
    assert pairwise_nets("b", [group]) == {"a": {"EUR": -50}}
    assert pairwise_nets("c", [group]) == {"a": {"EUR": -10}}
    assert pairwise_nets("a", [group, direct]) == {"b": {"EUR": 35}, "c": {"EUR": 10}}
    assert pairwise_nets("b", [group, direct]) == {"a": {"EUR": -35}}
