"""Store contract, idempotency: claims, leases and the replies stored for replays."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from domain import Conflict, IdempotentReply, Invalid, NotFound, StoredReply
from store.base import IDEMPOTENCY_LEASE, IDEMPOTENCY_RETENTION, Store
from tests.store.builders import activity, all_activity, expense, moves, trio


async def test_idempotency_claim_complete_and_replay(store: Store) -> None:
    created, a, b, _ = await trio(store)
    now = datetime.now(timezone.utc)
    assert await store.claim_idempotency_key(a.id, "k-1", "fp-1", now) is None
    with pytest.raises(Conflict) as busy:
        await store.claim_idempotency_key(a.id, "k-1", "fp-1", now + timedelta(seconds=1))
    assert busy.value.code == "idempotency_in_progress"
    # The same key is another user's own.
    assert await store.claim_idempotency_key(b.id, "k-1", "fp-other", now) is None

    spent = expense(created.id, {a.id: 1000}, {a.id: 500, b.id: 500})
    reply = IdempotentReply(user_id=a.id, key="k-1", status=201, body='{"id": "x"}')
    await store.create_expense(
        spent,
        deltas=moves(spent),
        activity=activity(created.id, "expense.created", spent.id),
        reply=reply,
    )
    later = now + timedelta(seconds=5)
    assert await store.claim_idempotency_key(a.id, "k-1", "fp-1", later) == StoredReply(
        status=201, body='{"id": "x"}'
    )
    # Releasing a completed key changes nothing.
    await store.release_idempotency_key(a.id, "k-1")
    assert await store.claim_idempotency_key(a.id, "k-1", "fp-1", later) == StoredReply(
        status=201, body='{"id": "x"}'
    )
    with pytest.raises(Invalid) as reused:
        await store.claim_idempotency_key(a.id, "k-1", "fp-2", later)
    assert reused.value.code == "idempotency_key_reused"
    # After the retention period the key is free again, even for another request.
    gone = now + IDEMPOTENCY_RETENTION + timedelta(seconds=1)
    assert await store.claim_idempotency_key(a.id, "k-1", "fp-2", gone) is None


async def test_idempotency_release_and_lease_expiry(store: Store) -> None:
    created, a, b, _ = await trio(store)
    now = datetime.now(timezone.utc)
    assert await store.claim_idempotency_key(a.id, "k", "fp", now) is None
    with pytest.raises(Invalid):
        await store.claim_idempotency_key(a.id, "k", "fp-else", now)
    await store.release_idempotency_key(a.id, "k")
    await store.release_idempotency_key(a.id, "k")
    assert await store.claim_idempotency_key(a.id, "k", "fp-else", now) is None
    with pytest.raises(Conflict):
        await store.claim_idempotency_key(a.id, "k", "fp-else", now + IDEMPOTENCY_LEASE / 2)
    # The claim's request presumably died: once its lease is over, a retry may take the key.
    after_lease = now + IDEMPOTENCY_LEASE + timedelta(seconds=1)
    assert await store.claim_idempotency_key(a.id, "k", "fp-else", after_lease) is None
    with pytest.raises(Conflict):
        await store.claim_idempotency_key(a.id, "k", "fp-else", after_lease)


async def test_a_reply_without_a_pending_claim_cancels_the_write(store: Store) -> None:
    created, a, b, _ = await trio(store)
    spent = expense(created.id, {a.id: 1000}, {b.id: 1000})
    with pytest.raises(Conflict) as refused:
        await store.create_expense(
            spent,
            deltas=moves(spent),
            activity=activity(created.id, "expense.created", spent.id),
            reply=IdempotentReply(user_id=a.id, key="never-claimed", status=201, body="{}"),
        )
    assert refused.value.code == "idempotency_in_progress"
    with pytest.raises(NotFound):
        await store.get_expense(created.id, spent.id)
    assert all(b.amount == 0 for b in await store.get_balances(created.id))
    assert await all_activity(store, created.id) == []
