"""Invite links can be listed, revoked and capped (issue 11, defect 6): the live ones are listed
without their tokens, the owner or the maker revokes one, a capped link lets in exactly as many
people as it says even when they race, a leaver's links die, and a removed member stays out of
every link made before the removal, the one they joined with included."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from handlers.components import inlined
from server.keys import SERVICES
from tests.api.conftest import Actor, Api


async def _invite(api: Api, group_id: str, by: Actor, **body: object) -> dict[str, Any]:
    reply = await api.post(f"/api/groups/{group_id}/invites", as_=by, json=body)
    assert reply.status == 201, reply.text
    invite: dict[str, Any] = reply.json
    return invite


async def _live_ids(api: Api, group_id: str, viewer: Actor) -> list[str]:
    reply = await api.get(f"/api/groups/{group_id}/invites", as_=viewer)
    assert reply.status == 200, reply.text
    return [item["id"] for item in reply.json["items"]]


async def _accept(api: Api, token: str, who: Actor) -> Any:
    return await api.post(f"/api/invites/{token}/accept", as_=who)


async def test_live_links_are_listed_without_their_tokens(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)
    before = datetime.now(timezone.utc)
    made = await _invite(api, group["id"], bob, max_uses=3, expires_in_hours=2)
    assert made["max_uses"] == 3
    unlimited = await _invite(api, group["id"], alice)
    assert unlimited["max_uses"] is None
    assert (await _accept(api, made["token"], carol)).status == 201

    reply = await api.get(f"/api/groups/{group['id']}/invites", as_=bob)

    assert reply.status == 200
    assert reply.json["next_cursor"] is None
    # Ids order by millisecond, so two links made in one may list either way round.
    listed = {item["id"]: item for item in reply.json["items"]}
    assert set(listed) == {made["id"], unlimited["id"]}
    assert listed[unlimited["id"]]["max_uses"] is None
    older = listed[made["id"]]
    assert older == {
        "id": made["id"],
        "group_id": group["id"],
        "created_by": bob.id,
        "created_at": older["created_at"],
        "expires_at": made["expires_at"],
        "max_uses": 3,
        "uses": 1,
    }
    assert before <= datetime.fromisoformat(older["created_at"]) <= datetime.now(timezone.utc)
    assert made["token"] not in reply.text and unlimited["token"] not in reply.text
    assert (await api.get(f"/api/groups/{group['id']}/invites", as_=await api.user("dave"))).status == 404


async def test_live_links_are_paged(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)
    made = [(await _invite(api, group["id"], alice))["id"] for _ in range(3)]

    first = await api.get(f"/api/groups/{group['id']}/invites?limit=2", as_=alice)
    second = await api.get(
        f"/api/groups/{group['id']}/invites?limit=2&cursor={first.json['next_cursor']}", as_=alice
    )
    foreign = await api.get(f"/api/groups/{group['id']}/invites?cursor=bm90LW91cnM", as_=alice)

    assert first.status == second.status == 200
    assert second.json["next_cursor"] is None
    listed = [i["id"] for i in first.json["items"] + second.json["items"]]
    assert sorted(listed) == sorted(made) and len(set(listed)) == 3
    assert foreign.status == 400


async def test_expired_links_are_not_listed(api: Api, alice: Actor, monkeypatch: pytest.MonkeyPatch) -> None:
    group = await api.create_group(alice)
    await _invite(api, group["id"], alice, expires_in_hours=1)
    later = datetime.now(timezone.utc) + timedelta(hours=1, seconds=1)
    monkeypatch.setattr(api.app[SERVICES].invites, "clock", lambda: later)

    assert await _live_ids(api, group["id"], alice) == []


async def test_owner_or_maker_revokes_a_link(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob, carol)
    bobs = await _invite(api, group["id"], bob)
    bobs_other = await _invite(api, group["id"], bob)
    url = f"/api/groups/{group['id']}/invites"

    by_carol = await api.delete(f"{url}/{bobs['id']}", as_=carol)
    by_stranger = await api.delete(f"{url}/{bobs['id']}", as_=await api.user("dave"))
    by_owner = await api.delete(f"{url}/{bobs['id']}", as_=alice)
    by_maker = await api.delete(f"{url}/{bobs_other['id']}", as_=bob)
    again = await api.delete(f"{url}/{bobs['id']}", as_=alice)

    assert by_carol.status == 403 and by_carol.error["code"] == "not_your_invite"
    assert by_stranger.status == 404
    assert by_owner.status == by_maker.status == 204
    assert again.status == 404
    assert await _live_ids(api, group["id"], alice) == []
    for token in (bobs["token"], bobs_other["token"]):
        assert (await api.get(f"/api/invites/{token}", as_=carol)).status == 404
        assert (await _accept(api, token, await api.user(f"x{token[:6]}"))).status == 404
    activity = (await api.get(f"/api/groups/{group['id']}/activity", as_=alice)).json["items"]
    revoked = [(e["actor_id"], e["subject_id"]) for e in activity if e["action"] == "invite.revoked"]
    assert sorted(revoked) == sorted([(alice.id, bobs["id"]), (bob.id, bobs_other["id"])])


async def test_a_one_use_link_lets_exactly_one_of_two_racers_in(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group = await api.create_group(alice)
    invite = await _invite(api, group["id"], alice, max_uses=1)

    replies = await asyncio.gather(_accept(api, invite["token"], bob), _accept(api, invite["token"], carol))

    assert sorted(r.status for r in replies) == [201, 410], [r.text for r in replies]
    loser = next(r for r in replies if r.status == 410)
    assert loser.error["code"] == "invite_used_up"
    assert (await api.group(group["id"], alice))["member_count"] == 2
    preview = await api.get(f"/api/invites/{invite['token']}", as_=await api.user("dave"))
    assert preview.status == 410 and preview.error["code"] == "invite_used_up"
    assert await _live_ids(api, group["id"], alice) == [], "a used-up link is not live"


async def test_a_removed_member_cannot_rejoin_through_their_link(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    invite = await _invite(api, group["id"], alice)
    assert (await _accept(api, invite["token"], bob)).status == 201
    removed = await api.delete(f"/api/groups/{group['id']}/members/{bob.id}", as_=alice)
    assert removed.status == 204

    again = await _accept(api, invite["token"], bob)

    assert again.status == 403
    assert again.error["code"] == "removed_from_group"
    assert (await api.get(f"/api/groups/{group['id']}", as_=bob)).status == 404
    assert (await api.group(group["id"], alice))["member_count"] == 1
    newer = await _invite(api, group["id"], alice)
    assert (await _accept(api, newer["token"], bob)).status == 201, "a link made later lets them back"


async def test_a_member_who_left_may_come_back_through_the_same_link(
    api: Api, alice: Actor, bob: Actor
) -> None:
    group = await api.create_group(alice)
    invite = await _invite(api, group["id"], alice)
    assert (await _accept(api, invite["token"], bob)).status == 201
    assert (await api.post(f"/api/groups/{group['id']}/leave", as_=bob)).status == 204

    assert (await _accept(api, invite["token"], bob)).status == 201


@pytest.mark.parametrize("how", ["removed", "left"])
async def test_a_departed_members_links_die(
    api: Api, alice: Actor, bob: Actor, carol: Actor, how: str
) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)
    bobs = await _invite(api, group["id"], bob)
    alices = await _invite(api, group["id"], alice)
    if how == "removed":
        gone = await api.delete(f"/api/groups/{group['id']}/members/{bob.id}", as_=alice)
    else:
        gone = await api.post(f"/api/groups/{group['id']}/leave", as_=bob)
    assert gone.status == 204

    assert (await api.get(f"/api/invites/{bobs['token']}", as_=carol)).status == 404
    assert (await _accept(api, bobs["token"], carol)).status == 404
    assert await _live_ids(api, group["id"], alice) == [alices["id"]]
    await api.join(group["id"], bob)
    assert (await api.get(f"/api/invites/{bobs['token']}", as_=carol)).status == 404, (
        "rejoining revives nothing"
    )
    assert (await api.delete(f"/api/groups/{group['id']}/invites/{bobs['id']}", as_=alice)).status == 404


async def test_the_openapi_document_declares_the_new_operations(api: Api, alice: Actor) -> None:
    document = inlined((await api.get("/api/openapi.json", as_=alice)).json)
    collection = document["paths"]["/api/groups/{group_id}/invites"]
    one = document["paths"]["/api/groups/{group_id}/invites/{invite_id}"]

    assert {"get", "post"} <= set(collection)
    assert set(one["delete"]["responses"]) >= {"204", "403", "404"}
    assert '"token"' not in json.dumps(collection["get"]["responses"]["200"])
    accept = document["paths"]["/api/invites/{token}/accept"]["post"]["responses"]
    assert {"403", "404", "410"} <= set(accept)
