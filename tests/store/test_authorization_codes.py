"""The authorization-code part of the store contract (issue 13 part 3), on SQLite and DynamoDB."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from store.base import AUTHORIZATION_CODE_RETENTION, AuthorizationCode, Redemption, Store
from store.sqlite import SQLiteStore

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
LIFE = timedelta(seconds=60)


def _code(user_id: str, at: datetime = NOW) -> AuthorizationCode:
    return AuthorizationCode(
        user_id=user_id,
        redirect_uri="http://127.0.0.1:51234/oauth",
        code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        expires_at=at + LIFE,
    )


async def test_a_code_is_redeemed_once_then_reused(store: Store) -> None:
    user = await store.ensure_user("codes@example.org", "C")
    await store.create_authorization_code("hash-1", _code(user.id), NOW)

    first = await store.redeem_authorization_code("hash-1", NOW + timedelta(seconds=5), "session-a")
    assert first.outcome is Redemption.REDEEMED
    assert first.code == _code(user.id), "the record as it was stored"

    again = await store.redeem_authorization_code("hash-1", NOW + timedelta(seconds=6), "session-b")
    assert again.outcome is Redemption.REUSED
    assert again.code is not None and again.code.session_id == "session-a", "the first redemption's"
    assert again.code.user_id == user.id

    # Still recognised as reuse after it expired (it is kept a while for that).
    late = await store.redeem_authorization_code("hash-1", NOW + timedelta(minutes=30), "session-c")
    assert late.outcome is Redemption.REUSED and late.code is not None
    assert late.code.session_id == "session-a"


async def test_unknown_and_expired_codes(store: Store) -> None:
    user = await store.ensure_user("expired-codes@example.org", "E")
    await store.create_authorization_code("hash-2", _code(user.id), NOW)

    assert (await store.redeem_authorization_code("nope", NOW, "s")).outcome is Redemption.UNKNOWN
    expired = await store.redeem_authorization_code("hash-2", NOW + LIFE, "s")
    assert expired.outcome is Redemption.UNKNOWN and expired.code is None
    # An expired code was not burned into a redemption either.
    assert (await store.redeem_authorization_code("hash-2", NOW + LIFE, "t")).outcome is Redemption.UNKNOWN


async def test_concurrent_redemptions_one_wins(store: Store) -> None:
    user = await store.ensure_user("race-codes@example.org", "R")
    await store.create_authorization_code("hash-3", _code(user.id), NOW)

    results = await asyncio.gather(
        *(store.redeem_authorization_code("hash-3", NOW, f"s{i}") for i in range(4))
    )

    outcomes = sorted(result.outcome.value for result in results)
    assert outcomes == ["redeemed"] + ["reused"] * 3
    winner = next(i for i, result in enumerate(results) if result.outcome is Redemption.REDEEMED)
    assert all(
        r.code is not None and r.code.session_id == f"s{winner}" for r in results if r is not results[winner]
    )


async def test_long_expired_codes_are_purged_as_new_ones_arrive(store: Store) -> None:
    user = await store.ensure_user("purge-codes@example.org", "P")
    await store.create_authorization_code("old", _code(user.id), NOW)
    assert (await store.redeem_authorization_code("old", NOW, "s-old")).outcome is Redemption.REDEEMED

    later = NOW + LIFE + AUTHORIZATION_CODE_RETENTION + timedelta(seconds=1)
    await store.create_authorization_code("new", _code(user.id, later), later)

    outcome = (await store.redeem_authorization_code("old", later, "s")).outcome
    # SQLite purges at once; DynamoDB leaves it to TTL, which may lag: either way never REDEEMED.
    expected = Redemption.UNKNOWN if isinstance(store, SQLiteStore) else Redemption.REUSED
    assert outcome is expected
    assert (await store.redeem_authorization_code("new", later, "s-new")).outcome is Redemption.REDEEMED
