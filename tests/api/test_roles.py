"""Group roles through the real app: handing ownership over, admins and what each role may do, the
activity entries and events role changes leave, and the refusals (403, 404, 409, 422)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from domain import Conflict
from server.keys import SERVICES, STORE
from tests.api.conftest import Actor, Api, store_agnostic
from tests.realtime.wsclient import WsClient


async def owner_to(api: Api, group: dict[str, Any], by: Actor, user_id: Any) -> Any:
    return await api.post(f"/api/groups/{group['id']}/owner", as_=by, json={"user_id": user_id})


async def set_role(api: Api, group: dict[str, Any], by: Actor, user_id: str, role: Any) -> Any:
    return await api.put(f"/api/groups/{group['id']}/members/{user_id}", as_=by, json={"role": role})


async def actions(api: Api, group: dict[str, Any], viewer: Actor) -> list[dict[str, Any]]:
    reply = await api.get(f"/api/groups/{group['id']}/activity", as_=viewer)
    assert reply.status == 200, reply.text
    items: list[dict[str, Any]] = reply.json["items"]
    return items


async def roles(api: Api, group: dict[str, Any], viewer: Actor) -> list[tuple[str, str]]:
    return [(m["user_id"], m["role"]) for m in (await api.group(group["id"], viewer))["members"]]


@pytest.fixture
async def dave(api: Api) -> Actor:
    return await api.user("dave")


@pytest.fixture
async def team(api: Api, alice: Actor, bob: Actor, carol: Actor, dave: Actor) -> dict[str, Any]:
    """Alice's group: Bob and Dave are admins, Carol a plain member."""
    group = await api.create_group(alice)
    await api.join(group["id"], bob, carol, dave)
    for admin in (bob, dave):
        assert (await set_role(api, group, alice, admin.id, "admin")).status == 200
    return await api.group(group["id"], alice)


# --- handing ownership over ---------------------------------------------------------------------


async def test_handover_then_the_former_owner_leaves(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], carol, bob)

    reply = await owner_to(api, group, alice, bob.id)

    assert reply.status == 200, reply.text
    assert reply.json["owner_id"] == bob.id
    assert reply.json["role"] == "admin"
    assert reply.json["version"] == group["version"] + 1
    assert reply.headers["ETag"] == f'"{group["version"] + 1}"'
    # Owner first, then by join time.
    assert [(m["user_id"], m["role"]) for m in reply.json["members"]] == [
        (bob.id, "owner"),
        (alice.id, "admin"),
        (carol.id, "member"),
    ]
    assert (await api.group(group["id"], bob))["role"] == "owner"
    [entry, *_] = await actions(api, group, carol)
    assert (entry["action"], entry["actor_id"], entry["subject_id"]) == (
        "group.owner_changed",
        alice.id,
        bob.id,
    )
    assert entry["details"] == {"owner_id": {"from": alice.id, "to": bob.id}}

    assert (await api.post(f"/api/groups/{group['id']}/leave", as_=alice)).status == 204
    assert await roles(api, group, bob) == [(bob.id, "owner"), (carol.id, "member")]
    left = await api.post(f"/api/groups/{group['id']}/leave", as_=bob)
    assert left.status == 409 and left.error["code"] == "owner_cannot_leave"


async def test_the_new_owner_may_remove_the_former_one(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)
    assert (await owner_to(api, group, alice, bob.id)).status == 200

    assert (await api.delete(f"/api/groups/{group['id']}/members/{alice.id}", as_=bob)).status == 204
    assert (await api.get(f"/api/groups/{group['id']}", as_=alice)).status == 404


async def test_handover_refusals(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)
    group = await api.group(group["id"], alice)

    to_self = await owner_to(api, group, alice, alice.id)
    assert to_self.status == 422 and to_self.error_fields() == {"user_id"}
    to_stranger = await owner_to(api, group, alice, carol.id)
    assert to_stranger.status == 422 and to_stranger.error["code"] == "not_a_member"
    assert to_stranger.error_fields() == {"user_id"}
    by_member = await owner_to(api, group, bob, bob.id)
    assert by_member.status == 403 and by_member.error["code"] == "owner_only"
    by_stranger = await owner_to(api, group, carol, carol.id)
    assert by_stranger.status == 404
    unknown = await api.post("/api/groups/no-such-group/owner", as_=alice, json={"user_id": bob.id})
    assert unknown.status == 404
    assert by_stranger.error["code"] == unknown.error["code"] == "not_found"

    assert await api.group(group["id"], alice) == group
    assert await actions(api, group, alice) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({}, "user_id", id="no-user-id"),
        pytest.param({"user_id": 7}, "user_id", id="not-a-string"),
        pytest.param({"user_id": ""}, "user_id", id="empty"),
        pytest.param({"user_id": "x" * 65}, "user_id", id="too-long"),
        pytest.param({"user_id": "u", "role": "owner"}, "role", id="unknown-field"),
        pytest.param(["u"], "(body)", id="a-list"),
    ],
)
@store_agnostic
async def test_handover_rejects_bad_bodies(api: Api, alice: Actor, body: Any, field: str) -> None:
    group = await api.create_group(alice)

    reply = await api.post(f"/api/groups/{group['id']}/owner", as_=alice, json=body)

    assert reply.status == 422, reply.text
    assert reply.error["code"] == "validation_error"
    assert field in reply.error_fields()


# --- setting roles ------------------------------------------------------------------------------


async def test_owner_makes_a_member_admin_and_back(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)

    promoted = await set_role(api, group, alice, bob.id, "admin")

    assert promoted.status == 200, promoted.text
    assert (promoted.json["user_id"], promoted.json["role"], promoted.json["name"]) == (
        bob.id,
        "admin",
        "Bob",
    )
    assert await roles(api, group, bob) == [(alice.id, "owner"), (bob.id, "admin")]
    assert (await api.group(group["id"], bob))["role"] == "admin"
    [summary] = (await api.get("/api/groups", as_=bob)).json["items"]
    assert summary["role"] == "admin"

    again = await set_role(api, group, alice, bob.id, "admin")
    assert again.status == 200 and again.json == promoted.json
    demoted = await set_role(api, group, alice, bob.id, "member")
    assert demoted.status == 200 and demoted.json["role"] == "member"

    logged = [e for e in await actions(api, group, bob) if e["action"] == "member.role_changed"]
    assert [(e["actor_id"], e["subject_id"], e["details"]) for e in logged] == [
        (alice.id, bob.id, {"role": {"from": "admin", "to": "member"}}),
        (alice.id, bob.id, {"role": {"from": "member", "to": "admin"}}),
    ]
    # A role is the member's, not the group's: its version stays.
    assert (await api.group(group["id"], alice))["version"] == group["version"]


async def test_set_role_refusals(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)

    own = await set_role(api, group, alice, alice.id, "member")
    assert own.status == 409 and own.error["code"] == "owner_role"
    outsider = await set_role(api, group, alice, carol.id, "admin")
    assert outsider.status == 404
    by_member = await set_role(api, group, bob, bob.id, "admin")
    assert by_member.status == 403 and by_member.error["code"] == "owner_only"
    by_stranger = await set_role(api, group, carol, bob.id, "admin")
    assert by_stranger.status == 404
    unknown = await api.put(f"/api/groups/no-such-group/members/{bob.id}", as_=alice, json={"role": "admin"})
    assert unknown.status == 404

    assert await roles(api, group, alice) == [(alice.id, "owner"), (bob.id, "member")]
    assert await actions(api, group, alice) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"role": "owner"}, "role", id="owner"),
        pytest.param({"role": "boss"}, "role", id="unknown-role"),
        pytest.param({"role": None}, "role", id="null"),
        pytest.param({}, "role", id="no-role"),
        pytest.param({"role": "admin", "user_id": "x"}, "user_id", id="unknown-field"),
        pytest.param("admin", "(body)", id="a-string"),
    ],
)
@store_agnostic
async def test_set_role_rejects_bad_bodies(api: Api, alice: Actor, bob: Actor, body: Any, field: str) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)

    reply = await api.put(f"/api/groups/{group['id']}/members/{bob.id}", as_=alice, json=body)

    assert reply.status == 422, reply.text
    assert reply.error["code"] == "validation_error"
    assert field in reply.error_fields()


# --- what each role may do ----------------------------------------------------------------------


async def test_an_admin_renames_invites_revokes_and_removes_a_member(
    api: Api, team: dict[str, Any], alice: Actor, bob: Actor, carol: Actor
) -> None:
    gid = team["id"]

    renamed = await api.put(
        f"/api/groups/{gid}", as_=bob, json={"name": "Bob's trip", "version": team["version"]}
    )
    assert renamed.status == 200, renamed.text
    assert (renamed.json["name"], renamed.json["role"]) == ("Bob's trip", "admin")
    made = await api.post(f"/api/groups/{gid}/invites", as_=bob, json={})
    assert made.status == 201
    alices = await api.post(f"/api/groups/{gid}/invites", as_=alice, json={})
    listed = await api.get(f"/api/groups/{gid}/invites", as_=bob)
    assert listed.status == 200
    assert {i["id"] for i in listed.json["items"]} == {made.json["id"], alices.json["id"]}
    assert (await api.delete(f"/api/groups/{gid}/invites/{alices.json['id']}", as_=bob)).status == 204
    assert (await api.get(f"/api/invites/{alices.json['token']}", as_=carol)).status == 404

    assert (await api.delete(f"/api/groups/{gid}/members/{carol.id}", as_=bob)).status == 204

    assert carol.id not in {m["user_id"] for m in (await api.group(gid, alice))["members"]}
    removed = next(e for e in await actions(api, team, alice) if e["action"] == "member.removed")
    assert (removed["actor_id"], removed["subject_id"]) == (bob.id, carol.id)


async def test_an_admin_cannot_delete_hand_over_set_roles_or_remove_the_owner_or_an_admin(
    api: Api, team: dict[str, Any], alice: Actor, bob: Actor, carol: Actor, dave: Actor
) -> None:
    gid = team["id"]

    refusals = [
        await api.delete(f"/api/groups/{gid}", as_=bob),
        await owner_to(api, team, bob, bob.id),
        await owner_to(api, team, bob, carol.id),
        await set_role(api, team, bob, carol.id, "admin"),
        await set_role(api, team, bob, dave.id, "member"),
        await api.delete(f"/api/groups/{gid}/members/{alice.id}", as_=bob),
        await api.delete(f"/api/groups/{gid}/members/{dave.id}", as_=bob),
    ]

    assert [(r.status, r.error["code"]) for r in refusals] == [(403, "owner_only")] * len(refusals)
    assert await api.group(gid, alice) == team
    # Admins may still leave (and a removed non-member is still 404).
    assert (await api.post(f"/api/groups/{gid}/leave", as_=dave)).status == 204
    assert (await api.delete(f"/api/groups/{gid}/members/{dave.id}", as_=bob)).status == 404


async def test_a_plain_member_can_do_none_of_it(
    api: Api, team: dict[str, Any], alice: Actor, bob: Actor, carol: Actor, dave: Actor
) -> None:
    gid = team["id"]
    bobs = await api.post(f"/api/groups/{gid}/invites", as_=bob, json={})

    refusals = [
        await api.put(f"/api/groups/{gid}", as_=carol, json={"name": "Carol's", "version": team["version"]}),
        await api.delete(f"/api/groups/{gid}/members/{bob.id}", as_=carol),
        await api.delete(f"/api/groups/{gid}/invites/{bobs.json['id']}", as_=carol),
        await api.delete(f"/api/groups/{gid}", as_=carol),
        await owner_to(api, team, carol, carol.id),
        await set_role(api, team, carol, carol.id, "admin"),
    ]

    assert [r.status for r in refusals] == [403] * len(refusals)
    assert [r.error["code"] for r in refusals] == [
        "admin_only",
        "admin_only",
        "not_your_invite",
        "owner_only",
        "owner_only",
        "owner_only",
    ]
    assert await api.group(gid, alice) == team


async def test_strangers_get_404_from_every_role_route(
    api: Api, team: dict[str, Any], carol: Actor, dave: Actor
) -> None:
    outsider = await api.user("eve")
    gid = team["id"]

    replies = [
        await owner_to(api, team, outsider, carol.id),
        await set_role(api, team, outsider, carol.id, "admin"),
        await api.put(f"/api/groups/{gid}", as_=outsider, json={"name": "Eve's", "version": 1}),
        await api.delete(f"/api/groups/{gid}/members/{carol.id}", as_=outsider),
    ]

    assert [(r.status, r.error["code"]) for r in replies] == [(404, "not_found")] * len(replies)


# --- events and direct ledgers ------------------------------------------------------------------


async def connect(api: Api, actor: Actor) -> WsClient:
    reply = await api.post("/api/ws/ticket", as_=actor)
    assert reply.status == 201, reply.text
    client = WsClient(await api.client.ws_connect(f"/api/ws?ticket={reply.json['ticket']}"))
    assert (await client.receive())["type"] == "welcome"
    return client


@store_agnostic
async def test_role_changes_are_announced_to_the_group(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob, carol)
    client = await connect(api, carol)
    assert (await client.subscribe(f"group:{group['id']}"))["ok"]

    assert (await set_role(api, group, alice, bob.id, "admin")).status == 200
    handed = await owner_to(api, group, alice, bob.id)
    assert handed.status == 200

    changed = await client.next_event()
    assert changed["type"] == "member.role_changed"
    assert changed["data"] == {"group_id": group["id"], "user_id": bob.id, "from": "member", "to": "admin"}
    updated = await client.next_event()
    assert updated["type"] == "group.updated"
    assert updated["data"]["owner_id"] == bob.id
    expected = {key: value for key, value in handed.json.items() if key != "role"}
    assert updated["data"] == expected
    await client.close()


@store_agnostic
async def test_direct_ledgers_have_no_roles(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)
    direct = dataclasses.replace(await api.app[STORE].get_group(group["id"]), kind="direct")
    services = api.app[SERVICES]

    with pytest.raises(Conflict) as handover:
        await services.roles.hand_over(direct, alice.id, bob.id)
    with pytest.raises(Conflict) as role:
        await services.roles.set_role(direct, alice.id, bob.id, "admin")

    assert handover.value.code == role.value.code == "direct_ledger"
    assert await roles(api, group, alice) == [(alice.id, "owner"), (bob.id, "member")]
