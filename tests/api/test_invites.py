"""Invite links: members make them, anyone signed in may preview and accept one."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from domain import Invite
from domain.models import MAX_GROUP_MEMBERS
from server.keys import SERVICES
from tests.api.conftest import FRONTEND, Actor, Api, store_agnostic


async def _invite(api: Api, group_id: str, by: Actor, **body: object) -> dict[str, Any]:
    reply = await api.post(f"/api/groups/{group_id}/invites", as_=by, json=body)
    assert reply.status == 201, reply.text
    invite: dict[str, Any] = reply.json
    return invite


async def test_member_creates_invite(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)
    before = datetime.now(timezone.utc)

    reply = await api.post(f"/api/groups/{group['id']}/invites", as_=bob, json={})

    assert reply.status == 201
    invite = reply.json
    assert invite["group_id"] == group["id"]
    assert len(invite["token"]) >= 32
    assert invite["url"] == f"{FRONTEND}/invite/{invite['token']}"
    expires = datetime.fromisoformat(invite["expires_at"])
    assert before + timedelta(days=7) - timedelta(minutes=1) < expires
    assert expires < datetime.now(timezone.utc) + timedelta(days=7, minutes=1)


async def test_invite_lifetime_can_be_chosen(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)

    invite = await _invite(api, group["id"], alice, expires_in_hours=1)

    expires = datetime.fromisoformat(invite["expires_at"])
    assert abs(expires - (datetime.now(timezone.utc) + timedelta(hours=1))) < timedelta(minutes=1)


async def test_invites_are_unique(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)

    first = await _invite(api, group["id"], alice)
    second = await _invite(api, group["id"], alice)

    assert first["token"] != second["token"]


async def test_outsider_cannot_create_invite(api: Api, alice: Actor, carol: Actor) -> None:
    group = await api.create_group(alice)

    reply = await api.post(f"/api/groups/{group['id']}/invites", as_=carol, json={})

    assert reply.status == 404


@store_agnostic
@pytest.mark.parametrize("hours", [0, 721, "24"])
async def test_invite_lifetime_out_of_range(api: Api, alice: Actor, hours: object) -> None:
    group = await api.create_group(alice)

    reply = await api.post(f"/api/groups/{group['id']}/invites", as_=alice, json={"expires_in_hours": hours})

    assert reply.status == 422
    assert reply.error_fields() == {"expires_in_hours"}


async def test_preview_invite(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    group = await api.create_group(alice, "Beach house")
    await api.join(group["id"], bob)
    invite = await _invite(api, group["id"], bob)

    reply = await api.get(f"/api/invites/{invite['token']}", as_=carol)

    assert reply.status == 200
    assert reply.json["group"] == {"id": group["id"], "name": "Beach house", "member_count": 2}
    assert reply.json["invited_by"] == "Bob"
    assert reply.json["expires_at"] == invite["expires_at"]
    assert (await api.get(f"/api/groups/{group['id']}", as_=carol)).status == 404


async def test_accept_invite_then_again(api: Api, alice: Actor, carol: Actor) -> None:
    group = await api.create_group(alice)
    invite = await _invite(api, group["id"], alice)

    first = await api.post(f"/api/invites/{invite['token']}/accept", as_=carol)
    again = await api.post(f"/api/invites/{invite['token']}/accept", as_=carol)

    assert first.status == 201, first.text
    assert first.json["id"] == group["id"]
    assert first.json["role"] == "member"
    assert first.json["member_count"] == 2
    assert (carol.id, "member") in [(m["user_id"], m["role"]) for m in first.json["members"]]
    assert again.status == 200
    assert again.json["member_count"] == 2
    assert (await api.group(group["id"], carol))["member_count"] == 2
    assert [g["id"] for g in (await api.get("/api/groups", as_=carol)).json["items"]] == [group["id"]]


async def test_owner_accepting_own_invite_stays_owner(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)
    invite = await _invite(api, group["id"], alice)

    reply = await api.post(f"/api/invites/{invite['token']}/accept", as_=alice)

    assert reply.status == 200
    assert reply.json["role"] == "owner"
    assert reply.json["member_count"] == 1


async def test_unknown_invite(api: Api, carol: Actor) -> None:
    preview = await api.get("/api/invites/no-such-token", as_=carol)
    accept = await api.post("/api/invites/no-such-token/accept", as_=carol)

    assert preview.status == accept.status == 404


async def test_expired_invite_is_410(
    api: Api, alice: Actor, carol: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = await api.create_group(alice)
    token = "expired-invite-token-0123456789abcdef"
    now = datetime.now(timezone.utc)
    # Stored while still valid (SQLite drops invites that are already expired when one is
    # stored), then the clock the handlers read moves past its expiry.
    await api.store.create_invite(
        Invite(
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            group_id=group["id"],
            created_by=alice.id,
            created_at=now - timedelta(days=7),
            expires_at=now + timedelta(hours=1),
        )
    )
    assert (await api.get(f"/api/invites/{token}", as_=carol)).status == 200
    monkeypatch.setattr(api.app[SERVICES].invites, "clock", lambda: now + timedelta(hours=1, seconds=1))

    preview = await api.get(f"/api/invites/{token}", as_=carol)
    accept = await api.post(f"/api/invites/{token}/accept", as_=carol)

    assert preview.status == accept.status == 410
    assert preview.error["code"] == accept.error["code"] == "invite_expired"
    assert (await api.group(group["id"], alice))["member_count"] == 1


async def test_full_group(api: Api, alice: Actor, carol: Actor) -> None:
    group = await api.create_group(alice)
    others = [await api.user(f"member{n:02d}") for n in range(MAX_GROUP_MEMBERS - 2)]
    await api.join(group["id"], *others)
    invite = await _invite(api, group["id"], alice)
    last = await api.user("last")
    assert (await api.post(f"/api/invites/{invite['token']}/accept", as_=last)).status == 201

    reply = await api.post(f"/api/invites/{invite['token']}/accept", as_=carol)

    assert reply.status == 409
    assert reply.error["code"] == "group_full"
    assert (await api.group(group["id"], alice))["member_count"] == MAX_GROUP_MEMBERS
    assert (await api.get(f"/api/groups/{group['id']}", as_=carol)).status == 404
    again = await api.post(f"/api/invites/{invite['token']}/accept", as_=last)
    assert again.status == 200, "an existing member is welcome even in a full group"


async def test_invite_of_deleted_group(api: Api, alice: Actor, carol: Actor) -> None:
    group = await api.create_group(alice)
    invite = await _invite(api, group["id"], alice)
    assert (await api.delete(f"/api/groups/{group['id']}", as_=alice)).status == 204

    preview = await api.get(f"/api/invites/{invite['token']}", as_=carol)
    accept = await api.post(f"/api/invites/{invite['token']}/accept", as_=carol)

    assert preview.status == accept.status == 404
    assert (await api.get("/api/groups", as_=carol)).json["items"] == []
