"""The parts of "people" working together, through the real app on both backends: friends look
each other up, deleting an account ends its friendships (also the ledgers the deleted user made),
the export reaches groups the caller has left and names everyone it mentions, and a handover's
activity names both owners."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Actor, Api
from tests.api.test_account_deletion import settle, spend


async def befriend(api: Api, actor: Actor, email: str) -> dict[str, Any]:
    reply = await api.post("/api/friends", as_=actor, json={"email": email})
    assert reply.status == 201, reply.text
    added: dict[str, Any] = reply.json
    return added


async def friend_ids(api: Api, viewer: Actor) -> list[str]:
    reply = await api.get("/api/friends", as_=viewer)
    assert reply.status == 200, reply.text
    return [friend["user_id"] for friend in reply.json["items"]]


async def test_friends_look_each_other_up_and_strangers_do_not(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    await befriend(api, alice, bob.email)
    pending = await befriend(api, alice, "newcomer@example.com")

    seen = await api.get(f"/api/users/{bob.id}", as_=alice)
    assert seen.status == 200 and seen.json["name"] == "Bob"
    assert (await api.get(f"/api/users/{alice.id}", as_=bob)).json["email"] == alice.email
    assert (await api.get(f"/api/users/{pending['user_id']}", as_=alice)).status == 200
    assert (await api.get(f"/api/users/{alice.id}", as_=carol)).status == 404
    assert (await api.get(f"/api/users/{pending['user_id']}", as_=bob)).status == 404


async def test_deleting_an_account_ends_its_friendships(api: Api, alice: Actor, bob: Actor) -> None:
    # Alice made the ledger (she is its owner_id); it still ends, and Bob no longer lists her.
    ledger = await befriend(api, alice, bob.email)
    await spend(api, ledger["group_id"], alice, "10.00")
    await settle(api, ledger["group_id"], bob, alice, "5.00")
    trip = await api.create_group(bob, "Trip")
    await api.join(trip["id"], alice)

    assert (await api.delete("/api/user", as_=alice)).status == 204

    assert await friend_ids(api, bob) == []
    direct = await api.get("/api/groups", as_=bob, params={"kind": "direct"})
    assert direct.json["items"] == []
    shown = await api.get(f"/api/users/{alice.id}", as_=bob)
    assert shown.status == 200, shown.text
    assert (shown.json["name"], shown.json["email"], shown.json["deleted"]) == ("Deleted user", None, True)
    # Befriending the erased address makes nobody's ledger with the deleted account.
    again = await befriend(api, bob, alice.email)
    assert again["user_id"] != alice.id


async def test_the_export_reaches_groups_left_and_names_everyone(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    trip = await api.create_group(alice, "Trip")
    await api.join(trip["id"], bob, carol)
    taxi = await spend(api, trip["id"], carol, "30.00")
    await settle(api, trip["id"], bob, carol, "10.00")
    await settle(api, trip["id"], alice, carol, "10.00")
    said = await api.post(f"/api/groups/{trip['id']}/chats", as_=bob, json={"text": "paid"})
    assert (await api.post(f"/api/groups/{trip['id']}/leave", as_=bob)).status == 204
    await befriend(api, bob, alice.email)

    data = (await api.get("/api/user/export", as_=bob)).json

    assert data["groups"][0]["kind"] == "direct" and len(data["groups"]) == 1
    assert data["former_groups"] == [{"id": trip["id"], "name": "Trip", "kind": "group"}]
    assert [e["id"] for e in data["expenses"]] == [taxi["id"]]
    assert [(s["from_user"], s["to_user"]) for s in data["settlements"]] == [(bob.id, carol.id)]
    assert [m["id"] for m in data["chat_messages"]] == [said.json["id"]]
    assert [f["user_id"] for f in data["friends"]] == [alice.id]
    assert {user_id: user["name"] for user_id, user in data["users"].items()} == {
        alice.id: "Alice",
        carol.id: "Carol",
    }


async def test_a_handovers_activity_names_both_owners(api: Api, alice: Actor, bob: Actor) -> None:
    trip = await api.create_group(alice, "Trip")
    await api.join(trip["id"], bob)
    handed = await api.post(f"/api/groups/{trip['id']}/owner", as_=alice, json={"user_id": bob.id})
    assert handed.status == 200, handed.text

    activity = await api.get(f"/api/groups/{trip['id']}/activity", as_=bob)

    entry = next(e for e in activity.json["items"] if e["action"] == "group.owner_changed")
    assert {alice.id, bob.id} <= set(activity.json["users"])
    assert (entry["actor_id"], entry["subject_id"]) == (alice.id, bob.id)
