"""The changes feed (issue 14 part 1): a client reads once, goes offline while others add, edit
and delete expenses and settlements, chat, rename the group and come and go, then catches up page
by page through `GET /api/groups/{id}/changes` and ends with exactly what a fresh full read shows.
Random sequences of operations (seeded, so a failure replays), on both backends."""

from __future__ import annotations

import random
from typing import Any

from store.cursor import encode_cursor
from tests.api.conftest import Actor, Api

State = dict[str, Any]


def _path(group_id: str) -> str:
    return f"/api/groups/{group_id}/changes"


async def _all_items(api: Api, path: str, viewer: Actor) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        reply = await api.get(
            path, as_=viewer, params={"limit": 100, **({"cursor": cursor} if cursor else {})}
        )
        assert reply.status == 200, reply.text
        items += reply.json["items"]
        if (cursor := reply.json["next_cursor"]) is None:
            return items


async def full_read(api: Api, group_id: str, viewer: Actor) -> State:
    """What a client knows after reading everything over the ordinary REST reads."""
    group = await api.group(group_id, viewer)
    members = group.pop("members")
    base = f"/api/groups/{group_id}"
    state: State = {
        "group": {group_id: group},
        "member": {m["user_id"]: m for m in members},
        "expense": {e["id"]: e for e in await _all_items(api, f"{base}/expenses", viewer)},
        "settlement": {s["id"]: s for s in await _all_items(api, f"{base}/transactions", viewer)},
        "chat": {m["id"]: m for m in await _all_items(api, f"{base}/chats", viewer)},
        "comment": {},
    }
    for kind in ("expense", "settlement"):
        for record_id in state[kind]:
            await read_comments(api, group_id, viewer, state, kind, record_id)
    return state


_SUBJECT_PATHS = {"expense": "expenses", "settlement": "transactions"}


async def read_comments(
    api: Api, group_id: str, viewer: Actor, state: State, kind: str, record_id: str
) -> None:
    path = f"/api/groups/{group_id}/{_SUBJECT_PATHS[kind]}/{record_id}/comments"
    for comment in await _all_items(api, path, viewer):
        state["comment"][comment["id"]] = comment


def visible(state: State) -> State:
    """What a client shows: comments only while their subject is there (as the REST reads)."""
    subjects = set(state["expense"]) | set(state["settlement"])
    return {**state, "comment": {k: c for k, c in state["comment"].items() if c["subject_id"] in subjects}}


async def now(api: Api, group_id: str, viewer: Actor) -> str:
    reply = await api.get(_path(group_id), as_=viewer)
    assert reply.status == 200, reply.text
    assert reply.json["changes"] == [] and reply.json["has_more"] is False
    cursor: str = reply.json["next_cursor"]
    return cursor


async def pull(
    api: Api, group_id: str, viewer: Actor, state: State, cursor: str, limit: int
) -> tuple[str, bool]:
    """Apply one page of the feed to `state`; the cursor to go on from, and whether more wait."""
    reply = await api.get(_path(group_id), as_=viewer, params={"cursor": cursor, "limit": limit})
    assert reply.status == 200, reply.text
    page = reply.json
    assert len(page["changes"]) <= limit
    seen = [(c["kind"], c["id"]) for c in page["changes"]]
    assert len(seen) == len(set(seen)), "a record appears at most once per page"
    for change in page["changes"]:
        records = state[change["kind"]]
        if change["op"] == "upsert":
            assert change["version"] == change["data"].get("version")
            comeback = (
                change["kind"] in _SUBJECT_PATHS and change["id"] not in records and change["version"] > 1
            )
            records[change["id"]] = change["data"]
            if comeback:  # restored (or new and edited): the documented rule, read its comments
                await read_comments(api, group_id, viewer, state, change["kind"], change["id"])
        else:
            assert "data" not in change
            records.pop(change["id"], None)
    return page["next_cursor"], page["has_more"]


async def catch_up(api: Api, group_id: str, viewer: Actor, state: State, cursor: str, limit: int) -> str:
    more = True
    while more:
        cursor, more = await pull(api, group_id, viewer, state, cursor, limit)
    return cursor


class Others:
    """Everyone but the offline client, doing random things to the group."""

    def __init__(self, api: Api, group_id: str, people: list[Actor], newcomer: Actor, rng: random.Random):
        self.api, self.group_id, self.people, self.newcomer, self.rng = api, group_id, people, newcomer, rng
        self.expenses: dict[str, int] = {}
        self.settlements: list[str] = []
        self.deleted: list[tuple[str, str]] = []
        self.comments: list[tuple[str, str, str]] = []
        self.newcomer_in = False
        self.base = f"/api/groups/{group_id}"

    async def act(self) -> None:
        choices = ["add", "add", "chat", "pay", "rename"]
        if self.expenses:
            choices += ["edit", "edit", "delete"]
        if self.settlements:
            choices.append("unpay")
        if self.expenses or self.settlements:
            choices += ["comment", "comment"]
        if self.comments:
            choices.append("uncomment")
        if self.deleted:
            choices.append("restore")
        choices.append("leave" if self.newcomer_in else "join")
        await getattr(self, self.rng.choice(choices))()

    def _someone(self) -> Actor:
        return self.rng.choice(self.people)

    async def add(self) -> None:
        cents = self.rng.randint(1, 50_000)
        reply = await self.api.post(
            f"{self.base}/expenses",
            as_=self._someone(),
            json={
                "description": f"thing {self.rng.randint(0, 999)}",
                "amount": f"{cents // 100}.{cents % 100:02d}",
                "split": {"kind": "equal", "members": [p.id for p in self.people]},
            },
        )
        assert reply.status == 201, reply.text
        self.expenses[reply.json["id"]] = reply.json["version"]

    async def edit(self) -> None:
        expense_id = self.rng.choice(sorted(self.expenses))
        reply = await self.api.put(
            f"{self.base}/expenses/{expense_id}",
            as_=self._someone(),
            json={"description": f"edited {self.rng.randint(0, 999)}", "version": self.expenses[expense_id]},
        )
        assert reply.status == 200, reply.text
        self.expenses[expense_id] = reply.json["version"]

    async def delete(self) -> None:
        expense_id = self.rng.choice(sorted(self.expenses))
        reply = await self.api.delete(f"{self.base}/expenses/{expense_id}", as_=self._someone())
        assert reply.status == 204, reply.text
        del self.expenses[expense_id]
        self.deleted.append(("expenses", expense_id))

    async def pay(self) -> None:
        payer, payee = self.rng.sample(self.people, 2)
        reply = await self.api.post(
            f"{self.base}/transactions", as_=payer, json={"to_user": payee.id, "amount": "1.25"}
        )
        assert reply.status == 201, reply.text
        self.settlements.append(reply.json["id"])

    async def unpay(self) -> None:
        settlement_id = self.settlements.pop(self.rng.randrange(len(self.settlements)))
        reply = await self.api.delete(f"{self.base}/transactions/{settlement_id}", as_=self.people[0])
        assert reply.status == 204, reply.text
        self.deleted.append(("transactions", settlement_id))

    async def restore(self) -> None:
        path, record_id = self.deleted.pop(self.rng.randrange(len(self.deleted)))
        reply = await self.api.post(f"{self.base}/{path}/{record_id}/restore", as_=self._someone())
        assert reply.status == 200, reply.text
        if path == "expenses":
            self.expenses[record_id] = reply.json["version"]
        else:
            self.settlements.append(record_id)

    def _live_subjects(self) -> list[tuple[str, str]]:
        return [("expenses", e) for e in sorted(self.expenses)] + [
            ("transactions", s) for s in self.settlements
        ]

    async def comment(self) -> None:
        path, record_id = self.rng.choice(self._live_subjects())
        reply = await self.api.post(
            f"{self.base}/{path}/{record_id}/comments", as_=self._someone(), json={"text": "why?"}
        )
        assert reply.status == 201, reply.text
        self.comments.append((path, record_id, reply.json["id"]))

    async def uncomment(self) -> None:
        live = set(self._live_subjects())
        choices = [c for c in self.comments if (c[0], c[1]) in live]
        if not choices:
            return
        path, record_id, comment_id = self.rng.choice(choices)
        owner = self.people[0]  # the owner may delete anyone's comment
        reply = await self.api.delete(f"{self.base}/{path}/{record_id}/comments/{comment_id}", as_=owner)
        assert reply.status == 204, reply.text
        self.comments.remove((path, record_id, comment_id))

    async def chat(self) -> None:
        reply = await self.api.post(f"{self.base}/chats", as_=self._someone(), json={"text": "hi"})
        assert reply.status == 201, reply.text

    async def rename(self) -> None:
        owner = self.people[0]
        version = (await self.api.group(self.group_id, owner))["version"]
        reply = await self.api.put(
            self.base, as_=owner, json={"name": f"Trip {self.rng.randint(0, 999)}", "version": version}
        )
        assert reply.status == 200, reply.text

    async def join(self) -> None:
        await self.api.join(self.group_id, self.newcomer)
        self.newcomer_in = True

    async def leave(self) -> None:
        reply = await self.api.post(f"{self.base}/leave", as_=self.newcomer)
        assert reply.status == 204, reply.text
        self.newcomer_in = False


async def test_offline_client_catches_up_to_the_servers_state(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    dave = await api.user("dave")
    for seed in range(3):
        rng = random.Random(seed)
        group = await api.create_group(alice, name=f"Feed {seed}")
        await api.join(group["id"], bob, carol)
        others = Others(api, group["id"], [alice, bob, carol], dave, rng)
        for _ in range(rng.randint(0, 4)):
            await others.act()
        # The client: a cursor for now, then one full read (changes in between are replayed).
        cursor = await now(api, group["id"], carol)
        state = await full_read(api, group["id"], carol)
        for _ in range(25):
            await others.act()
            if rng.random() < 0.2:  # online for a moment: one page
                cursor, _ = await pull(api, group["id"], carol, state, cursor, rng.randint(1, 5))
        cursor = await catch_up(api, group["id"], carol, state, cursor, rng.randint(1, 7))
        assert visible(state) == await full_read(api, group["id"], carol), f"seed {seed}"
        # Caught up: nothing more, and the cursor stays put.
        reply = await api.get(_path(group["id"]), as_=carol, params={"cursor": cursor})
        assert reply.json["changes"] == [] and reply.json["next_cursor"] == cursor


async def test_a_page_holds_each_record_once_at_its_last_change(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)
    cursor = await now(api, group["id"], alice)
    base = f"/api/groups/{group['id']}/expenses"
    kept = (await api.post(base, as_=alice, json={"description": "a", "amount": "3.00"})).json
    edited = await api.put(f"{base}/{kept['id']}", as_=bob, json={"description": "b", "version": 1})
    gone = (await api.post(base, as_=alice, json={"description": "c", "amount": "4.00"})).json
    assert (await api.delete(f"{base}/{gone['id']}", as_=alice)).status == 204

    reply = await api.get(_path(group["id"]), as_=alice, params={"cursor": cursor})

    assert reply.status == 200
    page = reply.json
    assert page["has_more"] is False
    assert [(c["kind"], c["id"], c["op"], c["version"]) for c in page["changes"]] == [
        ("expense", kept["id"], "upsert", 2),
        ("expense", gone["id"], "delete", 2),
    ]
    assert page["changes"][0]["data"] == edited.json
    assert set(page["users"]) == {alice.id, bob.id}


async def test_strangers_and_foreign_cursors(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    other = await api.create_group(alice, name="Other")
    cursor = await now(api, group["id"], alice)

    assert (await api.get(_path(group["id"]), as_=bob)).status == 404
    assert (await api.get(_path("no-such-group"), as_=alice)).status == 404
    huge = encode_cursor("changes", [group["id"], 2**70])
    negative = encode_cursor("changes", [group["id"], -1])
    for bad in ("garbage", cursor + "x", await now(api, other["id"], alice), huge, negative):
        reply = await api.get(_path(group["id"]), as_=alice, params={"cursor": bad})
        assert reply.status == 400, bad
        assert reply.error["code"] == "invalid_cursor"


async def test_members_come_and_go_in_the_feed(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    cursor = await now(api, group["id"], alice)
    await api.join(group["id"], bob)
    state: State = {"group": {}, "member": {}, "expense": {}, "settlement": {}, "chat": {}, "comment": {}}
    cursor, _ = await pull(api, group["id"], alice, state, cursor, 10)
    assert state["member"][bob.id]["name"] == "Bob"
    assert (await api.post(f"/api/groups/{group['id']}/leave", as_=bob)).status == 204
    await pull(api, group["id"], alice, state, cursor, 10)
    assert bob.id not in state["member"]
