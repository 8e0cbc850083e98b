"""Store contract: an erased account joins nothing any more (a friend add racing the erasure must
not pull it into a new direct ledger), on both backends."""

from __future__ import annotations

import uuid

import pytest

from domain import NotFound
from store import NewGroup
from store.base import Store
from tests.store.builders import T0, user


async def test_an_erased_account_cannot_be_made_a_friend(store: Store) -> None:
    ann, gone = await user(store, "erased-ann"), await user(store, "erased-gone")
    await store.erase_user(gone.id, T0)

    ledger = NewGroup(
        id=uuid.uuid4().hex,
        name="Direct expenses",
        description="",
        default_currency="EUR",
        owner_id=ann.id,
        created_at=T0,
    )
    with pytest.raises(NotFound):
        await store.ensure_direct_group(ledger, gone.id)
    with pytest.raises(NotFound):
        await store.get_group(ledger.id)
