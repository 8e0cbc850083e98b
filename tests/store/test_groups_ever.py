"""Store contract, `list_groups_ever`: every group a user belongs or ever belonged to, paged, on
both backends (what the personal data export reads)."""

from __future__ import annotations

import functools

import pytest

from domain import BadRequest
from store.base import Store
from tests.store.builders import at, collect, group, user


async def test_every_group_ever_joined_is_listed_once_in_pages(store: Store) -> None:
    owner, joiner, other = (
        await user(store, "ever-o"),
        await user(store, "ever-j"),
        await user(store, "ever-x"),
    )
    groups = [await group(store, owner, name=f"G{number}") for number in range(5)]
    for number, made in enumerate(groups[:4]):
        await store.add_member(made.id, joiner.id, at(number))
    await store.remove_member(groups[1].id, joiner.id)
    await store.remove_member(groups[2].id, joiner.id)
    await store.add_member(groups[2].id, joiner.id, at(9))  # back again: still listed once
    elsewhere = await group(store, other)

    listed = await collect(functools.partial(store.list_groups_ever, joiner.id), limit=2)

    assert sorted(listed) == sorted(g.id for g in groups[:4])
    assert len(listed) == len(set(listed)) == 4
    assert elsewhere.id not in await collect(functools.partial(store.list_groups_ever, owner.id), limit=10)
    assert (await store.list_groups_ever("nobody", limit=10)).items == []


async def test_a_foreign_cursor_is_refused(store: Store) -> None:
    ann = await user(store, "ever-ann")
    with pytest.raises(BadRequest):
        await store.list_groups_ever(ann.id, limit=10, cursor="bm90LW91cnM")
