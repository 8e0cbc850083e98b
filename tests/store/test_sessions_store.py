"""The session part of the store contract (issue 13), on SQLite and on DynamoDB (moto)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from domain import NotFound
from store.base import MAX_LIVE_SESSIONS, Rotation, Session, Store, TokenStanding

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
GRACE = timedelta(seconds=10)


def _session(user_id: str, session_id: str = "s1", at: datetime = NOW) -> Session:
    return Session(
        id=session_id,
        user_id=user_id,
        created_at=at,
        last_used_at=at,
        user_agent="TestAgent/1.0",
        generation=0,
        expires_at=at + timedelta(days=60),
    )


async def _rotate(store: Store, old: str, new: str, at: datetime, session_id: str = "s1") -> Rotation:
    result = await store.rotate_refresh(
        session_id, old, new, now=at, expires_at=at + timedelta(days=60), grace=GRACE
    )
    return result.outcome


async def test_rotation_grace_and_reuse(store: Store) -> None:
    user = await store.ensure_user("sessions@example.org", "S")
    await store.create_session(_session(user.id), "h0", NOW)
    result = await store.rotate_refresh(
        "s1", "h0", "h1", now=NOW, expires_at=NOW + timedelta(days=61), grace=GRACE
    )
    assert result.outcome is Rotation.ROTATED
    assert result.session is not None and result.session.generation == 1
    assert result.session.expires_at == NOW + timedelta(days=61), "sliding"
    assert await _rotate(store, "h0", "x", NOW + timedelta(seconds=5)) is Rotation.GRACE_REPLAY
    assert await _rotate(store, "h1", "h2", NOW + timedelta(seconds=6)) is Rotation.ROTATED
    assert await store.token_standing(user.id, "s1.a", "s1") is TokenStanding.ACTIVE
    # h1 was replaced 30 s ago: outside the grace window, so a stolen copy; the family ends.
    assert await _rotate(store, "h1", "x", NOW + timedelta(seconds=36)) is Rotation.REUSED
    assert await store.token_standing(user.id, "s1.a", "s1") is TokenStanding.REVOKED
    assert await _rotate(store, "h2", "h3", NOW + timedelta(seconds=37)) is Rotation.UNKNOWN
    assert await store.list_sessions(user.id, NOW) == []


async def test_concurrent_rotations_one_wins(store: Store) -> None:
    user = await store.ensure_user("race@example.org", "R")
    await store.create_session(_session(user.id), "h0", NOW)
    outcomes = await asyncio.gather(*(_rotate(store, "h0", f"n{i}", NOW) for i in range(4)))
    assert sorted(o.value for o in outcomes) == ["grace_replay"] * 3 + ["rotated"]


async def test_expired_and_unknown_sessions(store: Store) -> None:
    user = await store.ensure_user("expired@example.org", "E")
    await store.create_session(_session(user.id), "h0", NOW)
    assert await _rotate(store, "h0", "h1", NOW + timedelta(days=60)) is Rotation.UNKNOWN
    assert await _rotate(store, "h0", "h1", NOW, session_id="nope") is Rotation.UNKNOWN
    assert await store.token_standing(user.id, "nope.a", "nope") is TokenStanding.REVOKED


async def test_list_revoke_and_standing(store: Store) -> None:
    alice = await store.ensure_user("alice-s@example.org", "A")
    bob = await store.ensure_user("bob-s@example.org", "B")
    for index in range(3):
        await store.create_session(
            _session(alice.id, f"a{index}", NOW + timedelta(minutes=index)), f"ha{index}", NOW
        )
    await store.create_session(_session(bob.id, "b0"), "hb0", NOW)
    listed = await store.list_sessions(alice.id, NOW)
    assert [s.id for s in listed] == ["a2", "a1", "a0"]
    assert listed[0].user_agent == "TestAgent/1.0"
    assert await store.token_standing(bob.id, "a0.x", "a0") is TokenStanding.REVOKED, "not bob's session"
    with pytest.raises(NotFound):
        await store.revoke_session(bob.id, "a0", NOW)
    await store.revoke_session(alice.id, "a0", NOW)
    with pytest.raises(NotFound):
        await store.revoke_session(alice.id, "a0", NOW)
    assert await store.token_standing(alice.id, "a0.x", "a0") is TokenStanding.REVOKED
    assert await store.token_standing(alice.id, "a1.x", "a1") is TokenStanding.ACTIVE
    assert sorted(await store.revoke_sessions(alice.id, NOW)) == ["a1", "a2"]
    assert await store.list_sessions(alice.id, NOW) == []
    assert [s.id for s in await store.list_sessions(bob.id, NOW)] == ["b0"]


async def test_live_sessions_are_capped(store: Store) -> None:
    user = await store.ensure_user("many@example.org", "M")
    base = _session(user.id)
    for index in range(MAX_LIVE_SESSIONS + 2):
        at = NOW + timedelta(seconds=index)
        await store.create_session(
            replace(base, id=f"m{index:03}", created_at=at, last_used_at=at), f"h{index}", at
        )
    listed = await store.list_sessions(user.id, NOW + timedelta(minutes=5))
    assert len(listed) == MAX_LIVE_SESSIONS
    assert {s.id for s in listed} == {f"m{i:03}" for i in range(2, MAX_LIVE_SESSIONS + 2)}, "oldest evicted"
    assert await store.token_standing(user.id, "m000.x", "m000") is TokenStanding.REVOKED
