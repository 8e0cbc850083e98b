"""The `Store` contract, run against every backend: SQLite on a temp file, DynamoDB on moto."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aioboto3
import pytest

from domain import (
    ActivityEntry,
    BadRequest,
    Balance,
    ChatMessage,
    Conflict,
    Dashboard,
    Expense,
    ExpenseFilter,
    Group,
    IdempotentReply,
    Invalid,
    NotFound,
    PreconditionFailed,
    Settlement,
    StoredReply,
    Unavailable,
    User,
)
from domain.models import MAX_CHAT_MESSAGE_LENGTH, MAX_GROUP_MEMBERS, Invite, Page
from ledger import negate
from ledger.moves import balance_moves, net_of, spending_moves
from store.base import (
    IDEMPOTENCY_LEASE,
    IDEMPOTENCY_RETENTION,
    BalanceDeltas,
    NewGroup,
    SpendingDeltas,
    Store,
    TokenStanding,
)
from store.cursor import encode_cursor
from store.dynamodb import DynamoDBSettings, DynamoDBStore, create_tables
from store.sqlite import SQLiteStore
from tests.conftest import make_dynamodb_settings

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture(params=["sqlite", "dynamodb"])
def backend(request: pytest.FixtureRequest) -> Path | DynamoDBSettings:
    target: Path | DynamoDBSettings = request.getfixturevalue(
        "sqlite_path" if request.param == "sqlite" else "dynamodb_settings"
    )
    return target


@pytest.fixture
async def store(backend: Path | DynamoDBSettings) -> AsyncIterator[Store]:
    if isinstance(backend, Path):
        async with SQLiteStore.open(backend) as sqlite_store:
            yield sqlite_store
    else:
        async with DynamoDBStore.open(backend) as dynamodb_store:
            yield dynamodb_store


async def user(store: Store, name: str) -> User:
    return await store.ensure_user(f"{name}@example.com", name.title())


async def users(store: Store, count: int, prefix: str = "u") -> list[User]:
    return list(await asyncio.gather(*(user(store, f"{prefix}{i}") for i in range(count))))


async def group(store: Store, owner: User, created_at: datetime = T0, name: str = "Trip") -> Group:
    return await store.create_group(
        NewGroup(
            id=uuid.uuid4().hex,
            name=name,
            description="",
            default_currency="EUR",
            owner_id=owner.id,
            created_at=created_at,
        )
    )


async def fill(store: Store, group_id: str, count: int, prefix: str) -> None:
    for i, member in enumerate(await users(store, count, prefix)):
        await store.add_member(group_id, member.id, at(i + 1))


async def test_ping(store: Store) -> None:
    await store.ping()


# users


async def test_ensure_user_is_idempotent_and_normalises_email(store: Store) -> None:
    first = await store.ensure_user("  Ann@Example.COM ", "Ann", "https://pic/ann")
    again = await store.ensure_user("ann@example.com", "Someone Else")
    assert first.email == "ann@example.com"
    assert (first.name, first.picture) == ("Ann", "https://pic/ann")
    assert again == first
    assert await store.get_user(first.id) == first
    assert await store.find_user_by_email("ANN@example.com ") == first
    assert await store.find_user_by_email("bob@example.com") is None
    bob = await store.ensure_user("bob@example.com", "Bob")
    assert bob.id != first.id and bob.picture is None


async def test_concurrent_ensure_user_creates_one_user(store: Store) -> None:
    created = await asyncio.gather(*(store.ensure_user("race@example.com", "Race") for _ in range(8)))
    assert len({u.id for u in created}) == 1
    assert await store.find_user_by_email("race@example.com") == created[0]


async def test_get_user_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.get_user(uuid.uuid4().hex)


async def test_token_revocation(store: Store) -> None:
    holder = await user(store, "holder")
    expires = datetime.now(timezone.utc) + timedelta(hours=1)
    assert await store.token_standing(holder.id, "jti-1") is TokenStanding.ACTIVE
    await store.revoke_token("jti-1", expires)
    await store.revoke_token("jti-1", expires)
    assert await store.token_standing(holder.id, "jti-1") is TokenStanding.REVOKED
    assert await store.token_standing(holder.id, "jti-2") is TokenStanding.ACTIVE


async def test_token_of_an_unknown_user(store: Store) -> None:
    assert await store.token_standing("no-such-user", "jti-3") is TokenStanding.UNKNOWN_USER


async def test_unknown_users_cannot_own_or_join_groups(store: Store) -> None:
    ghost = User(id="no-such-user", email="ghost@example.com", name="Ghost", picture=None, created_at=T0)
    with pytest.raises(NotFound):
        await group(store, ghost)
    real = await group(store, await user(store, "real-owner"))
    with pytest.raises(NotFound):
        await store.add_member(real.id, ghost.id, at(1))
    assert (await store.get_group(real.id)).member_count == 1


# groups


async def test_create_and_get_group(store: Store) -> None:
    owner = await user(store, "owner")
    created = await store.create_group(
        NewGroup(
            id="g-1",
            name="Flat",
            description="rent & bills",
            default_currency="GBP",
            owner_id=owner.id,
            created_at=T0,
        )
    )
    assert created == Group(
        id="g-1",
        name="Flat",
        description="rent & bills",
        default_currency="GBP",
        owner_id=owner.id,
        member_count=1,
        version=1,
        created_at=T0,
        updated_at=T0,
    )
    assert await store.get_group("g-1") == created
    found, member = await store.get_group_as_member("g-1", owner.id)
    assert found == created
    assert (member.user_id, member.role, member.joined_at) == (owner.id, "owner", T0)


async def test_get_group_as_member_requires_group_and_membership(store: Store) -> None:
    owner, outsider = await user(store, "owner"), await user(store, "outsider")
    created = await group(store, owner)
    with pytest.raises(NotFound):
        await store.get_group_as_member(created.id, outsider.id)
    with pytest.raises(NotFound):
        await store.get_group_as_member("no-such-group", owner.id)
    with pytest.raises(NotFound):
        await store.get_group("no-such-group")


async def test_get_group_with_member_ids_reads_the_roster_in_member_order(store: Store) -> None:
    owner, early, late, outsider = [
        await user(store, name) for name in ("owner", "early", "late", "outsider")
    ]
    created = await group(store, owner)
    await store.add_member(created.id, late.id, at(20))
    await store.add_member(created.id, early.id, at(10))
    found, me, member_ids = await store.get_group_with_member_ids(created.id, late.id)
    assert found == await store.get_group(created.id)
    assert (me.user_id, me.role, me.joined_at) == (late.id, "member", at(20))
    assert member_ids == [owner.id, early.id, late.id]
    assert member_ids == [m.user_id for m in await store.list_members(created.id)]
    with pytest.raises(NotFound):
        await store.get_group_with_member_ids(created.id, outsider.id)
    with pytest.raises(NotFound):
        await store.get_group_with_member_ids("no-such-group", owner.id)


async def test_list_members_owner_first_then_by_join_time_with_profiles(store: Store) -> None:
    owner = await store.ensure_user("owner@example.com", "Owner", "https://pic/owner")
    late, early, middle = [await user(store, name) for name in ("late", "early", "mid")]
    created = await group(store, owner, created_at=at(10))
    await store.add_member(created.id, late.id, at(30))
    await store.add_member(created.id, early.id, at(5))
    await store.add_member(created.id, middle.id, at(20))
    members = await store.list_members(created.id)
    assert [m.user_id for m in members] == [owner.id, early.id, middle.id, late.id]
    assert [m.role for m in members] == ["owner", "member", "member", "member"]
    assert (members[0].email, members[0].name, members[0].picture) == (
        "owner@example.com",
        "Owner",
        "https://pic/owner",
    )
    assert (members[1].email, members[1].name, members[1].joined_at) == (
        "early@example.com",
        "Early",
        at(5),
    )
    assert await store.list_members("no-such-group") == []


async def test_list_user_groups_pages_newest_first_without_gaps(store: Store) -> None:
    me, other = await user(store, "me"), await user(store, "other")
    joined: list[tuple[datetime, str, str]] = []
    for i in range(4):
        mine = await group(store, me, created_at=at(i * 10), name=f"mine {i}")
        joined.append((at(i * 10), mine.id, "owner"))
        theirs = await group(store, other, created_at=at(i * 10), name=f"theirs {i}")
        # Joined at the same moment as `mine` was created: ties are broken by group id.
        await store.add_member(theirs.id, me.id, at(i * 10))
        joined.append((at(i * 10), theirs.id, "member"))
    await group(store, other, name="not mine")
    expected = [(group_id, role) for _, group_id, role in sorted(joined, reverse=True)]

    seen: list[tuple[str, str]] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await store.list_user_groups(me.id, limit=3, cursor=cursor)
        pages += 1
        assert len(page.items) == (3 if page.next_cursor else 2)
        seen += [(m.group.id, m.role) for m in page.items]
        assert all(m.group.member_count >= 1 for m in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3
    assert seen == expected
    everything = await store.list_user_groups(me.id, limit=8)
    newest_first = sorted((moment for moment, _, _ in joined), reverse=True)
    assert [m.joined_at for m in everything.items] == newest_first
    assert everything.next_cursor is None

    full = await store.list_user_groups(me.id, limit=4)
    rest = await store.list_user_groups(me.id, limit=4, cursor=full.next_cursor)
    assert len(rest.items) == 4 and rest.next_cursor is None
    assert (await store.list_user_groups(other.id, limit=100)).next_cursor is None
    assert (await store.list_user_groups("nobody", limit=5)).items == []


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "",
        encode_cursor("expenses", ["2024-03-01T12:00:00.000000Z", "g"]),
        encode_cursor("user_groups", "position"),
        encode_cursor("user_groups", ["only one"]),
        encode_cursor("user_groups", {"joined_at": "x"}),
    ],
)
async def test_list_user_groups_rejects_foreign_cursor(store: Store, cursor: str) -> None:
    me = await user(store, "me")
    with pytest.raises(BadRequest) as caught:
        await store.list_user_groups(me.id, limit=2, cursor=cursor)
    assert caught.value.code == "invalid_cursor"


async def test_update_group_bumps_version_and_refuses_stale_versions(store: Store) -> None:
    owner = await user(store, "owner")
    created = await group(store, owner)
    updated = await store.update_group(
        created.id,
        expected_version=1,
        changes={"name": "Ski trip", "default_currency": "CHF"},
        updated_at=at(5),
    )
    assert (updated.name, updated.default_currency, updated.description) == ("Ski trip", "CHF", "")
    assert (updated.version, updated.updated_at, updated.created_at) == (2, at(5), T0)
    assert await store.get_group(created.id) == updated

    with pytest.raises(PreconditionFailed) as caught:
        await store.update_group(created.id, expected_version=1, changes={"name": "Lost"}, updated_at=at(6))
    assert caught.value.details == {"current_version": 2}
    assert await store.get_group(created.id) == updated

    described = await store.update_group(
        created.id, expected_version=2, changes={"description": "Alps"}, updated_at=at(7)
    )
    assert (described.name, described.description, described.version) == ("Ski trip", "Alps", 3)

    with pytest.raises(NotFound):
        await store.update_group("no-such-group", expected_version=1, changes={}, updated_at=at(8))


async def test_delete_group_removes_it_and_every_membership(store: Store) -> None:
    owner, member = await user(store, "owner"), await user(store, "member")
    doomed, kept = await group(store, owner, at(1)), await group(store, owner, at(2))
    await store.add_member(doomed.id, member.id, at(3))
    await store.delete_group(doomed.id)
    with pytest.raises(NotFound):
        await store.get_group(doomed.id)
    with pytest.raises(NotFound):
        await store.get_group_as_member(doomed.id, owner.id)
    remaining = await store.list_user_groups(owner.id, limit=10)
    assert [m.group.id for m in remaining.items] == [kept.id]
    assert (await store.list_user_groups(member.id, limit=10)).items == []
    assert await store.list_members(doomed.id) == []
    with pytest.raises(NotFound):
        await store.delete_group(doomed.id)


async def test_add_member_is_idempotent(store: Store) -> None:
    owner, member = await user(store, "owner"), await user(store, "member")
    created = await group(store, owner)
    added, is_new = await store.add_member(created.id, member.id, at(1))
    assert is_new and (added.user_id, added.role, added.joined_at) == (member.id, "member", at(1))
    again, is_new = await store.add_member(created.id, member.id, at(2))
    assert not is_new and (again.role, again.joined_at) == ("member", at(1))
    owner_again, is_new = await store.add_member(created.id, owner.id, at(3))
    assert not is_new and owner_again.role == "owner"
    assert (await store.get_group(created.id)).member_count == 2
    with pytest.raises(NotFound):
        await store.add_member("no-such-group", member.id, at(4))


async def test_full_group_refuses_new_members(store: Store) -> None:
    owner, late = await user(store, "owner"), await user(store, "late")
    created = await group(store, owner)
    await fill(store, created.id, MAX_GROUP_MEMBERS - 1, "m")
    assert (await store.get_group(created.id)).member_count == MAX_GROUP_MEMBERS
    with pytest.raises(Conflict) as caught:
        await store.add_member(created.id, late.id, at(99))
    assert caught.value.code == "group_full"
    existing, is_new = await store.add_member(created.id, owner.id, at(99))
    assert not is_new and existing.role == "owner"
    assert len(await store.list_members(created.id)) == MAX_GROUP_MEMBERS


async def test_concurrent_add_member_never_exceeds_the_cap(store: Store) -> None:
    owner = await user(store, "owner")
    created = await group(store, owner)
    await fill(store, created.id, MAX_GROUP_MEMBERS - 4, "m")
    joiners = await users(store, 10, "j")
    results = await asyncio.gather(
        *(store.add_member(created.id, j.id, at(90)) for j in joiners), return_exceptions=True
    )
    added = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(added) == 3 and all(is_new for _, is_new in added)
    assert len(refused) == 7 and all(r.code == "group_full" for r in refused)
    assert (await store.get_group(created.id)).member_count == MAX_GROUP_MEMBERS
    assert len(await store.list_members(created.id)) == MAX_GROUP_MEMBERS


async def test_remove_member(store: Store) -> None:
    owner, member = await user(store, "owner"), await user(store, "member")
    created = await group(store, owner)
    await store.add_member(created.id, member.id, at(1))
    await store.remove_member(created.id, member.id)
    assert (await store.get_group(created.id)).member_count == 1
    assert [m.user_id for m in await store.list_members(created.id)] == [owner.id]
    assert (await store.list_user_groups(member.id, limit=5)).items == []
    with pytest.raises(NotFound):
        await store.remove_member(created.id, member.id)
    with pytest.raises(NotFound):
        await store.remove_member("no-such-group", member.id)
    _, is_new = await store.add_member(created.id, member.id, at(2))
    assert is_new and (await store.get_group(created.id)).member_count == 2


# invites


async def test_invites(store: Store) -> None:
    owner = await user(store, "owner")
    created = await group(store, owner)
    invite = Invite(
        token_hash="hash-1",
        group_id=created.id,
        created_by=owner.id,
        created_at=at(0),
        expires_at=datetime.now(timezone.utc) + timedelta(days=7),
    )
    await store.create_invite(invite)
    stored = await store.get_invite("hash-1")
    assert stored == Invite(
        token_hash="hash-1",
        group_id=created.id,
        created_by=owner.id,
        created_at=at(0),
        expires_at=stored.expires_at,
    )
    assert abs(stored.expires_at - invite.expires_at) < timedelta(microseconds=1)
    with pytest.raises(NotFound):
        await store.get_invite("hash-2")
    with pytest.raises(NotFound):
        await store.create_invite(
            Invite(
                token_hash="hash-3",
                group_id="no-such-group",
                created_by=owner.id,
                created_at=at(0),
                expires_at=at(60),
            )
        )
    await store.delete_group(created.id)
    with pytest.raises(NotFound):
        await store.get_invite("hash-1")


async def test_an_expired_invite_is_still_there_to_be_judged(store: Store) -> None:
    owner = await user(store, "owner")
    created = await group(store, owner)
    now = datetime.now(timezone.utc)

    def invite(token_hash: str, expires_at: datetime) -> Invite:
        return Invite(
            token_hash=token_hash,
            group_id=created.id,
            created_by=owner.id,
            created_at=now - timedelta(days=2),
            expires_at=expires_at,
        )

    await store.create_invite(invite("expired-yesterday", now - timedelta(days=1)))
    await store.create_invite(invite("fresh", now + timedelta(days=1)))
    assert (await store.get_invite("expired-yesterday")).expires_at < now
    with pytest.raises(Conflict):
        await store.create_invite(invite("fresh", now + timedelta(days=2)))


# ledger: a small local way to build records and their balance moves (not `ledger/`)


def expense(
    group_id: str,
    paid: dict[str, int],
    owed: dict[str, int],
    *,
    currency: str = "EUR",
    date: str = "2024-03-01",
    created_at: datetime = T0,
    category: str = "general",
    expense_id: str | None = None,
    version: int = 1,
    description: str = "Dinner",
) -> Expense:
    assert sum(paid.values()) == sum(owed.values())
    return Expense(
        id=expense_id or uuid.uuid4().hex,
        group_id=group_id,
        description=description,
        amount=sum(paid.values()),
        currency=currency,
        date=date,
        category=category,
        paid=paid,
        owed=owed,
        split={"kind": "exact", "shares": owed},
        notes="",
        receipt_id=None,
        created_by=next(iter(paid)),
        created_at=created_at,
        updated_at=created_at,
        version=version,
    )


def moves(record: Expense | Settlement, sign: int = 1) -> BalanceDeltas:
    """How `record` moves balances (sign -1: how undoing it does); every participant included."""
    deltas: BalanceDeltas = {}
    if isinstance(record, Expense):
        for user_id in record.participants:
            net = record.paid.get(user_id, 0) - record.owed.get(user_id, 0)
            deltas[(user_id, record.currency)] = sign * net
    else:
        deltas[(record.from_user, record.currency)] = sign * record.amount
        deltas[(record.to_user, record.currency)] = -sign * record.amount
    return deltas


def combine(*all_deltas: BalanceDeltas) -> BalanceDeltas:
    total: BalanceDeltas = {}
    for deltas in all_deltas:
        for key, delta in deltas.items():
            total[key] = total.get(key, 0) + delta
    return total


def settlement(
    group_id: str,
    from_user: str,
    to_user: str,
    amount: int,
    *,
    currency: str = "EUR",
    date: str = "2024-03-01",
    created_at: datetime = T0,
    settlement_id: str | None = None,
) -> Settlement:
    return Settlement(
        id=settlement_id or uuid.uuid4().hex,
        group_id=group_id,
        from_user=from_user,
        to_user=to_user,
        amount=amount,
        currency=currency,
        date=date,
        note="",
        created_by=from_user,
        created_at=created_at,
        version=1,
    )


_activity_clock = iter(range(10**6))


def activity(group_id: str, action: str, subject_id: str, actor_id: str = "actor") -> ActivityEntry:
    """A log entry; each one made is a microsecond later than the one before."""
    return ActivityEntry(
        id=uuid.uuid4().hex,
        group_id=group_id,
        at=T0 + timedelta(microseconds=next(_activity_clock)),
        actor_id=actor_id,
        action=action,
        subject_id=subject_id,
        details={"note": action},
    )


def as_balances(totals: BalanceDeltas) -> list[Balance]:
    return [
        Balance(user_id=user_id, currency=currency, amount=amount)
        for (user_id, currency), amount in sorted(totals.items())
    ]


async def trio(store: Store) -> tuple[Group, User, User, User]:
    """A group of three: owner a, members b and c."""
    a, b, c = await users(store, 3, prefix=f"p{uuid.uuid4().hex[:6]}")
    created = await group(store, a)
    await store.add_member(created.id, b.id, at(1))
    await store.add_member(created.id, c.id, at(2))
    return created, a, b, c


async def all_activity(store: Store, group_id: str) -> list[ActivityEntry]:
    return (await store.list_activity(group_id, limit=1000)).items


async def collect(fetch, limit: int):  # type: ignore[no-untyped-def]
    """Every item of a paged listing, following cursors; pages must not exceed `limit`."""
    items, cursor, pages = [], None, 0
    while True:
        page = await fetch(limit=limit, cursor=cursor)
        assert len(page.items) <= limit
        items += page.items
        pages += 1
        assert pages < 200
        cursor = page.next_cursor
        if cursor is None:
            return items


# idempotency


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


# expenses


async def test_create_expense_moves_balances_and_logs(store: Store) -> None:
    created, a, b, c = await trio(store)
    dinner = expense(created.id, {a.id: 3000}, {a.id: 1000, b.id: 1000, c.id: 1000})
    logged = activity(created.id, "expense.created", dinner.id, a.id)
    await store.create_expense(dinner, deltas=moves(dinner), activity=logged)
    assert await store.get_expense(created.id, dinner.id) == dinner
    balances = await store.get_balances(created.id)
    assert balances == as_balances({(a.id, "EUR"): 2000, (b.id, "EUR"): -1000, (c.id, "EUR"): -1000})
    assert sum(b.amount for b in balances) == 0

    taxi = expense(
        created.id, {b.id: 900, c.id: 300}, {a.id: 600, c.id: 600}, currency="USD", created_at=at(1)
    )
    taxi_logged = activity(created.id, "expense.created", taxi.id)
    await store.create_expense(taxi, deltas=moves(taxi), activity=taxi_logged)
    balances = await store.get_balances(created.id)
    assert balances == as_balances(combine(moves(dinner), moves(taxi)))
    for currency in ("EUR", "USD"):
        assert sum(b.amount for b in balances if b.currency == currency) == 0
    assert await all_activity(store, created.id) == [taxi_logged, logged]
    with pytest.raises(NotFound):
        await store.get_expense(created.id, "no-such-expense")
    with pytest.raises(NotFound):
        await store.get_expense("no-such-group", dinner.id)


async def test_balances_for_a_member_only(store: Store) -> None:
    created, a, b, c = await trio(store)
    outsider = await user(store, "outsider")
    assert await store.get_balances_for_member(created.id, a.id) == []
    spent = expense(created.id, {a.id: 3000}, {a.id: 1000, b.id: 1000, c.id: 1000})
    await store.create_expense(
        spent, deltas=moves(spent), activity=activity(created.id, "expense.created", spent.id)
    )
    assert await store.get_balances_for_member(created.id, b.id) == as_balances(
        {(a.id, "EUR"): 2000, (b.id, "EUR"): -1000, (c.id, "EUR"): -1000}
    )
    assert await store.get_balances_for_member(created.id, c.id) == await store.get_balances(created.id)
    with pytest.raises(NotFound):
        await store.get_balances_for_member(created.id, outsider.id)
    with pytest.raises(NotFound):
        await store.get_balances_for_member("no-such-group", a.id)


async def test_update_expense_moves_by_the_difference_and_bumps_the_version(store: Store) -> None:
    created, a, b, c = await trio(store)
    original = expense(created.id, {a.id: 3000}, {a.id: 1000, b.id: 1000, c.id: 1000})
    await store.create_expense(
        original, deltas=moves(original), activity=activity(created.id, "expense.created", original.id)
    )
    # Another currency and other people: the old currency moves back, the new one moves.
    edited = expense(
        created.id,
        {b.id: 5000},
        {b.id: 2500, c.id: 2500},
        currency="GBP",
        expense_id=original.id,
        version=2,
        category="travel",
    )
    change = combine(moves(original, -1), moves(edited))
    logged = activity(created.id, "expense.updated", original.id)
    await store.update_expense(edited, expected_version=1, deltas=change, activity=logged)
    assert await store.get_expense(created.id, original.id) == edited
    assert await store.get_balances(created.id) == as_balances(
        {
            (a.id, "EUR"): 0,
            (b.id, "EUR"): 0,
            (c.id, "EUR"): 0,
            (b.id, "GBP"): 2500,
            (c.id, "GBP"): -2500,
        }
    )
    assert (await all_activity(store, created.id))[0] == logged


async def test_a_stale_write_changes_nothing(store: Store) -> None:
    created, a, b, c = await trio(store)
    original = expense(created.id, {a.id: 3000}, {b.id: 3000})
    await store.create_expense(
        original, deltas=moves(original), activity=activity(created.id, "expense.created", original.id)
    )
    edited = expense(created.id, {a.id: 600}, {c.id: 600}, expense_id=original.id, version=2)
    await store.update_expense(
        edited,
        expected_version=1,
        deltas=combine(moves(original, -1), moves(edited)),
        activity=activity(created.id, "expense.updated", original.id),
    )
    balances, log = await store.get_balances(created.id), await all_activity(store, created.id)

    stale = expense(created.id, {a.id: 999}, {b.id: 999}, expense_id=original.id, version=2)
    with pytest.raises(PreconditionFailed) as refused:
        await store.update_expense(
            stale,
            expected_version=1,
            deltas=combine(moves(original, -1), moves(stale)),
            activity=activity(created.id, "expense.updated", original.id),
        )
    assert refused.value.details == {"current_version": 2}
    with pytest.raises(PreconditionFailed) as refused:
        await store.delete_expense(
            created.id,
            original.id,
            expected_version=1,
            deltas=moves(original, -1),
            activity=activity(created.id, "expense.deleted", original.id),
        )
    assert refused.value.details == {"current_version": 2}
    assert await store.get_expense(created.id, original.id) == edited
    assert await store.get_balances(created.id) == balances
    assert await all_activity(store, created.id) == log

    missing = expense(created.id, {a.id: 1}, {b.id: 1}, version=2)
    with pytest.raises(NotFound):
        await store.update_expense(
            missing,
            expected_version=1,
            deltas=moves(missing),
            activity=activity(created.id, "expense.updated", missing.id),
        )
    with pytest.raises(NotFound):
        await store.delete_expense(
            created.id,
            missing.id,
            expected_version=1,
            deltas={},
            activity=activity(created.id, "expense.deleted", missing.id),
        )
    assert await store.get_balances(created.id) == balances
    assert await all_activity(store, created.id) == log


async def test_delete_expense_reverses_and_keeps_zero_balances(store: Store) -> None:
    created, a, b, c = await trio(store)
    spent = expense(created.id, {a.id: 1200}, {b.id: 600, c.id: 600}, currency="JPY")
    await store.create_expense(
        spent, deltas=moves(spent), activity=activity(created.id, "expense.created", spent.id)
    )
    logged = activity(created.id, "expense.deleted", spent.id)
    await store.delete_expense(
        created.id, spent.id, expected_version=1, deltas=moves(spent, -1), activity=logged
    )
    with pytest.raises(NotFound):
        await store.get_expense(created.id, spent.id)
    assert await store.get_balances(created.id) == as_balances(
        {(a.id, "JPY"): 0, (b.id, "JPY"): 0, (c.id, "JPY"): 0}
    )
    assert (await all_activity(store, created.id))[0] == logged
    assert (await store.list_expenses(created.id, limit=10)).items == []
    with pytest.raises(NotFound):
        await store.delete_expense(
            created.id,
            spent.id,
            expected_version=1,
            deltas=moves(spent, -1),
            activity=activity(created.id, "expense.deleted", spent.id),
        )


async def test_expense_with_an_outsider_is_refused_and_writes_nothing(store: Store) -> None:
    created, a, b, _ = await trio(store)
    outsider = await user(store, f"outsider{uuid.uuid4().hex[:6]}")
    spent = expense(created.id, {a.id: 1000}, {b.id: 500, outsider.id: 500})
    with pytest.raises(Conflict) as refused:
        await store.create_expense(
            spent, deltas=moves(spent), activity=activity(created.id, "expense.created", spent.id)
        )
    assert refused.value.code == "not_a_member"
    assert refused.value.details == {"user_ids": [outsider.id]}
    with pytest.raises(NotFound):
        await store.get_expense(created.id, spent.id)
    assert await store.get_balances(created.id) == []
    assert await all_activity(store, created.id) == []

    fine = expense(created.id, {a.id: 1000}, {b.id: 1000})
    await store.create_expense(
        fine, deltas=moves(fine), activity=activity(created.id, "expense.created", fine.id)
    )
    balances, log = await store.get_balances(created.id), await all_activity(store, created.id)
    widened = expense(created.id, {a.id: 1000}, {outsider.id: 1000}, expense_id=fine.id, version=2)
    with pytest.raises(Conflict) as refused:
        await store.update_expense(
            widened,
            expected_version=1,
            deltas=combine(moves(fine, -1), moves(widened)),
            activity=activity(created.id, "expense.updated", fine.id),
        )
    assert refused.value.code == "not_a_member"
    assert await store.get_expense(created.id, fine.id) == fine
    assert await store.get_balances(created.id) == balances
    assert await all_activity(store, created.id) == log

    elsewhere = expense("no-such-group", {a.id: 1000}, {b.id: 1000})
    with pytest.raises(NotFound):
        await store.create_expense(
            elsewhere, deltas=moves(elsewhere), activity=activity("no-such-group", "expense.created", "x")
        )


async def test_list_expenses_newest_first_pages_without_gaps(store: Store) -> None:
    created, a, b, c = await trio(store)
    made: list[Expense] = []
    for i in range(25):
        # Several expenses share a date, and a few a creation time too: ties go by id.
        spent = expense(
            created.id,
            {a.id: 100 + i},
            {b.id: 100 + i},
            date=f"2024-03-{1 + (i * 7) % 10:02d}",
            created_at=at(i % 4),
        )
        made.append(spent)
    for spent in made:
        await store.create_expense(
            spent, deltas=moves(spent), activity=activity(created.id, "expense.created", spent.id)
        )
    expected = sorted(made, key=lambda e: (e.date, e.created_at, e.id), reverse=True)
    for limit in (1, 4, 25, 30):
        seen = await collect(
            lambda limit, cursor: store.list_expenses(created.id, limit=limit, cursor=cursor), limit
        )
        assert [e.id for e in seen] == [e.id for e in expected]
    first = await store.list_expenses(created.id, limit=24)
    assert len(first.items) == 24 and first.next_cursor is not None
    assert (await store.list_expenses(created.id, limit=25)).next_cursor is None
    assert seen == expected


async def test_list_expenses_filters(store: Store) -> None:
    created, a, b, c = await trio(store)
    made: list[Expense] = []
    for i in range(24):
        owed = {b.id: 100} if i % 2 else {c.id: 100}
        spent = expense(
            created.id,
            {a.id: 100},
            owed,
            date=f"2024-04-{1 + i:02d}",
            category="food" if i % 3 == 0 else "travel",
            created_at=at(i),
        )
        made.append(spent)
        await store.create_expense(
            spent, deltas=moves(spent), activity=activity(created.id, "expense.created", spent.id)
        )
    newest_first = sorted(made, key=lambda e: (e.date, e.created_at, e.id), reverse=True)

    async def listed(filters: ExpenseFilter, limit: int = 3) -> list[str]:
        seen = await collect(
            lambda limit, cursor: store.list_expenses(
                created.id, limit=limit, cursor=cursor, filters=filters
            ),
            limit,
        )
        return [e.id for e in seen]

    cases = [
        (
            ExpenseFilter(date_from="2024-04-05", date_to="2024-04-10"),
            lambda e: "2024-04-05" <= e.date <= "2024-04-10",
        ),
        (ExpenseFilter(date_from="2024-04-20"), lambda e: e.date >= "2024-04-20"),
        (ExpenseFilter(date_to="2024-04-03"), lambda e: e.date <= "2024-04-03"),
        (ExpenseFilter(category="food"), lambda e: e.category == "food"),
        (ExpenseFilter(member=b.id), lambda e: b.id in e.participants),
        (ExpenseFilter(member=a.id), lambda e: True),
        (
            ExpenseFilter(category="food", member=c.id, date_from="2024-04-02"),
            lambda e: e.category == "food" and c.id in e.participants and e.date >= "2024-04-02",
        ),
        (ExpenseFilter(category="nothing"), lambda e: False),
        (ExpenseFilter(date_from="2025-01-01"), lambda e: False),
    ]
    for filters, keep in cases:
        expected = [e.id for e in newest_first if keep(e)]
        assert await listed(filters) == expected, filters
        assert await listed(filters, limit=50) == expected, filters

    # A cursor is a position in the newest-first order, whatever filters come with it: the next
    # page holds what matches and lies after it (nothing, if the position is below the range).
    midway = (await store.list_expenses(created.id, limit=10)).next_cursor
    assert midway is not None
    after_midway = newest_first[10:]
    for filters, keep in cases:
        expected = [e.id for e in after_midway if keep(e)]
        seen, cursor = [], midway
        while True:
            page = await store.list_expenses(created.id, limit=4, cursor=cursor, filters=filters)
            seen += [e.id for e in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == expected, filters


async def test_list_cursors_are_checked(store: Store) -> None:
    created, a, b, _ = await trio(store)
    for i in range(3):
        spent = expense(created.id, {a.id: 100}, {b.id: 100}, created_at=at(i))
        await store.create_expense(
            spent, deltas=moves(spent), activity=activity(created.id, "expense.created", spent.id)
        )
        paid = settlement(created.id, b.id, a.id, 100, created_at=at(i))
        await store.create_settlement(
            paid, deltas=moves(paid), activity=activity(created.id, "settlement.created", paid.id)
        )
    listings = {
        "expenses": lambda cursor: store.list_expenses(created.id, limit=1, cursor=cursor),
        "settlements": lambda cursor: store.list_settlements(created.id, limit=1, cursor=cursor),
        "activity": lambda cursor: store.list_activity(created.id, limit=1, cursor=cursor),
    }
    cursors = {name: (await listing(None)).next_cursor for name, listing in listings.items()}
    assert all(cursors.values())
    for name, listing in listings.items():
        assert len((await listing(cursors[name])).items) == 1
        foreign = [cursor for other, cursor in cursors.items() if other != name]
        for bad in ["garbage!", encode_cursor(name, 7), encode_cursor(name, ["a"]), *foreign]:
            with pytest.raises(BadRequest) as refused:
                await listing(bad)
            assert refused.value.code == "invalid_cursor"


# settlements


async def test_settlements(store: Store) -> None:
    created, a, b, c = await trio(store)
    dinner = expense(created.id, {a.id: 3000}, {a.id: 1000, b.id: 1000, c.id: 1000})
    await store.create_expense(
        dinner, deltas=moves(dinner), activity=activity(created.id, "expense.created", dinner.id)
    )
    paid = settlement(created.id, b.id, a.id, 1000, created_at=at(5))
    logged = activity(created.id, "settlement.created", paid.id)
    await store.create_settlement(paid, deltas=moves(paid), activity=logged)
    assert await store.get_settlement(created.id, paid.id) == paid
    assert (await all_activity(store, created.id))[0] == logged
    assert await store.get_balances(created.id) == as_balances(
        {(a.id, "EUR"): 1000, (b.id, "EUR"): 0, (c.id, "EUR"): -1000}
    )
    with pytest.raises(PreconditionFailed) as stale:
        await store.delete_settlement(
            created.id,
            paid.id,
            expected_version=7,
            deltas=moves(paid, -1),
            activity=activity(created.id, "settlement.deleted", paid.id),
        )
    assert stale.value.details == {"current_version": 1}
    assert (await all_activity(store, created.id))[0] == logged
    await store.delete_settlement(
        created.id,
        paid.id,
        expected_version=1,
        deltas=moves(paid, -1),
        activity=activity(created.id, "settlement.deleted", paid.id),
    )
    with pytest.raises(NotFound):
        await store.get_settlement(created.id, paid.id)
    with pytest.raises(NotFound):
        await store.delete_settlement(
            created.id,
            paid.id,
            expected_version=1,
            deltas=moves(paid, -1),
            activity=activity(created.id, "settlement.deleted", paid.id),
        )
    assert await store.get_balances(created.id) == as_balances(moves(dinner))

    outsider = await user(store, f"outsider{uuid.uuid4().hex[:6]}")
    foreign = settlement(created.id, outsider.id, a.id, 500)
    with pytest.raises(Conflict) as refused:
        await store.create_settlement(
            foreign, deltas=moves(foreign), activity=activity(created.id, "settlement.created", "x")
        )
    assert refused.value.code == "not_a_member"
    with pytest.raises(NotFound):
        await store.get_settlement(created.id, foreign.id)
    assert await store.get_balances(created.id) == as_balances(moves(dinner))


async def test_list_settlements_newest_first_pages_without_gaps(store: Store) -> None:
    created, a, b, c = await trio(store)
    made = [
        settlement(
            created.id,
            b.id if i % 2 else c.id,
            a.id,
            10 + i,
            date=f"2024-05-{1 + (i * 3) % 7:02d}",
            created_at=at(i % 3),
        )
        for i in range(22)
    ]
    for paid in made:
        await store.create_settlement(
            paid, deltas=moves(paid), activity=activity(created.id, "settlement.created", paid.id)
        )
    expected = sorted(made, key=lambda s: (s.date, s.created_at, s.id), reverse=True)
    for limit in (1, 5, 22, 40):
        seen = await collect(
            lambda limit, cursor: store.list_settlements(created.id, limit=limit, cursor=cursor),
            limit,
        )
        assert seen == expected
    page = await store.list_settlements(created.id, limit=5)
    assert len(page.items) == 5 and page.next_cursor is not None
    assert await store.get_balances(created.id) == as_balances(combine(*map(moves, made)))


# balances and activity


async def test_balances_of_a_new_group_and_of_a_missing_one(store: Store) -> None:
    created, *_ = await trio(store)
    assert await store.get_balances(created.id) == []
    assert await store.get_balances("no-such-group") == []
    assert (await store.list_activity("no-such-group", limit=5)).items == []


async def test_activity_pages_newest_first(store: Store) -> None:
    created, a, b, _ = await trio(store)
    entries = []
    for i in range(11):
        spent = expense(created.id, {a.id: 100}, {b.id: 100}, created_at=at(i))
        entry = activity(created.id, "expense.created", spent.id, a.id)
        entries.append(entry)
        await store.create_expense(spent, deltas=moves(spent), activity=entry)
    expected = list(reversed(entries))
    for limit in (1, 3, 11, 20):
        seen = await collect(
            lambda limit, cursor: store.list_activity(created.id, limit=limit, cursor=cursor), limit
        )
        assert seen == expected
    page = await store.list_activity(created.id, limit=3)
    assert len(page.items) == 3 and page.next_cursor is not None
    assert page.items[0].details == {"note": "expense.created"}


async def test_membership_changes_are_logged(store: Store) -> None:
    owner, joiner = await user(store, "owner"), await user(store, "joiner")
    created = await group(store, owner)
    joined = activity(created.id, "member.joined", joiner.id, joiner.id)
    _, is_new = await store.add_member(created.id, joiner.id, at(1), joined)
    assert is_new
    assert await all_activity(store, created.id) == [joined]
    # Joining again logs nothing.
    _, is_new = await store.add_member(
        created.id, joiner.id, at(2), activity(created.id, "member.joined", joiner.id)
    )
    assert not is_new
    assert await all_activity(store, created.id) == [joined]
    left = activity(created.id, "member.left", joiner.id, joiner.id)
    await store.remove_member(created.id, joiner.id, left)
    assert await all_activity(store, created.id) == [left, joined]
    with pytest.raises(NotFound):
        await store.remove_member(created.id, joiner.id, activity(created.id, "member.left", joiner.id))
    assert await all_activity(store, created.id) == [left, joined]


async def test_members_and_groups_with_open_balances_cannot_go(store: Store) -> None:
    created, a, b, c = await trio(store)
    spent = expense(created.id, {a.id: 1000}, {b.id: 1000})
    await store.create_expense(
        spent, deltas=moves(spent), activity=activity(created.id, "expense.created", spent.id)
    )
    usd = expense(created.id, {c.id: 400}, {a.id: 400}, currency="USD")
    await store.create_expense(
        usd, deltas=moves(usd), activity=activity(created.id, "expense.created", usd.id)
    )
    for leaver in (a, b, c):
        with pytest.raises(Conflict) as refused:
            await store.remove_member(created.id, leaver.id, activity(created.id, "member.left", leaver.id))
        assert refused.value.code == "balance_not_settled"
    with pytest.raises(Conflict) as refused:
        await store.delete_group(created.id)
    assert refused.value.code == "balance_not_settled"
    assert (await store.get_group(created.id)).member_count == 3

    for paid in (
        settlement(created.id, b.id, a.id, 1000),
        settlement(created.id, a.id, c.id, 400, currency="USD"),
    ):
        await store.create_settlement(
            paid, deltas=moves(paid), activity=activity(created.id, "settlement.created", paid.id)
        )
    assert all(balance.amount == 0 for balance in await store.get_balances(created.id))
    removed = activity(created.id, "member.removed", b.id, a.id)
    await store.remove_member(created.id, b.id, removed)
    assert (await all_activity(store, created.id))[0] == removed
    assert {balance.user_id for balance in await store.get_balances(created.id)} == {a.id, c.id}
    assert (await store.get_group(created.id)).member_count == 2
    await store.delete_group(created.id)
    with pytest.raises(NotFound):
        await store.get_group(created.id)
    with pytest.raises(NotFound):
        await store.delete_group(created.id)


async def test_concurrent_expenses_lose_no_update(store: Store) -> None:
    created, a, b, c = await trio(store)
    made = [
        expense(
            created.id,
            {(a, b, c)[i % 3].id: 300 + i},
            {a.id: 100, b.id: 100, c.id: 100 + i},
            created_at=at(i),
        )
        for i in range(20)
    ]
    await asyncio.gather(
        *(
            store.create_expense(
                spent, deltas=moves(spent), activity=activity(created.id, "expense.created", spent.id)
            )
            for spent in made
        )
    )
    balances = await store.get_balances(created.id)
    assert balances == as_balances(combine(*map(moves, made)))
    assert sum(balance.amount for balance in balances) == 0
    assert (
        len(
            await collect(
                lambda limit, cursor: store.list_expenses(created.id, limit=limit, cursor=cursor), 7
            )
        )
        == 20
    )
    assert len(await all_activity(store, created.id)) == 20


# spending and the dashboard


def as_spent(record: Expense, sign: int = 1) -> tuple[int, str, str, str, dict[str, int]]:
    """`record` as a `ledger.moves.spending_moves` change."""
    return (sign, record.date, record.category, record.currency, record.owed)


def net_moves(record: Expense, sign: int = 1) -> BalanceDeltas:
    """How `record` moves balances, as the handlers compute it (`balance_moves`: zeros dropped)."""
    net = net_of(record.paid, record.owed)
    return balance_moves((record.currency, net if sign > 0 else negate(net)))


async def spend(store: Store, record: Expense, actor: str = "actor") -> ActivityEntry:
    logged = activity(record.group_id, "expense.created", record.id, actor)
    await store.create_expense(
        record, deltas=net_moves(record), activity=logged, spending=spending_moves(as_spent(record))
    )
    return logged


async def overview(store: Store, member: User, group_limit: int = 10, recent_limit: int = 10) -> Dashboard:
    return await store.dashboard(member.id, group_limit=group_limit, recent_limit=recent_limit)


async def test_spending_moves_with_expense_writes(store: Store) -> None:
    created, a, b, c = await trio(store)
    dinner = expense(
        created.id, {a.id: 3000}, {a.id: 1000, b.id: 1000, c.id: 1000}, date="2024-03-05", category="food"
    )
    await spend(store, dinner)
    for member in (a, b, c):
        assert (await overview(store, member)).spending == {("2024-03", "food", "EUR"): 1000}

    # Another month, category and currency, and other shares: the old entry goes back to nothing.
    edited = expense(
        created.id,
        {a.id: 3000},
        {b.id: 2000, c.id: 1000},
        currency="USD",
        date="2024-04-30",
        category="travel",
        expense_id=dinner.id,
        version=2,
    )
    change: SpendingDeltas = spending_moves(as_spent(dinner, -1), as_spent(edited))
    assert (a.id, "2024-03", "food", "EUR") in change
    await store.update_expense(
        edited,
        expected_version=1,
        deltas=balance_moves(
            ("EUR", negate(net_of(dinner.paid, dinner.owed))), ("USD", net_of(edited.paid, edited.owed))
        ),
        activity=activity(created.id, "expense.updated", dinner.id),
        spending=change,
    )
    assert (await overview(store, a)).spending == {}
    assert (await overview(store, b)).spending == {("2024-04", "travel", "USD"): 2000}
    assert (await overview(store, c)).spending == {("2024-04", "travel", "USD"): 1000}

    # Someone whose balance does not move (paid what they owe) still has their share counted.
    even = expense(
        created.id,
        {a.id: 1000, b.id: 500},
        {a.id: 1000, b.id: 250, c.id: 250},
        date="2024-04-02",
        category="travel",
        currency="USD",
    )
    assert (a.id, "USD") not in net_moves(even)
    await spend(store, even)
    assert (await overview(store, a)).spending == {("2024-04", "travel", "USD"): 1000}
    assert (await overview(store, b)).spending == {("2024-04", "travel", "USD"): 2250}

    for gone in (edited, even):
        await store.delete_expense(
            created.id,
            gone.id,
            expected_version=gone.version,
            deltas=net_moves(gone, -1),
            activity=activity(created.id, "expense.deleted", gone.id),
            spending=spending_moves(as_spent(gone, -1)),
        )
    for member in (a, b, c):
        standing = await overview(store, member)
        assert standing.spending == {}
        assert standing.groups[0].balances == {}


async def test_a_refused_expense_moves_no_spending(store: Store) -> None:
    created, a, b, _ = await trio(store)
    outsider = await user(store, f"outsider{uuid.uuid4().hex[:6]}")
    spent = expense(created.id, {a.id: 1000}, {b.id: 500, outsider.id: 500})
    with pytest.raises(Conflict):
        await spend(store, spent)
    assert (await overview(store, b)).spending == {}


async def test_dashboard_of_a_user_without_groups_is_empty(store: Store) -> None:
    loner = await user(store, f"loner{uuid.uuid4().hex[:6]}")
    assert await overview(store, loner) == Dashboard(groups=[], more_groups=False, spending={}, recent=[])
    assert await store.dashboard("no-such-user", group_limit=5, recent_limit=5) == Dashboard(
        groups=[], more_groups=False, spending={}, recent=[]
    )


async def test_dashboard_groups_newest_joined_first_and_limited(store: Store) -> None:
    me, other = await users(store, 2, prefix=f"d{uuid.uuid4().hex[:6]}")
    await group(store, me, created_at=at(1), name="Mine")
    for minute, name in ((5, "Second"), (3, "First"), (9, "Third")):
        theirs = await group(store, other, created_at=T0, name=name)
        await store.add_member(theirs.id, me.id, at(minute))
    expected = (await store.list_user_groups(me.id, limit=10)).items
    assert [m.group.name for m in expected] == ["Third", "Second", "First", "Mine"]

    full = await overview(store, me, group_limit=10)
    assert [standing.membership for standing in full.groups] == expected
    assert not full.more_groups
    assert (full.groups[-1].membership.role, full.groups[0].membership.role) == ("owner", "member")
    assert all(standing.balances == {} for standing in full.groups)
    assert full.spending == {} and full.recent == []

    exact = await overview(store, me, group_limit=4)
    assert [s.membership for s in exact.groups] == expected and not exact.more_groups
    cut = await overview(store, me, group_limit=2)
    assert [s.membership for s in cut.groups] == expected[:2] and cut.more_groups
    one = await overview(store, me, group_limit=1)
    assert [s.membership for s in one.groups] == expected[:1] and one.more_groups


async def test_dashboard_balances_per_group_and_spending_summed(store: Store) -> None:
    me, x, y = await users(store, 3, prefix=f"s{uuid.uuid4().hex[:6]}")
    home = await group(store, me, created_at=at(1), name="Home")
    await store.add_member(home.id, x.id, at(2))
    trip = await group(store, y, created_at=at(3), name="Trip")
    await store.add_member(trip.id, me.id, at(4))
    elsewhere = await group(store, x, created_at=at(5), name="Elsewhere")  # not mine

    await spend(
        store, expense(home.id, {me.id: 3000}, {me.id: 1500, x.id: 1500}, date="2024-03-02", category="food")
    )
    await spend(
        store,
        expense(
            home.id, {x.id: 800}, {me.id: 400, x.id: 400}, date="2024-04-01", category="food", currency="USD"
        ),
    )
    await spend(
        store, expense(trip.id, {y.id: 1000}, {me.id: 500, y.id: 500}, date="2024-03-20", category="food")
    )
    await spend(
        store, expense(trip.id, {me.id: 600}, {me.id: 300, y.id: 300}, date="2024-03-21", category="taxi")
    )
    await spend(store, expense(elsewhere.id, {x.id: 999}, {x.id: 999}, date="2024-03-02", category="food"))
    # Settled to zero in one currency: the zero is dropped from the group's balances.
    back = settlement(trip.id, me.id, y.id, 200)
    await store.create_settlement(
        back, deltas=moves(back), activity=activity(trip.id, "settlement.created", back.id)
    )

    standing = await overview(store, me)
    assert [(s.membership.group.name, s.balances) for s in standing.groups] == [
        ("Trip", {}),
        ("Home", {"EUR": 1500, "USD": -400}),
    ]
    assert standing.spending == {
        ("2024-03", "food", "EUR"): 2000,
        ("2024-03", "taxi", "EUR"): 300,
        ("2024-04", "food", "USD"): 400,
    }
    # Only the groups returned count.
    assert (await overview(store, me, group_limit=1)).spending == {
        ("2024-03", "food", "EUR"): 500,
        ("2024-03", "taxi", "EUR"): 300,
    }


async def test_dashboard_recent_activity_newest_first_across_groups(store: Store) -> None:
    me, other = await users(store, 2, prefix=f"r{uuid.uuid4().hex[:6]}")
    groups = []
    for i in range(7):  # joined in order: the last is the newest
        made = await group(store, other, created_at=T0, name=f"G{i}")
        await store.add_member(made.id, me.id, at(i + 1))
        groups.append(made)
    # Two rounds of one expense per group: the last round ends in the oldest-joined groups.
    entries = []
    for order in (range(7), reversed(range(7))):
        for i in order:
            entries.append(
                await spend(store, expense(groups[i].id, {other.id: 100}, {me.id: 100}, created_at=at(i)))
            )
    newest = entries[::-1]
    assert (await overview(store, me, recent_limit=3)).recent == newest[:3]
    assert newest[0].group_id == groups[0].id

    # Membership changes and settlements count as activity too.
    newcomer = await user(store, f"newcomer{uuid.uuid4().hex[:6]}")
    joined = activity(groups[3].id, "member.joined", newcomer.id, newcomer.id)
    await store.add_member(groups[3].id, newcomer.id, at(30), joined)
    paid = settlement(groups[5].id, me.id, other.id, 100)
    paid_logged = activity(groups[5].id, "settlement.created", paid.id, me.id)
    await store.create_settlement(paid, deltas=moves(paid), activity=paid_logged)
    left = activity(groups[3].id, "member.left", newcomer.id, newcomer.id)
    await store.remove_member(groups[3].id, newcomer.id, left)
    recent = (await overview(store, me, recent_limit=4)).recent
    assert recent == [left, paid_logged, joined, newest[0]]
    assert [entry.group_id for entry in recent] == [groups[3].id, groups[5].id, groups[3].id, groups[0].id]
    # A limit of groups limits whose activity shows.
    latest_two = await overview(store, me, group_limit=2, recent_limit=3)
    assert {entry.group_id for entry in latest_two.recent} <= {groups[6].id, groups[5].id}
    assert latest_two.recent[0] == paid_logged


async def test_dashboard_lists_a_group_where_the_user_takes_no_part(store: Store) -> None:
    created, a, b, c = await trio(store)
    quiet = await group(store, c, created_at=at(9), name="Quiet")  # no activity at all
    logged = await spend(store, expense(created.id, {a.id: 1000}, {b.id: 1000}, category="rent"))
    standing = await overview(store, c)
    assert [(s.membership.group.id, s.balances) for s in standing.groups] == [
        (quiet.id, {}),
        (created.id, {}),
    ]
    assert standing.spending == {}
    assert standing.recent == [logged]
    assert not standing.more_groups


# chat


def chat(
    group_id: str,
    author_id: str,
    created_at: datetime,
    text: str = "hello",
    message_id: str | None = None,
) -> ChatMessage:
    return ChatMessage(
        id=message_id or uuid.uuid4().hex,
        group_id=group_id,
        author_id=author_id,
        text=text,
        created_at=created_at,
    )


async def all_chat(store: Store, group_id: str) -> list[ChatMessage]:
    return (await store.list_chat_messages(group_id, limit=1000)).items


async def test_chat_messages_are_stored_and_listed_newest_first(store: Store) -> None:
    created, a, b, _ = await trio(store)
    other, *_ = await trio(store)
    first = chat(created.id, a.id, at(1), "hello")
    # Text is stored as given: any characters, up to the limit (4-byte ones included).
    second = chat(created.id, b.id, at(2) + timedelta(microseconds=1), "😀" * MAX_CHAT_MESSAGE_LENGTH)
    elsewhere = chat(other.id, other.owner_id, at(3), "not here")
    for message in (first, second, elsewhere):
        await store.create_chat_message(message)
    assert await store.list_chat_messages(created.id, limit=10) == Page(
        items=[second, first], next_cursor=None
    )
    assert await all_chat(store, other.id) == [elsewhere]
    assert await all_chat(store, "no-such-group") == []


async def test_chat_pages_newest_first_without_gaps(store: Store) -> None:
    created, a, b, c = await trio(store)
    # Several messages share a creation time: ties go by id.
    made = [chat(created.id, (a, b, c)[i % 3].id, at(i % 5), f"message {i}") for i in range(23)]
    for message in made:
        await store.create_chat_message(message)
    expected = sorted(made, key=lambda m: (m.created_at, m.id), reverse=True)
    for limit in (1, 4, 22, 23, 30):
        seen = await collect(
            lambda limit, cursor: store.list_chat_messages(created.id, limit=limit, cursor=cursor),
            limit,
        )
        assert seen == expected
    page = await store.list_chat_messages(created.id, limit=22)
    assert len(page.items) == 22 and page.next_cursor is not None
    assert (await store.list_chat_messages(created.id, limit=23)).next_cursor is None


async def test_only_members_can_post_to_a_chat(store: Store) -> None:
    created, a, b, _ = await trio(store)
    outsider = await user(store, f"outsider{uuid.uuid4().hex[:6]}")
    with pytest.raises(Conflict) as refused:
        await store.create_chat_message(chat(created.id, outsider.id, at(1)))
    assert refused.value.code == "not_a_member"
    assert refused.value.details == {"user_ids": [outsider.id]}

    await store.remove_member(created.id, b.id)
    with pytest.raises(Conflict) as refused:
        await store.create_chat_message(chat(created.id, b.id, at(2)))
    assert refused.value.code == "not_a_member"
    assert await all_chat(store, created.id) == []

    with pytest.raises(NotFound):
        await store.create_chat_message(chat("no-such-group", a.id, at(3)))
    assert await all_chat(store, "no-such-group") == []


async def test_a_chat_message_is_stored_once(store: Store) -> None:
    created, a, _, _ = await trio(store)
    message = chat(created.id, a.id, at(1))
    await store.create_chat_message(message)
    with pytest.raises(Conflict) as refused:
        await store.create_chat_message(message)
    assert refused.value.code == "chat_message_exists"
    assert await all_chat(store, created.id) == [message]


async def test_chat_cursors_are_checked(store: Store) -> None:
    created, a, b, _ = await trio(store)
    for i in range(3):
        await store.create_chat_message(chat(created.id, a.id, at(i)))
    await store.add_member(
        created.id, (await user(store, "late")).id, at(9), activity(created.id, "member.joined", "late")
    )
    await store.remove_member(created.id, b.id, activity(created.id, "member.left", b.id))
    cursor = (await store.list_chat_messages(created.id, limit=1)).next_cursor
    assert cursor is not None
    assert len((await store.list_chat_messages(created.id, limit=1, cursor=cursor)).items) == 1
    foreign = (await store.list_activity(created.id, limit=1)).next_cursor
    assert foreign is not None
    for bad in [
        "garbage!",
        encode_cursor("chat", 7),
        encode_cursor("chat", ["a"]),
        encode_cursor("chat", ["not a time", "x"]),
        encode_cursor("chat", [1, 2]),
        foreign,
    ]:
        with pytest.raises(BadRequest) as refused:
            await store.list_chat_messages(created.id, limit=1, cursor=bad)
        assert refused.value.code == "invalid_cursor"


# DynamoDB only


async def test_create_tables_is_idempotent(moto_url: str) -> None:
    settings = make_dynamodb_settings(moto_url)
    first = await create_tables(settings)
    assert sorted(first) == sorted(
        [
            settings.users_table,
            settings.groups_table,
            settings.expenses_table,
            settings.transactions_table,
            settings.chats_table,
        ]
    )
    assert await create_tables(settings) == []
    async with aioboto3.Session().client(
        "dynamodb", region_name=settings.region, endpoint_url=moto_url
    ) as client:
        for table in (settings.users_table, settings.groups_table):
            ttl = await client.describe_time_to_live(TableName=table)
            assert ttl["TimeToLiveDescription"] == {
                "TimeToLiveStatus": "ENABLED",
                "AttributeName": "ttl",
            }
        groups = (await client.describe_table(TableName=settings.groups_table))["Table"]
        assert groups["TableStatus"] == "ACTIVE"
        assert [i["IndexName"] for i in groups["GlobalSecondaryIndexes"]] == ["by_user"]
        for table in (settings.expenses_table, settings.transactions_table):
            described = (await client.describe_table(TableName=table))["Table"]
            [index] = described["LocalSecondaryIndexes"]
            assert index["IndexName"] == "by_date"
            assert [k["AttributeName"] for k in index["KeySchema"]] == ["pk", "lsi1sk"]


async def test_create_tables_refuses_a_ledger_table_without_its_index(moto_url: str) -> None:
    settings = make_dynamodb_settings(moto_url)
    async with aioboto3.Session().client(
        "dynamodb", region_name=settings.region, endpoint_url=moto_url
    ) as client:
        await client.create_table(
            TableName=settings.expenses_table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
        )
    with pytest.raises(Unavailable, match="by_date"):
        await create_tables(settings)


async def test_settling_checks_are_race_free(dynamodb_settings: DynamoDBSettings) -> None:
    """remove_member and delete_group judge balances they have read; an expense written between
    that read and their transaction must cancel the transaction, not be deleted with the member."""
    async with DynamoDBStore.open(dynamodb_settings) as store:
        created, a, b, _ = await trio(store)
        stale_member = await store._get(  # type: ignore[attr-defined]
            store._groups, {"pk": {"S": f"GROUP#{created.id}"}, "sk": {"S": f"MEMBER#{b.id}"}}
        )
        stale_partition = await store._partition(created.id)  # type: ignore[attr-defined]
        spent = expense(created.id, {a.id: 1000}, {b.id: 1000})
        await store.create_expense(
            spent, deltas=moves(spent), activity=activity(created.id, "expense.created", spent.id)
        )

        real_get, real_partition = store._get, store._partition  # type: ignore[attr-defined]
        stale_reads = {"get": 1, "partition": 1}

        async def get(table, key):  # type: ignore[no-untyped-def]
            if stale_reads["get"]:
                stale_reads["get"] -= 1
                return stale_member
            return await real_get(table, key)

        async def partition(group_id, sk_prefix=None):  # type: ignore[no-untyped-def]
            if stale_reads["partition"] and sk_prefix is None:
                stale_reads["partition"] -= 1
                return stale_partition
            return await real_partition(group_id, sk_prefix)

        store._get, store._partition = get, partition  # type: ignore[attr-defined]
        with pytest.raises(Conflict) as refused:
            await store.remove_member(created.id, b.id)
        assert refused.value.code == "balance_not_settled"
        with pytest.raises(Conflict) as refused:
            await store.delete_group(created.id)
        assert refused.value.code == "balance_not_settled"
        assert stale_reads == {"get": 0, "partition": 0}
        assert (await store.get_group(created.id)).member_count == 3
        assert await store.get_balances(created.id) == as_balances(moves(spent))


async def test_unreachable_dynamodb_is_unavailable() -> None:
    settings = make_dynamodb_settings("http://127.0.0.1:9")
    async with DynamoDBStore.open(settings) as unreachable:
        with pytest.raises(Unavailable):
            await unreachable.ping()


# sign-in identities


async def test_oidc_sign_in_creates_then_finds_and_refreshes(store: Store) -> None:
    first = await store.ensure_oidc_user("https://idp|42", "Zoe@Example.com", "Zoe", None)
    assert (first.email, first.name, first.picture) == ("zoe@example.com", "Zoe", None)
    again = await store.ensure_oidc_user("https://idp|42", "zoe@example.com", "Zoe Q", "https://p/z")
    assert again.id == first.id
    assert (again.name, again.picture) == ("Zoe Q", "https://p/z")
    assert await store.get_user(first.id) == again


async def test_oidc_sign_in_links_an_account_made_by_email(store: Store) -> None:
    invited = await store.ensure_user("yan@example.com", "Yan")
    signed_in = await store.ensure_oidc_user("https://idp|7", "yan@example.com", "Yan Li", None)
    assert signed_in.id == invited.id
    assert signed_in.name == "Yan Li"
    with pytest.raises(Conflict) as caught:
        await store.ensure_oidc_user("https://idp|8", "yan@example.com", "Impostor", None)
    assert caught.value.code == "account_conflict"


async def test_concurrent_first_sign_ins_make_one_user(store: Store) -> None:
    users = await asyncio.gather(
        *(store.ensure_oidc_user("https://idp|99", "xi@example.com", "Xi", None) for _ in range(6))
    )
    assert len({u.id for u in users}) == 1
    assert (await store.find_user_by_email("xi@example.com")).id == users[0].id
