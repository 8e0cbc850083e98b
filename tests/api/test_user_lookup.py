"""Looking someone up: `GET /api/users/{id}` shows anyone the caller shares a group with (now, or
who belonged to one of the caller's groups before), and answers everyone else exactly as it
answers an id that names nobody."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Actor, Api


async def look_up(api: Api, viewer: Actor, user_id: str) -> Any:
    return await api.get(f"/api/users/{user_id}", as_=viewer)


async def test_a_member_sees_another_member(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)

    reply = await look_up(api, alice, bob.id)

    assert reply.status == 200
    assert reply.json == {
        "id": bob.id,
        "name": "Bob",
        "picture": None,
        "email": "bob@example.com",
        "deleted": False,
    }
    assert (await look_up(api, bob, alice.id)).json["name"] == "Alice"


async def test_everyone_can_see_themselves(api: Api, alice: Actor) -> None:
    reply = await look_up(api, alice, alice.id)

    assert reply.status == 200 and reply.json["email"] == "alice@example.com"


async def test_a_stranger_is_answered_like_an_unknown_id(api: Api, alice: Actor, bob: Actor) -> None:
    await api.create_group(bob)

    stranger = await look_up(api, alice, bob.id)
    unknown = await look_up(api, alice, "0" * 32)

    assert stranger.status == unknown.status == 404
    assert {**stranger.error, "request_id": ""} == {**unknown.error, "request_id": ""}
    assert stranger.error["code"] == "not_found"
    too_long = await look_up(api, alice, "a" * 2000)
    assert {**too_long.error, "request_id": ""} == {**unknown.error, "request_id": ""}


async def test_a_former_member_stays_visible_with_their_name(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob, carol)
    assert (await api.patch("/api/user", as_=carol, json={"name": "Carol C."})).status == 200
    assert (await api.post(f"/api/groups/{group['id']}/leave", as_=carol)).status == 204

    for viewer in (alice, bob):
        reply = await look_up(api, viewer, carol.id)
        assert reply.status == 200
        assert (reply.json["name"], reply.json["deleted"]) == ("Carol C.", False)
    # Having left, Carol no longer sees the group's people (she shares nothing else with them).
    assert (await look_up(api, carol, alice.id)).status == 404
    assert (await look_up(api, carol, bob.id)).status == 404


async def test_someone_who_joined_through_a_link_is_visible(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    made = await api.post(f"/api/groups/{group['id']}/invites", as_=alice, json={})
    assert made.status == 201, made.text
    assert (await api.post(f"/api/invites/{made.json['token']}/accept", as_=bob)).status == 201
    assert (await api.post(f"/api/groups/{group['id']}/leave", as_=bob)).status == 204

    assert (await look_up(api, alice, bob.id)).json["name"] == "Bob"


async def test_sharing_one_group_is_enough(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    mine = await api.create_group(alice, "Alice's")
    theirs = await api.create_group(bob, "Bob's")
    await api.join(theirs["id"], carol)
    await api.join(mine["id"], bob)

    assert (await look_up(api, alice, bob.id)).status == 200
    assert (await look_up(api, alice, carol.id)).status == 404
    assert (await look_up(api, carol, bob.id)).status == 200
    assert (await look_up(api, carol, alice.id)).status == 404


async def test_looking_up_needs_a_token(api: Api, alice: Actor) -> None:
    assert (await api.get(f"/api/users/{alice.id}")).status == 401
