"""Comments on expenses and transactions over HTTP, on both backends: who may post, read and delete
them, pagination, what a deleted subject does to them, and their live events."""

from __future__ import annotations

from typing import Any

import pytest

from domain.models import MAX_COMMENT_LENGTH
from tests.api.conftest import Actor, Api
from tests.api.test_expenses import trio
from tests.api.test_restore import new_expense
from tests.api.test_roles import connect, set_role


async def subjects(api: Api, alice: Actor, bob: Actor, carol: Actor) -> tuple[str, str, str]:
    """A group of three with one expense and one transaction: their comment URLs."""
    gid = await trio(api, alice, bob, carol)
    expense = await new_expense(api, gid, alice)
    paid = await api.post(
        f"/api/groups/{gid}/transactions", as_=bob, json={"to_user": alice.id, "amount": "5.00"}
    )
    assert paid.status == 201, paid.text
    return (
        gid,
        f"/api/groups/{gid}/expenses/{expense['id']}/comments",
        f"/api/groups/{gid}/transactions/{paid.json['id']}/comments",
    )


async def post(api: Api, url: str, actor: Actor, text: str) -> dict[str, Any]:
    reply = await api.post(url, as_=actor, json={"text": text})
    assert reply.status == 201, reply.text
    comment: dict[str, Any] = reply.json
    return comment


@pytest.mark.parametrize("on", ["expense", "transaction"])
async def test_members_comment_and_read_newest_first_a_page_at_a_time(
    api: Api, alice: Actor, bob: Actor, carol: Actor, on: str
) -> None:
    gid, on_expense, on_transaction = await subjects(api, alice, bob, carol)
    url = on_expense if on == "expense" else on_transaction
    first = await post(api, url, bob, "  was this the pizza?  ")
    assert first["text"] == "was this the pizza?"
    assert (first["author_id"], first["subject_kind"]) == (
        bob.id,
        "expense" if on == "expense" else "settlement",
    )
    posted = [first] + [await post(api, url, (alice, carol)[i % 2], f"note {i}") for i in range(4)]

    seen: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = await api.get(url, as_=carol, params=params)
        assert page.status == 200 and len(page.json["items"]) <= 2
        seen += page.json["items"]
        assert set(page.json["users"]) == {c["author_id"] for c in page.json["items"]}
        if page.json["next_cursor"] is None:
            break
        params = {"limit": 2, "cursor": page.json["next_cursor"]}
    assert seen == sorted(posted, key=lambda c: c["id"], reverse=True)
    other = on_transaction if on == "expense" else on_expense
    assert (await api.get(other, as_=alice)).json["items"] == []

    actions = (await api.get(f"/api/groups/{gid}/activity", as_=alice)).json["items"]
    assert actions[0]["action"] == "comment.created"
    assert actions[0]["details"]["comment_id"] == posted[-1]["id"]


async def test_bad_texts_are_refused(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    _, url, _ = await subjects(api, alice, bob, carol)
    for body in ({"text": "   "}, {"text": "x" * (MAX_COMMENT_LENGTH + 1)}, {}, {"text": 3}):
        reply = await api.post(url, as_=alice, json=body)
        assert reply.status == 422, body
    assert (await post(api, url, alice, "x" * MAX_COMMENT_LENGTH))["text"] == "x" * MAX_COMMENT_LENGTH


async def test_who_may_delete_a_comment(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    gid, url, _ = await subjects(api, alice, bob, carol)
    by_bob = await post(api, url, bob, "mine")
    by_carol = await post(api, url, carol, "hers")
    another = await post(api, url, carol, "hers too")

    refused = await api.delete(f"{url}/{by_bob['id']}", as_=carol)
    assert (refused.status, refused.error["code"]) == (403, "not_comment_author")
    assert (await api.delete(f"{url}/{by_bob['id']}", as_=bob)).status == 204  # the author
    assert (await api.delete(f"{url}/{by_bob['id']}", as_=bob)).status == 404  # gone
    assert (await api.delete(f"{url}/{by_carol['id']}", as_=alice)).status == 204  # the owner
    assert (await set_role(api, {"id": gid}, alice, bob.id, "admin")).status == 200
    assert (await api.delete(f"{url}/{another['id']}", as_=bob)).status == 204  # an admin
    assert (await api.get(url, as_=alice)).json["items"] == []
    actions = (await api.get(f"/api/groups/{gid}/activity", as_=alice)).json["items"]
    assert actions[0]["action"] == "comment.deleted" and "text" not in actions[0]["details"]


async def test_strangers_and_former_members_get_404(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    gid, url, on_transaction = await subjects(api, alice, bob, carol)
    mine = await post(api, url, carol, "bye")
    stranger = await api.user("mallory")
    settle = {"to_user": alice.id, "amount": "30.00"}
    assert (await api.post(f"/api/groups/{gid}/transactions", as_=carol, json=settle)).status == 201
    assert (await api.post(f"/api/groups/{gid}/leave", as_=carol)).status == 204
    for outsider in (stranger, carol):
        for reply in (
            await api.post(url, as_=outsider, json={"text": "hi"}),
            await api.get(url, as_=outsider),
            await api.get(on_transaction, as_=outsider),
            await api.delete(f"{url}/{mine['id']}", as_=outsider),
        ):
            assert (reply.status, reply.error["code"]) == (404, "not_found"), reply.text
    assert (await api.get(url, as_=alice)).json["items"] == [mine]  # their comments stay


async def test_a_deleted_expense_hides_its_comments_until_restored(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    gid, url, _ = await subjects(api, alice, bob, carol)
    kept = await post(api, url, bob, "keep me")
    expense_url = url.removesuffix("/comments")
    assert (await api.delete(expense_url, as_=alice)).status == 204
    assert (await api.get(url, as_=bob)).status == 404
    assert (await api.post(url, as_=bob, json={"text": "too late"})).status == 404
    assert (await api.delete(f"{url}/{kept['id']}", as_=bob)).status == 404
    assert (await api.post(f"{expense_url}/restore", as_=alice)).status == 200
    assert (await api.get(url, as_=bob)).json["items"] == [kept]


async def test_comments_are_live_events(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    gid, url, _ = await subjects(api, alice, bob, carol)
    client = await connect(api, carol)
    assert (await client.subscribe(f"group:{gid}"))["ok"]
    posted = await post(api, url, bob, "live")
    created = await client.next_event()
    assert (created["type"], created["data"]) == ("comment.created", posted)
    assert (await api.delete(f"{url}/{posted['id']}", as_=alice)).status == 204
    deleted = await client.next_event()
    assert deleted["type"] == "comment.deleted"
    assert deleted["data"] == {
        "id": posted["id"],
        "group_id": gid,
        "subject_kind": "expense",
        "subject_id": posted["subject_id"],
    }
    await client.close()
