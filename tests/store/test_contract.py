"""The `Store` contract, run against every backend: SQLite on a temp file, DynamoDB on moto."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aioboto3
import pytest

from domain import BadRequest, Conflict, Group, NotFound, PreconditionFailed, Unavailable, User
from domain.models import MAX_GROUP_MEMBERS, Invite
from store.base import NewGroup, Store, TokenStanding
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
    created = await asyncio.gather(
        *(store.ensure_user("race@example.com", "Race") for _ in range(8))
    )
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
    ghost = User(id="no-such-user", email="ghost@example.com", name="Ghost", picture=None,
                 created_at=T0)
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
        await store.update_group(
            created.id, expected_version=1, changes={"name": "Lost"}, updated_at=at(6)
        )
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
        return Invite(token_hash=token_hash, group_id=created.id, created_by=owner.id,
                      created_at=now - timedelta(days=2), expires_at=expires_at)

    await store.create_invite(invite("expired-yesterday", now - timedelta(days=1)))
    await store.create_invite(invite("fresh", now + timedelta(days=1)))
    assert (await store.get_invite("expired-yesterday")).expires_at < now
    with pytest.raises(Conflict):
        await store.create_invite(invite("fresh", now + timedelta(days=2)))


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


async def test_unreachable_dynamodb_is_unavailable() -> None:
    settings = make_dynamodb_settings("http://127.0.0.1:9")
    async with DynamoDBStore.open(settings) as unreachable:
        with pytest.raises(Unavailable):
            await unreachable.ping()
