"""Conditional reads (issue 14, part 2): every GET of a resource or a list answers an ETag, and
If-None-Match with it answers 304 without a body until the answer would change, including changes
that bump no version (someone renaming themselves). The ETag a GET returns still works as If-Match."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Actor, Api, Reply, store_agnostic


async def trio_group(api: Api, alice: Actor, bob: Actor) -> str:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)
    return str(group["id"])


async def add_expense(api: Api, group_id: str, payer: Actor, description: str = "Taxi") -> dict[str, Any]:
    reply = await api.post(
        f"/api/groups/{group_id}/expenses", as_=payer, json={"description": description, "amount": "30.00"}
    )
    assert reply.status == 201, reply.text
    expense: dict[str, Any] = reply.json
    return expense


async def revalidate(api: Api, path: str, viewer: Actor, etag: str) -> Reply:
    return await api.get(path, as_=viewer, headers={"If-None-Match": etag})


def assert_not_modified(reply: Reply, etag: str) -> None:
    assert reply.status == 304, reply.text
    assert reply.text == ""
    assert reply.headers["ETag"] == etag
    assert reply.headers["Cache-Control"] == "private, no-cache"
    assert "Authorization" in reply.headers["Vary"]
    assert "Content-Type" not in reply.headers


async def rename(api: Api, actor: Actor, name: str) -> None:
    reply = await api.patch("/api/user", as_=actor, json={"name": name})
    assert reply.status == 200, reply.text


async def test_lists_answer_304_until_an_expense_changes_them(api: Api, alice: Actor, bob: Actor) -> None:
    group_id = await trio_group(api, alice, bob)
    await add_expense(api, group_id, alice)
    lists = [f"/api/groups/{group_id}/{name}" for name in ("expenses", "balances", "activity")]
    first = {path: await api.get(path, as_=bob) for path in lists}

    for path, reply in first.items():
        assert reply.status == 200, reply.text
        assert reply.headers["Cache-Control"] == "private, no-cache"
        assert_not_modified(await revalidate(api, path, bob, reply.headers["ETag"]), reply.headers["ETag"])

    await add_expense(api, group_id, bob, "Dinner")

    for path, reply in first.items():
        again = await revalidate(api, path, bob, reply.headers["ETag"])
        assert again.status == 200, (path, again.text)
        assert again.headers["ETag"] != reply.headers["ETag"]
        assert again.json != reply.json


async def test_an_expense_is_modified_when_someone_it_names_renames_themselves(
    api: Api, alice: Actor, bob: Actor
) -> None:
    group_id = await trio_group(api, alice, bob)
    expense = await add_expense(api, group_id, bob)
    path = f"/api/groups/{group_id}/expenses/{expense['id']}"
    read = await api.get(path, as_=alice)
    etag = read.headers["ETag"]
    assert etag.startswith('"1.')
    assert_not_modified(await revalidate(api, path, alice, etag), etag)

    await rename(api, bob, "Robert")

    again = await revalidate(api, path, alice, etag)
    assert again.status == 200
    # The expense itself is unchanged: same version, but the body names Bob anew.
    assert again.json["version"] == 1 and again.json["users"][bob.id]["name"] == "Robert"
    assert again.headers["ETag"] != etag and again.headers["ETag"].startswith('"1.')
    assert_not_modified(await revalidate(api, path, alice, again.headers["ETag"]), again.headers["ETag"])


async def test_a_group_is_modified_by_a_member_renaming_and_differs_per_viewer(
    api: Api, alice: Actor, bob: Actor
) -> None:
    group_id = await trio_group(api, alice, bob)
    path = f"/api/groups/{group_id}"
    owner_view, member_view = await api.get(path, as_=alice), await api.get(path, as_=bob)
    assert_not_modified(
        await revalidate(api, path, alice, owner_view.headers["ETag"]), owner_view.headers["ETag"]
    )
    # Same version, different body (the caller's `role`): the tags differ too.
    assert owner_view.json["version"] == member_view.json["version"]
    assert owner_view.headers["ETag"] != member_view.headers["ETag"]
    assert (await revalidate(api, path, bob, owner_view.headers["ETag"])).status == 200

    await rename(api, bob, "Robert")

    again = await revalidate(api, path, alice, owner_view.headers["ETag"])
    assert again.status == 200 and again.json["version"] == owner_view.json["version"]
    assert {m["name"] for m in again.json["members"]} >= {"Robert"}


async def test_a_user_and_ones_own_profile_answer_304_until_renamed(
    api: Api, alice: Actor, bob: Actor
) -> None:
    await trio_group(api, alice, bob)
    paths = {f"/api/users/{bob.id}": alice, "/api/user": bob}
    first = {path: await api.get(path, as_=viewer) for path, viewer in paths.items()}
    for path, viewer in paths.items():
        etag = first[path].headers["ETag"]
        assert_not_modified(await revalidate(api, path, viewer, etag), etag)

    await rename(api, bob, "Robert")

    for path, viewer in paths.items():
        again = await revalidate(api, path, viewer, first[path].headers["ETag"])
        assert again.status == 200 and again.json["name"] == "Robert", path


async def test_weak_tags_lists_and_star_match_and_others_do_not(api: Api, alice: Actor, bob: Actor) -> None:
    group_id = await trio_group(api, alice, bob)
    path = f"/api/groups/{group_id}/expenses"
    etag = (await api.get(path, as_=alice)).headers["ETag"]

    for offered in (f"W/{etag}", f'"nope", {etag}', f'W/"nope",W/{etag}', "*", f" {etag} "):
        assert_not_modified(await revalidate(api, path, alice, offered), etag)
    for offered in ('"nope"', etag.strip('"'), f'"x{etag[1:]}', '"1"', "", "W/"):
        reply = await revalidate(api, path, alice, offered)
        assert reply.status == 200, offered
        assert reply.headers["ETag"] == etag


async def test_a_version_from_a_write_is_not_a_current_get_etag(api: Api, alice: Actor, bob: Actor) -> None:
    """A write's reply tags the record `"1"`; a GET's body holds more than the record (names),
    so `"1"` alone never earns a 304."""
    group_id = await trio_group(api, alice, bob)
    created = await api.post(
        f"/api/groups/{group_id}/expenses", as_=alice, json={"description": "Tea", "amount": "3.00"}
    )
    assert created.headers["ETag"] == '"1"'
    path = f"/api/groups/{group_id}/expenses/{created.json['id']}"
    assert (await revalidate(api, path, alice, created.headers["ETag"])).status == 200


async def test_a_stranger_gets_404_whatever_they_offer(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group_id = await trio_group(api, alice, bob)
    expense = await add_expense(api, group_id, alice)
    for path in (
        f"/api/groups/{group_id}",
        f"/api/groups/{group_id}/expenses",
        f"/api/groups/{group_id}/expenses/{expense['id']}",
        f"/api/users/{alice.id}",
    ):
        etag = (await api.get(path, as_=bob)).headers["ETag"]
        for offered in (etag, "*"):
            reply = await revalidate(api, path, carol, offered)
            assert reply.status == 404, (path, offered)
            assert "ETag" not in reply.headers


async def test_the_etag_a_get_returns_works_as_if_match(api: Api, alice: Actor, bob: Actor) -> None:
    group_id = await trio_group(api, alice, bob)
    expense = await add_expense(api, group_id, alice)
    path = f"/api/groups/{group_id}/expenses/{expense['id']}"
    etag = (await api.get(path, as_=bob)).headers["ETag"]

    edited = await api.put(path, as_=bob, headers={"If-Match": etag}, json={"amount": "40.00"})
    assert edited.status == 200, edited.text
    assert edited.json["version"] == 2
    stale = await api.put(path, as_=bob, headers={"If-Match": etag}, json={"amount": "50.00"})
    assert stale.status == 412, stale.text
    assert (await revalidate(api, path, bob, etag)).status == 200

    group_path = f"/api/groups/{group_id}"
    group_etag = (await api.get(group_path, as_=alice)).headers["ETag"]
    weak = await api.put(group_path, as_=alice, headers={"If-Match": f"W/{group_etag}"}, json={"name": "New"})
    assert weak.status == 200, weak.text
    stale_group = await api.put(group_path, as_=alice, headers={"If-Match": group_etag}, json={"name": "Old"})
    assert stale_group.status == 412
    assert (await api.delete(path, as_=bob, headers={"If-Match": etag})).status == 412
    assert (await api.delete(path, as_=bob, headers={"If-Match": f'"2.{"A" * 65}"'})).status == 422


@store_agnostic
async def test_public_documents_are_tagged_but_not_marked_personal(api: Api) -> None:
    first = await api.get("/api/openapi.json")
    etag = first.headers["ETag"]
    reply = await api.get("/api/openapi.json", headers={"If-None-Match": etag})
    assert reply.status == 304 and reply.text == "" and reply.headers["ETag"] == etag
    assert "Authorization" not in reply.headers.get("Vary", "")


@store_agnostic
async def test_every_json_get_documents_the_304_and_if_none_match(api: Api) -> None:
    json_gets = [
        (path, operation)
        for path, item in api.openapi.document["paths"].items()
        if "get" in item
        for operation in [item["get"]]
        if "content" in operation["responses"].get("200", {})
    ]
    assert len(json_gets) >= 20
    for path, operation in json_gets:
        responses = operation["responses"]
        assert "304" in responses and "content" not in responses["304"], path
        assert "ETag" in responses["304"]["headers"] and "ETag" in responses["200"]["headers"], path
        assert any(p["name"] == "If-None-Match" and p["in"] == "header" for p in operation["parameters"]), (
            path
        )
    # Streams and files are not tagged, so they do not claim to be.
    export = api.openapi.document["paths"]["/api/groups/{group_id}/export"]["get"]
    assert "304" not in export["responses"]


async def test_head_answers_the_get_headers_without_a_body(api: Api, alice: Actor, bob: Actor) -> None:
    group_id = await trio_group(api, alice, bob)
    path = f"/api/groups/{group_id}/balances"
    got = await api.get(path, as_=alice)

    async with api.client.head(path, headers=alice.auth) as head:
        assert head.status == 200 and await head.read() == b""
        assert head.headers["ETag"] == got.headers["ETag"]
        assert head.headers["Content-Length"] == str(len(got.text.encode()))
        assert head.headers["Cache-Control"] == "private, no-cache"
    async with api.client.head(path, headers={**alice.auth, "If-None-Match": got.headers["ETag"]}) as head:
        assert head.status == 304 and head.headers["ETag"] == got.headers["ETag"]
    async with api.client.head(path, headers={"If-None-Match": got.headers["ETag"]}) as head:
        assert head.status == 401


async def test_signing_out_clears_the_browsers_cache(api: Api, alice: Actor) -> None:
    """Personal answers may be cached (private, revalidated): logout tells the browser to drop them."""
    assert (await api.get("/api/user", as_=alice)).headers["Cache-Control"] == "private, no-cache"
    reply = await api.post("/api/logout", as_=alice)
    assert reply.status == 204
    assert reply.headers["Clear-Site-Data"] == '"cache"'
