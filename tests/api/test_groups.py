"""Groups: create, list, read, change, delete, and membership changes, with their access rules."""

from __future__ import annotations

import pytest

from ledger import CURRENCY_EXPONENTS
from tests.api.conftest import Actor, Api, store_agnostic

# --- create -------------------------------------------------------------------------------------


async def test_create_group(api: Api, alice: Actor) -> None:
    reply = await api.post("/api/groups", as_=alice, json={"name": "  Ski trip  "})

    assert reply.status == 201
    group = reply.json
    assert group["name"] == "Ski trip"
    assert group["default_currency"] == "USD"
    assert group["description"] == ""
    assert group["version"] == 1
    assert group["owner_id"] == alice.id
    assert group["role"] == "owner"
    assert group["member_count"] == 1
    assert reply.headers["ETag"] == '"1"'
    assert [(m["user_id"], m["role"]) for m in group["members"]] == [(alice.id, "owner")]
    assert (await api.group(group["id"], alice))["name"] == "Ski trip"


async def test_create_group_with_every_field(api: Api, alice: Actor) -> None:
    reply = await api.post(
        "/api/groups",
        as_=alice,
        json={"name": "Flat", "description": " rent and bills ", "default_currency": "EUR"},
    )

    assert reply.status == 201
    assert reply.json["description"] == "rent and bills"
    assert reply.json["default_currency"] == "EUR"


@store_agnostic
@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"name": ""}, "name", id="empty-name"),
        pytest.param({"name": "   "}, "name", id="whitespace-name"),
        pytest.param({"name": "x" * 101}, "name", id="101-char-name"),
        pytest.param({"name": "Trip", "colour": "red"}, "colour", id="unknown-field"),
        pytest.param({"name": "Trip", "default_currency": "XYZ"}, "default_currency", id="bad-currency"),
        pytest.param({"name": 42}, "name", id="name-not-a-string"),
        pytest.param({}, "name", id="no-name"),
        pytest.param(["Trip"], "(body)", id="body-is-a-list"),
        pytest.param("Trip", "(body)", id="body-is-a-string"),
    ],
)
async def test_create_group_rejects(api: Api, alice: Actor, body: object, field: str) -> None:
    assert "XYZ" not in CURRENCY_EXPONENTS

    reply = await api.post("/api/groups", as_=alice, json=body)

    assert reply.status == 422, reply.text
    assert reply.error["code"] == "validation_error"
    assert field in reply.error_fields(), reply.error
    assert (await api.get("/api/groups", as_=alice)).json["items"] == []


async def test_name_of_100_characters_after_trimming_is_accepted(api: Api, alice: Actor) -> None:
    reply = await api.post("/api/groups", as_=alice, json={"name": "  " + "x" * 100 + "  "})

    assert reply.status == 201
    assert reply.json["name"] == "x" * 100


# --- list ---------------------------------------------------------------------------------------


async def test_list_pages_newest_first(api: Api, alice: Actor, bob: Actor) -> None:
    created = [(await api.create_group(alice, f"Group {n:02d}"))["id"] for n in range(25)]
    await api.create_group(bob, "Not Alice's")

    seen: list[str] = []
    sizes: list[int] = []
    cursor = None
    for _ in range(5):
        params = {"limit": "10", **({"cursor": cursor} if cursor else {})}
        reply = await api.get("/api/groups", as_=alice, params=params)
        assert reply.status == 200, reply.text
        sizes.append(len(reply.json["items"]))
        seen += [item["id"] for item in reply.json["items"]]
        cursor = reply.json["next_cursor"]
        if cursor is None:
            break

    assert sizes == [10, 10, 5]
    assert cursor is None
    assert seen == created[::-1]


async def test_list_default_page(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)

    reply = await api.get("/api/groups", as_=alice)

    assert reply.status == 200
    assert reply.json["next_cursor"] is None
    [item] = reply.json["items"]
    assert item["id"] == group["id"]
    assert item["role"] == "owner"
    assert item["member_count"] == 1


async def test_list_with_garbage_cursor(api: Api, alice: Actor) -> None:
    await api.create_group(alice)

    for cursor in ("garbage!!", "eyJrIjoib3RoZXIiLCJwIjpbXX0"):  # the second: {"k":"other","p":[]}
        reply = await api.get("/api/groups", as_=alice, params={"cursor": cursor})
        assert reply.status == 400, cursor
        assert reply.error["code"] == "invalid_cursor"


@store_agnostic
@pytest.mark.parametrize("limit", ["0", "101", "abc", "-1"])
async def test_list_with_bad_limit(api: Api, alice: Actor, limit: str) -> None:
    reply = await api.get("/api/groups", as_=alice, params={"limit": limit})

    assert reply.status == 422
    assert reply.error_fields() == {"limit"}


# --- read ---------------------------------------------------------------------------------------


async def test_get_group_as_member(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)

    reply = await api.get(f"/api/groups/{group['id']}", as_=bob)

    assert reply.status == 200
    assert reply.json["role"] == "member"
    assert reply.json["member_count"] == 2
    assert [(m["user_id"], m["role"]) for m in reply.json["members"]] == [
        (alice.id, "owner"),
        (bob.id, "member"),
    ]
    assert reply.headers["ETag"].startswith('"1.')


async def test_outsider_and_missing_group_look_the_same(api: Api, alice: Actor, carol: Actor) -> None:
    group = await api.create_group(alice)

    hidden = await api.get(f"/api/groups/{group['id']}", as_=carol)
    missing = await api.get("/api/groups/0123456789abcdef0123456789abcdef", as_=carol)

    assert hidden.status == missing.status == 404
    assert hidden.error["code"] == missing.error["code"] == "not_found"
    assert hidden.error["message"] == missing.error["message"]
    assert set(hidden.error) == set(missing.error)


# --- change -------------------------------------------------------------------------------------


async def test_owner_changes_group_with_if_match(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)

    reply = await api.put(
        f"/api/groups/{group['id']}",
        as_=alice,
        headers={"If-Match": '"1"'},
        json={"name": " Renamed ", "default_currency": "GBP"},
    )

    assert reply.status == 200, reply.text
    assert reply.json["version"] == 2
    assert reply.json["name"] == "Renamed"
    assert reply.json["default_currency"] == "GBP"
    assert reply.headers["ETag"] == '"2"'
    assert (await api.group(group["id"], alice))["name"] == "Renamed"


async def test_owner_changes_group_with_version_in_body(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)

    reply = await api.put(f"/api/groups/{group['id']}", as_=alice, json={"description": "new", "version": 1})

    assert reply.status == 200, reply.text
    assert reply.json["version"] == 2
    assert reply.json["description"] == "new"
    assert reply.headers["ETag"] == '"2"'


async def test_stale_if_match_changes_nothing(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)
    path = f"/api/groups/{group['id']}"
    assert (await api.put(path, as_=alice, json={"name": "First", "version": 1})).status == 200

    reply = await api.put(path, as_=alice, headers={"If-Match": '"1"'}, json={"name": "Second"})

    assert reply.status == 412
    assert reply.error["code"] == "version_mismatch"
    current = await api.group(group["id"], alice)
    assert (current["name"], current["version"]) == ("First", 2)


async def test_stale_version_in_body_changes_nothing(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)
    path = f"/api/groups/{group['id']}"
    assert (await api.put(path, as_=alice, json={"name": "First", "version": 1})).status == 200

    reply = await api.put(path, as_=alice, json={"name": "Second", "version": 1})

    assert reply.status == 412
    assert (await api.group(group["id"], alice))["name"] == "First"


async def test_change_without_version_is_428(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)

    reply = await api.put(f"/api/groups/{group['id']}", as_=alice, json={"name": "New"})

    assert reply.status == 428
    assert reply.error["code"] == "version_required"
    assert (await api.group(group["id"], alice))["name"] == "Trip"


async def test_member_cannot_change_group(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)

    reply = await api.put(f"/api/groups/{group['id']}", as_=bob, json={"name": "Bob's", "version": 1})

    assert reply.status == 403
    assert reply.error["code"] == "admin_only"
    assert (await api.group(group["id"], alice))["name"] == "Trip"


async def test_outsider_cannot_change_group(api: Api, alice: Actor, carol: Actor) -> None:
    group = await api.create_group(alice)

    reply = await api.put(f"/api/groups/{group['id']}", as_=carol, json={"name": "Carol's", "version": 1})

    assert reply.status == 404
    assert (await api.group(group["id"], alice))["name"] == "Trip"


async def test_change_with_only_version_is_422(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)

    reply = await api.put(f"/api/groups/{group['id']}", as_=alice, json={"version": 1})

    assert reply.status == 422
    assert reply.error_fields()
    assert (await api.group(group["id"], alice))["version"] == 1


async def test_change_with_empty_body_is_422(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)

    reply = await api.put(f"/api/groups/{group['id']}", as_=alice, headers={"If-Match": '"1"'}, json={})

    assert reply.status == 422


async def test_change_with_garbage_if_match_is_422(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)

    reply = await api.put(
        f"/api/groups/{group['id']}", as_=alice, headers={"If-Match": "nope"}, json={"name": "New"}
    )

    assert reply.status == 422
    assert reply.error_fields() == {"If-Match"}


# --- delete -------------------------------------------------------------------------------------


async def test_member_cannot_delete_group(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)

    reply = await api.delete(f"/api/groups/{group['id']}", as_=bob)

    assert reply.status == 403
    assert (await api.group(group["id"], bob))["member_count"] == 2


async def test_owner_deletes_group(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    keep = await api.create_group(alice, "Keep")
    await api.join(group["id"], bob)

    reply = await api.delete(f"/api/groups/{group['id']}", as_=alice)

    assert reply.status == 204
    for user in (alice, bob):
        assert (await api.get(f"/api/groups/{group['id']}", as_=user)).status == 404
        listed = await api.get("/api/groups", as_=user)
        assert group["id"] not in [item["id"] for item in listed.json["items"]]
    assert [item["id"] for item in (await api.get("/api/groups", as_=alice)).json["items"]] == [keep["id"]]


async def test_delete_with_current_if_match(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)

    reply = await api.delete(f"/api/groups/{group['id']}", as_=alice, headers={"If-Match": '"1"'})

    assert reply.status == 204


async def test_delete_with_stale_if_match_is_412(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)
    path = f"/api/groups/{group['id']}"
    assert (await api.put(path, as_=alice, json={"name": "New", "version": 1})).status == 200

    reply = await api.delete(path, as_=alice, headers={"If-Match": '"1"'})

    assert reply.status == 412
    assert (await api.group(group["id"], alice))["version"] == 2


# --- members ------------------------------------------------------------------------------------


async def test_owner_removes_member(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)

    reply = await api.delete(f"/api/groups/{group['id']}/members/{bob.id}", as_=alice)

    assert reply.status == 204
    after = await api.group(group["id"], alice)
    assert after["member_count"] == 1
    assert [m["user_id"] for m in after["members"]] == [alice.id]
    assert (await api.get(f"/api/groups/{group['id']}", as_=bob)).status == 404


async def test_member_cannot_remove_another(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob, carol)

    reply = await api.delete(f"/api/groups/{group['id']}/members/{carol.id}", as_=bob)

    assert reply.status == 403
    assert (await api.group(group["id"], carol))["member_count"] == 3


async def test_member_removes_self(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)

    reply = await api.delete(f"/api/groups/{group['id']}/members/{bob.id}", as_=bob)

    assert reply.status == 204
    assert (await api.group(group["id"], alice))["member_count"] == 1
    assert (await api.get("/api/groups", as_=bob)).json["items"] == []


async def test_removing_a_non_member_is_404(api: Api, alice: Actor, carol: Actor) -> None:
    group = await api.create_group(alice)

    reply = await api.delete(f"/api/groups/{group['id']}/members/{carol.id}", as_=alice)

    assert reply.status == 404
    assert (await api.group(group["id"], alice))["member_count"] == 1


async def test_member_leaves(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)

    reply = await api.post(f"/api/groups/{group['id']}/leave", as_=bob)

    assert reply.status == 204
    assert (await api.group(group["id"], alice))["member_count"] == 1
    assert (await api.get(f"/api/groups/{group['id']}", as_=bob)).status == 404


async def test_outsider_cannot_leave(api: Api, alice: Actor, carol: Actor) -> None:
    group = await api.create_group(alice)

    reply = await api.post(f"/api/groups/{group['id']}/leave", as_=carol)

    assert reply.status == 404


async def test_owner_cannot_leave(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)

    reply = await api.post(f"/api/groups/{group['id']}/leave", as_=alice)

    assert reply.status == 409
    assert reply.error["code"] == "owner_cannot_leave"
    assert (await api.group(group["id"], alice))["member_count"] == 1


async def test_owner_cannot_remove_self(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)

    reply = await api.delete(f"/api/groups/{group['id']}/members/{alice.id}", as_=alice)

    assert reply.status == 409
    assert reply.error["code"] == "owner_cannot_leave"
    assert (await api.group(group["id"], alice))["member_count"] == 1


async def test_delete_with_garbage_if_match_is_422(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)

    reply = await api.delete(f"/api/groups/{group['id']}", as_=alice, headers={"If-Match": "nope"})

    assert reply.status == 422
    assert reply.error_fields() == {"If-Match"}
    assert (await api.group(group["id"], alice))["version"] == 1
