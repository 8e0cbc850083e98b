"""`POST /api/groups/{id}/import`: a Splitwise CSV export or this server's own JSON export, with a
dry run, people matched to members, all or nothing, and nothing made twice."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from domain import ActivityEntry, Conflict, Expense
from domain.ids import new_id
from services.verify import verify_group
from store.base import ImportedRecord
from tests.api.conftest import Actor, Api, store_agnostic
from tests.api.test_expenses import trio
from tests.api.test_rates_view import native

SPLITWISE = """Date,Description,Category,Cost,Currency,Alice,Bob,Carol

2024-01-05,Groceries,Groceries,30.00,EUR,20.00,-10.00,-10.00
2024-01-06,Dinner,Dining out,90.00,EUR,-30.00,60.00,-30.00
2024-01-07,Taxi,Taxi,10.00,EUR,5.00,-5.00,0.00
2024-01-08,Payment,Payment,10.00,EUR,10.00,0.00,-10.00
2024-01-09,Museum,Entertainment - Other,3000,JPY,2000,-1000,-1000
2024-01-10,Own book,Books,12.00,EUR,0.00,0.00,0.00

2024-01-31,Total balance, , ,EUR,5.00,45.00,-50.00
2024-01-31,Total balance, , ,JPY,2000,-1000,-1000
"""
CSV = {"Content-Type": "text/csv"}


def url(group_id: str) -> str:
    return f"/api/groups/{group_id}/import"


async def send(
    api: Api, group_id: str, who: Actor, text: str, *, headers: dict[str, str] = CSV, **params: Any
) -> Any:
    return await api.post(url(group_id), as_=who, data=text.encode(), headers=headers, params=params or None)


def owed(balances: dict[str, dict[str, Decimal]], who: Actor) -> dict[str, Decimal]:
    return {c: a for c, a in balances.get(who.id, {}).items() if a}


async def test_a_dry_run_shows_everything_and_changes_nothing(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group_id = await trio(api, alice, bob, carol)
    reply = await send(api, group_id, bob, SPLITWISE, dry_run="true")
    assert reply.status == 200, reply.text
    report = reply.json
    assert report["dry_run"] is True and report["format"] == "splitwise"
    assert [(p["name"], p["user_id"], p["matched_by"]) for p in report["people"]] == [
        ("Alice", alice.id, "name"),
        ("Bob", bob.id, "name"),
        ("Carol", carol.id, "name"),
    ]
    assert report["counts"] == {
        "expenses": 4,
        "transactions": 1,
        "already_imported": 0,
        "new": 5,
        "skipped": 1,
    }
    assert report["skipped"] == [{"where": "line 8", "line": 8, "reason": "moves nobody's balance"}]
    assert report["checked_lines"] == [10, 11]
    held = {(b["name"], b["currency"]): b["amount"] for b in report["balances"]}
    assert held == {
        ("Alice", "EUR"): "5.00", ("Bob", "EUR"): "45.00", ("Carol", "EUR"): "-50.00",
        ("Alice", "JPY"): "2000", ("Bob", "JPY"): "-1000", ("Carol", "JPY"): "-1000",
    }  # fmt: skip
    taxi = report["records"][2]
    assert (taxi["line"], taxi["type"], taxi["category"], taxi["amount"]) == (5, "expense", "taxi", "10.00")
    assert [(p["name"], p["amount"]) for p in taxi["payers"]] == [("Alice", "10.00")]
    assert sorted((p["name"], p["amount"]) for p in taxi["shares"]) == [("Alice", "5.00"), ("Bob", "5.00")]
    payment = report["records"][3]
    assert (payment["type"], payment["from"]["user_id"], payment["to"]["user_id"]) == (
        "transaction", alice.id, carol.id,
    )  # fmt: skip
    assert report["records"][4]["category"] == "entertainment"
    assert (await api.get(f"/api/groups/{group_id}/expenses", as_=bob)).json["items"] == []
    paged = await send(api, group_id, bob, SPLITWISE, dry_run="true", offset="3", limit="1")
    assert [r["line"] for r in paged.json["records"]] == [6] and paged.json["next_offset"] == 4


async def test_the_import_makes_the_files_balances_once(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group_id = await trio(api, alice, bob, carol)
    reply = await send(api, group_id, alice, SPLITWISE)
    assert reply.status == 201, reply.text
    assert reply.json["created"] == {"expenses": 4, "transactions": 1}
    balances = await native(api, group_id, bob)
    assert owed(balances, alice) == {"EUR": Decimal("5.00"), "JPY": Decimal("2000")}
    assert owed(balances, bob) == {"EUR": Decimal("45.00"), "JPY": Decimal("-1000")}
    assert owed(balances, carol) == {"EUR": Decimal("-50.00"), "JPY": Decimal("-1000")}
    assert (await verify_group(api.store, group_id)).differences == {}
    listed = (await api.get(f"/api/groups/{group_id}/expenses", as_=carol)).json["items"]
    assert sorted(e["description"] for e in listed) == ["Dinner", "Groceries", "Museum", "Taxi"]
    dinner = next(e for e in listed if e["description"] == "Dinner")
    assert (dinner["date"], dinner["category"], dinner["created_by"]) == (
        "2024-01-06",
        "dining_out",
        alice.id,
    )
    assert dinner["split"]["kind"] == "exact"
    edited = await api.put(
        f"/api/groups/{group_id}/expenses/{dinner['id']}",
        as_=bob,
        json={"notes": "from Splitwise", "version": 1},
    )
    assert edited.status == 200, edited.text  # an imported expense is an ordinary one
    activity = (await api.get(f"/api/groups/{group_id}/activity", as_=bob)).json["items"]
    assert any(a["action"] == "group.imported" and a["details"]["expenses"] == 4 for a in activity)

    again = await send(api, group_id, alice, SPLITWISE)
    assert again.status == 200, again.text
    assert again.json["created"] == {"expenses": 0, "transactions": 0}
    assert again.json["counts"]["already_imported"] == 5
    assert all(r["already_imported"] for r in again.json["records"])
    assert await native(api, group_id, bob) == balances

    longer = SPLITWISE.replace(
        "\n\n2024-01-31", "\n2024-01-20,Coffee,Coffee,3.00,EUR,2.00,-1.00,-1.00\n\n2024-01-31"
    ).replace("EUR,5.00,45.00,-50.00", "EUR,7.00,44.00,-51.00")
    more = await send(api, group_id, alice, longer)
    assert more.status == 201, more.text
    assert more.json["created"] == {"expenses": 1, "transactions": 0}
    assert owed(await native(api, group_id, bob), alice)["EUR"] == Decimal("7.00")


async def test_identical_lines_are_each_imported(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    group_id = await trio(api, alice, bob, carol)
    text = (
        "Date,Description,Category,Cost,Currency,Alice,Bob\n"
        + "2024-02-01,Coffee,General,4.00,EUR,2.00,-2.00\n" * 3
    )
    assert (await send(api, group_id, alice, text)).json["created"]["expenses"] == 3
    assert (await send(api, group_id, alice, text)).json["created"]["expenses"] == 0
    assert owed(await native(api, group_id, alice), bob) == {"EUR": Decimal("-6.00")}


@pytest.mark.parametrize(
    ("line", "broken", "where", "says"),
    [
        (4, "2024-01-06,Dinner,Dining out,90.00,EUR,-30.00,60.00,-31.00", 4, "add up to -1.00"),
        (5, "2024-01-07,Taxi,Taxi,ten,EUR,5.00,-5.00,0.00", 5, "not a decimal"),
        (6, "2024-13-08,Payment,Payment,10.00,EUR,10.00,0.00,-10.00", 6, "not a date"),
        (7, "2024-01-09,Museum,General,3000.5,JPY,2000,-1000,-1000", 7, "more decimals"),
        (3, "2024-01-05,Groceries,Groceries,30.00,XXX,20.00,-10.00,-10.00", 3, "currency"),
        (4, "2024-01-06,Dinner,Dining out,50.00,EUR,-30.00,60.00,-30.00", 4, "owed 60.00"),
        (10, "2024-01-31,Total balance, , ,EUR,5.00,45.01,-50.01", 10, "Total balance says Bob"),
    ],
)
async def test_a_broken_line_is_named_and_nothing_is_written(
    api: Api, alice: Actor, bob: Actor, carol: Actor, line: int, broken: str, where: int, says: str
) -> None:
    group_id = await trio(api, alice, bob, carol)
    lines = SPLITWISE.split("\n")
    lines[line - 1] = broken
    reply = await send(api, group_id, alice, "\n".join(lines))
    assert (reply.status, reply.error["code"]) == (422, "import_file"), reply.text
    assert reply.error["details"]["line"] == where and says in reply.error["message"], reply.error
    assert await native(api, group_id, alice) == {}


async def test_files_that_are_not_exports_are_refused(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group_id = await trio(api, alice, bob, carol)
    for text, code in [
        ("", "import_file"),
        ("Name,Amount\nx,1\n", "import_file"),
        ('Date,Description,Category,Cost,Currency,Alice\n2024-01-01,"open quote,x,1,EUR,0\n', "import_file"),
    ]:
        reply = await send(api, group_id, alice, text)
        assert (reply.status, reply.error["code"]) == (422, code), reply.text
    latin = await api.post(
        url(group_id), as_=alice, data="Date,Description\n\xe9".encode("latin-1"), headers=CSV
    )
    assert (latin.status, latin.error["details"]["line"]) == (422, 2)
    bad_json = await send(
        api, group_id, alice, '{"expenses": [', headers={"Content-Type": "application/json"}
    )
    assert (bad_json.status, bad_json.error["code"]) == (422, "import_file")
    other = await send(api, group_id, alice, "<xml/>", headers={"Content-Type": "application/xml"})
    assert other.status == 415
    assert (await send(api, group_id, alice, SPLITWISE, mapping="[1]")).status == 422


async def test_people_nobody_matches_are_asked_for(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    group_id = await trio(api, alice, bob, carol)
    text = SPLITWISE.replace("Alice,Bob,Carol", "alice@example.com,Bob,Caroline")
    dry = await send(api, group_id, alice, text, dry_run="true")
    assert [(p["user_id"], p["matched_by"]) for p in dry.json["people"]] == [
        (alice.id, "email"), (bob.id, "name"), (None, None),
    ]  # fmt: skip
    refused = await send(api, group_id, alice, text)
    assert (refused.status, refused.error["code"]) == (422, "unmatched_people"), refused.text
    assert "Caroline" in refused.error["message"]
    assert await native(api, group_id, alice) == {}
    wrong = await send(api, group_id, alice, text, mapping=json.dumps({"Caroline": "nobody@example.com"}))
    assert wrong.status == 422
    mapped = await send(api, group_id, alice, text, mapping=json.dumps({"Caroline": carol.email}))
    assert mapped.status == 201, mapped.text
    assert owed(await native(api, group_id, alice), carol)["EUR"] == Decimal("-50.00")


async def test_a_multipart_upload_with_its_mapping(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    group_id = await trio(api, alice, bob, carol)
    form = aiohttp.FormData()
    form.add_field("mapping", json.dumps({"Caroline": carol.id}))
    form.add_field(
        "file",
        SPLITWISE.replace("Carol\n", "Caroline\n").encode(),
        filename="export.csv",
        content_type="text/csv",
    )
    reply = await api.post(url(group_id), as_=alice, data=form)
    assert reply.status == 201, reply.text
    assert reply.json["people"][2]["matched_by"] == "mapping"
    empty = aiohttp.MultipartWriter("form-data")
    empty.append("{}").set_content_disposition("form-data", name="mapping")
    assert (await api.post(url(group_id), as_=alice, data=empty)).status == 400


async def test_who_may_import(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    group_id = await trio(api, alice, bob, carol)
    dave = await api.user("dave")
    assert (await send(api, group_id, dave, SPLITWISE, dry_run="true")).status == 404
    assert (await send(api, group_id, dave, SPLITWISE)).status == 404
    plain = await send(api, group_id, bob, SPLITWISE)
    assert (plain.status, plain.error["code"]) == (403, "admin_only")
    assert (await send(api, group_id, bob, SPLITWISE, dry_run="true")).status == 200


async def test_a_json_export_comes_back_with_the_same_balances(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    source = await trio(api, alice, bob, carol)
    assert (await send(api, source, alice, SPLITWISE)).status == 201
    post = f"/api/groups/{source}/expenses"
    made = await api.post(
        post,
        as_=bob,
        json={
            "description": "Hotel",
            "amount": "100.00",
            "currency": "USD",
            "exchange_rate": "0.9",
            "split": {"kind": "shares", "shares": {alice.id: 1, bob.id: 2}},
        },
    )
    assert made.status == 201, made.text
    await api.post(
        f"/api/groups/{source}/transactions",
        as_=carol,
        json={"from_user": carol.id, "to_user": bob.id, "amount": "20.00", "note": "back"},
    )
    exported = await api.get(f"/api/groups/{source}/export", as_=alice, params={"format": "json"})
    target = (await api.create_group(bob, name="Copy", default_currency="EUR"))["id"]
    await api.join(target, alice, carol)
    body = exported.text
    reply = await send(api, target, bob, body, headers={"Content-Type": "application/json"})
    assert reply.status == 201, reply.text
    assert reply.json["format"] == "expense_tracker"
    assert {p["matched_by"] for p in reply.json["people"]} == {"id"}
    assert await native(api, target, alice) == await native(api, source, alice)
    assert (await verify_group(api.store, target)).differences == {}
    again = await send(api, target, bob, body, headers={"Content-Type": "application/json"})
    assert again.status == 200 and again.json["created"] == {"expenses": 0, "transactions": 0}


async def test_a_splitwise_export_comes_back_with_the_same_balances(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    """Export → import into a new group → the same balances: expenses of every kind, one at the
    payer's own rate, a recorded conversion, payments, and someone who has left since."""
    from server.keys import SERVICES
    from tests.api.test_rates_view import RATES_XML

    await api.app[SERVICES].rates.load(RATES_XML.encode(), "ecb")
    dave = await api.user("dave")
    source = await trio(api, alice, bob, carol)
    await api.join(source, dave)
    assert (await send(api, source, alice, SPLITWISE)).status == 201
    post = f"/api/groups/{source}/expenses"
    for body in (
        {"description": "Hotel", "amount": "100.00", "currency": "USD", "exchange_rate": "0.9",
         "split": {"kind": "shares", "shares": {alice.id: 1, bob.id: 2}}},
        {"description": "Fuel", "amount": "40.00", "payers": [{"user_id": dave.id, "amount": "40.00"}],
         "split": {"kind": "equal", "members": [alice.id, dave.id]}},
        {"description": "Gone", "amount": "7.00"},
    ):  # fmt: skip
        made = await api.post(post, as_=bob, json=body)
        assert made.status == 201, made.text
    assert (await api.delete(f"{post}/{made.json['id']}", as_=bob)).status == 204
    converted = await api.post(f"/api/groups/{source}/convert", as_=alice, json={"currency": "EUR"})
    assert converted.status == 201, converted.text
    paid = await api.post(
        f"/api/groups/{source}/transactions",
        as_=alice,
        json={"from_user": alice.id, "to_user": dave.id, "amount": "20.00"},
    )
    assert paid.status == 201, paid.text
    assert (await api.delete(f"/api/groups/{source}/members/{dave.id}", as_=dave)).status == 204
    exported = await api.get(f"/api/groups/{source}/export", as_=carol, params={"format": "splitwise"})
    assert exported.status == 200 and exported.headers["Content-Type"].startswith("text/csv")
    text = exported.text
    assert text.splitlines()[0] == "Date,Description,Category,Cost,Currency,Alice,Bob,Carol,Dave"
    target = (await api.create_group(bob, name="Copy", default_currency="EUR"))["id"]
    await api.join(target, alice, carol, dave)
    reply = await send(api, target, bob, text)
    assert reply.status == 201, reply.text
    assert reply.json["format"] == "splitwise"
    assert {p["matched_by"] for p in reply.json["people"]} == {"name"}
    assert reply.json["checked_lines"], "its Total balance lines were checked"
    before, after = await native(api, source, alice), await native(api, target, alice)
    assert {a.id: owed(after, a) for a in (alice, bob, carol, dave)} == {
        a.id: owed(before, a) for a in (alice, bob, carol, dave)
    }
    assert (await verify_group(api.store, target)).differences == {}
    again = await send(api, target, bob, text)
    assert again.status == 200 and again.json["created"] == {"expenses": 0, "transactions": 0}
    outsider = await api.user("mallory")
    hidden = await api.get(f"/api/groups/{source}/export", as_=outsider, params={"format": "splitwise"})
    assert hidden.status == 404


async def test_a_store_import_is_all_or_nothing(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    """On DynamoDB the records go in many transactions: one that fails (someone in it is not a
    member) takes the ones before it back."""
    group_id = await trio(api, alice, bob, carol)
    now = datetime(2024, 3, 1, tzinfo=timezone.utc)
    stranger = (await api.user("erin")).id

    def expense(payer: str, ower: str) -> ImportedRecord:
        record = Expense(
            id=new_id(), group_id=group_id, description="x", amount=100, currency="EUR", date="2024-03-01",
            category="general", paid={payer: 100}, owed={ower: 100},
            split={"kind": "exact", "amounts": {ower: "1.00"}}, notes="", receipt_id=None,
            created_by=alice.id, created_at=now, updated_at=now, version=1,
        )  # fmt: skip
        return ImportedRecord(record, {(payer, "EUR"): 100, (ower, "EUR"): -100}, {})

    records = [expense(alice.id, bob.id) for _ in range(60)] + [expense(alice.id, stranger)]
    activity = ActivityEntry(new_id(), group_id, now, alice.id, "group.imported", group_id, {})
    with pytest.raises(Conflict) as refused:
        await api.store.import_records(group_id, records, activity=activity)
    assert refused.value.code == "not_a_member"
    assert await api.store.existing_records(group_id, [r.record.id for r in records]) == set()
    left = await native(api, group_id, alice)
    assert all(not owed(left, who) for who in (alice, bob, carol)), left  # (DynamoDB keeps zeros)
    assert (await verify_group(api.store, group_id)).differences == {}
    ok = records[:60]
    later = ActivityEntry(new_id(), group_id, now, alice.id, "group.imported", group_id, {})
    await api.store.import_records(group_id, ok, activity=later)
    assert owed(await native(api, group_id, alice), alice) == {"EUR": Decimal("60.00")}
    assert (await verify_group(api.store, group_id)).differences == {}
    with pytest.raises(Conflict) as twice:
        await api.store.import_records(group_id, ok[:1], activity=later)
    assert twice.value.code == "record_exists"
    made = (await api.get(f"/api/groups/{group_id}/expenses", as_=bob, params={"limit": "5"})).json
    assert len(made["items"]) == 5
    response = await api.get(f"/api/groups/{group_id}/expenses", as_=bob)
    assert response.status == 200
    creating = await api.post(
        f"/api/groups/{group_id}/expenses", as_=bob, json={"description": "After", "amount": "3.00"}
    )
    assert creating.status == 201, creating.text  # the import's hold on the group is gone


@store_agnostic
async def test_ten_thousand_lines(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    group_id = await trio(api, alice, bob, carol)
    lines = ["Date,Description,Category,Cost,Currency,Alice,Bob,Carol"]
    sums = [0, 0, 0]
    for n in range(10_000):
        cost = 300 + n % 97
        share = cost // 3
        nets = (
            [cost - share, -share, -(cost - 2 * share)]
            if n % 2
            else [-share, cost - share, -(cost - 2 * share)]
        )
        sums = [s + x for s, x in zip(sums, nets, strict=True)]
        cells = ",".join(f"{x / 100:.2f}" for x in nets)
        lines.append(f"2023-{1 + n % 12:02d}-{1 + n % 28:02d},Item {n},General,{cost / 100:.2f},EUR,{cells}")
    lines += ["", "2024-01-01,Total balance,,,EUR," + ",".join(f"{x / 100:.2f}" for x in sums)]
    text = "\n".join(lines) + "\n"
    reply = await send(api, group_id, alice, text, limit="2")
    assert reply.status == 201, reply.text[:500]
    assert reply.json["created"]["expenses"] == 10_000 and reply.json["next_offset"] == 2
    balances = await native(api, group_id, alice)
    assert [balances[a.id]["EUR"] * 100 for a in (alice, bob, carol)] == sums
    again = await send(api, group_id, alice, text, dry_run="true", limit="1")
    assert again.json["counts"]["already_imported"] == 10_000


@pytest.mark.parametrize("backend", ["dynamodb"], indirect=True)
async def test_while_an_import_holds_the_group_its_ledger_waits(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    """DynamoDB writes an import in many transactions; until the last, nothing else may build on
    the group's ledger (a take-back would have to undo it too). Chat and comments go on."""
    from domain.clock import to_text
    from store.dynamodb import DynamoDBStore
    from store.dynamodb.lease import LEASE

    store = api.store
    assert isinstance(store, DynamoDBStore)
    group_id = await trio(api, alice, bob, carol)
    first = await api.post(
        f"/api/groups/{group_id}/expenses", as_=bob, json={"description": "Before", "amount": "3.00"}
    )
    now = datetime.now(timezone.utc)
    hold = ActivityEntry(new_id(), group_id, now, alice.id, "group.imported", group_id, {})
    await store._take_lease(group_id, hold, to_text(now + LEASE))
    blocked = await api.post(
        f"/api/groups/{group_id}/expenses", as_=bob, json={"description": "During", "amount": "3.00"}
    )
    assert (blocked.status, blocked.error["code"]) == (409, "import_in_progress"), blocked.text
    gone = await api.delete(f"/api/groups/{group_id}/expenses/{first.json['id']}", as_=bob)
    assert (gone.status, gone.error["code"]) == (409, "import_in_progress"), gone.text
    second = await send(api, group_id, alice, SPLITWISE)
    assert (second.status, second.error["code"]) == (409, "import_in_progress"), second.text
    said = await api.post(f"/api/groups/{group_id}/chats", as_=bob, json={"text": "waiting"})
    assert said.status == 201, said.text
    await store._release(group_id, hold)
    after = await api.post(
        f"/api/groups/{group_id}/expenses", as_=bob, json={"description": "After", "amount": "3.00"}
    )
    assert after.status == 201, after.text


@pytest.mark.parametrize("backend", ["dynamodb"], indirect=True)
async def test_while_an_import_holds_the_group_nobody_leaves_and_it_stays(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    """An import's take-back moves the balances of every member its records name; a member netted
    to zero part-way who left, or a group deleted under it, would leave it unable to. So leaving,
    removal, account deletion and group deletion wait for the import's hold like the ledger does."""
    from domain.clock import to_text
    from store.dynamodb import DynamoDBStore
    from store.dynamodb.lease import LEASE

    store = api.store
    assert isinstance(store, DynamoDBStore)
    dave, erin = await api.user("dave"), await api.user("erin")
    group_id = await trio(api, alice, bob, carol)
    await api.join(group_id, dave, erin)
    lonely = (await api.create_group(alice, name="Alone", default_currency="EUR"))["id"]
    now = datetime.now(timezone.utc)
    holds = [ActivityEntry(new_id(), g, now, alice.id, "group.imported", g, {}) for g in (group_id, lonely)]
    for hold in holds:
        await store._take_lease(hold.group_id, hold, to_text(now + LEASE))
    members = f"/api/groups/{group_id}/members"
    for reply in (
        await api.delete(f"{members}/{dave.id}", as_=dave),
        await api.delete(f"{members}/{dave.id}", as_=alice),
        await api.delete("/api/user", as_=erin),
        await api.delete(f"/api/groups/{lonely}", as_=alice),
    ):
        assert (reply.status, reply.error["code"]) == (409, "import_in_progress"), reply.text
    assert {m["user_id"] for m in (await api.group(group_id, alice))["members"]} >= {dave.id, erin.id}
    assert (await api.get("/api/user", as_=erin)).status == 200
    for hold in holds:
        await store._release(hold.group_id, hold)
    assert (await api.delete(f"{members}/{dave.id}", as_=dave)).status == 204
    assert (await api.delete("/api/user", as_=erin)).status == 204
    assert (await api.delete(f"/api/groups/{lonely}", as_=alice)).status == 204


@pytest.mark.parametrize("backend", ["dynamodb"], indirect=True)
async def test_an_import_it_cannot_take_back_says_so(
    api: Api, alice: Actor, bob: Actor, carol: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the take-back itself fails, part of the file stays: the answer must not claim the
    import left nothing (503: importing the file again completes it), and what stays is balanced."""
    from domain import Unavailable
    from store.dynamodb import DynamoDBStore

    store = api.store
    assert isinstance(store, DynamoDBStore)
    group_id = await trio(api, alice, bob, carol)
    now = datetime.now(timezone.utc)
    stranger = (await api.user("erin")).id

    def expense(ower: str) -> ImportedRecord:
        record = Expense(
            id=new_id(), group_id=group_id, description="x", amount=100, currency="EUR", date="2024-03-01",
            category="general", paid={alice.id: 100}, owed={ower: 100},
            split={"kind": "exact", "amounts": {ower: "1.00"}}, notes="", receipt_id=None,
            created_by=alice.id, created_at=now, updated_at=now, version=1,
        )  # fmt: skip
        return ImportedRecord(record, {(alice.id, "EUR"): 100, (ower, "EUR"): -100}, {})

    records = [expense(bob.id) for _ in range(60)] + [expense(stranger)]
    write = store._write_chunk

    async def failing_undo(*args: Any, undo: bool = False, **kwargs: Any) -> None:
        if undo:
            raise Unavailable("DynamoDB is down")
        await write(*args, undo=undo, **kwargs)

    monkeypatch.setattr(store, "_write_chunk", failing_undo)
    activity = ActivityEntry(new_id(), group_id, now, alice.id, "group.imported", group_id, {})
    with pytest.raises(Unavailable) as cut:
        await api.store.import_records(group_id, records, activity=activity)
    assert "import the same file again" in cut.value.message
    assert 0 < len(await api.store.existing_records(group_id, [r.record.id for r in records])) < 61
    assert (await verify_group(api.store, group_id)).differences == {}


async def test_a_file_too_large_to_add_up_is_refused(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group_id = await trio(api, alice, bob, carol)
    huge = "2024-01-01,Gold,General,10000000000000.00,EUR,10000000000000.00,-10000000000000.00,0\n"
    text = "Date,Description,Category,Cost,Currency,Alice,Bob,Carol\n" + huge * 101
    reply = await send(api, group_id, alice, text)
    assert (reply.status, reply.error["details"][0]["field"]) == (422, "file"), reply.text
    assert await native(api, group_id, alice) == {}


async def test_a_recorded_conversion_comes_back_with_its_moves(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    from server.keys import SERVICES
    from tests.api.test_rates_view import RATES_XML

    await api.app[SERVICES].rates.load(RATES_XML.encode(), "ecb")
    source = await trio(api, alice, bob, carol)
    assert (await send(api, source, alice, SPLITWISE)).status == 201
    converted = await api.post(f"/api/groups/{source}/convert", as_=alice, json={"currency": "EUR"})
    assert converted.status == 201, converted.text
    exported = await api.get(f"/api/groups/{source}/export", as_=alice, params={"format": "json"})
    target = (await api.create_group(carol, name="Copy", default_currency="EUR"))["id"]
    await api.join(target, alice, bob)
    reply = await send(api, target, carol, exported.text, headers={"Content-Type": "application/json"})
    assert reply.status == 201, reply.text
    assert reply.json["created"] == {"expenses": 5, "transactions": 1}
    after = await native(api, target, alice)
    assert all(set(owed(after, who)) <= {"EUR"} for who in (alice, bob, carol)), after
    assert {u: owed(after, a) for u, a in ((a.id, a) for a in (alice, bob, carol))} == {
        a.id: owed(await native(api, source, alice), a) for a in (alice, bob, carol)
    }
    assert (await verify_group(api.store, target)).differences == {}
    listed = (await api.get(f"/api/groups/{target}/expenses", as_=bob)).json["items"]
    conversion = next(e for e in listed if e["split"]["kind"] == "conversion")
    assert conversion["split"]["moves"] == converted.json["split"]["moves"]


async def test_hostile_json_files_are_refused_cleanly(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group_id = await trio(api, alice, bob, carol)
    as_json = {"Content-Type": "application/json"}
    for text in ("[" * 100_000, '{"expenses": ' + "[" * 5000 + "]" * 5000 + "}", '{"expenses": [1]}', "[]"):
        reply = await send(api, group_id, alice, text, headers=as_json)
        assert reply.status == 422, (text[:30], reply.text)
    wrong = '{"expenses": [{"id": "x", "amount": 5, "currency": "EUR"}]}'
    reply = await send(api, group_id, alice, wrong, headers=as_json)
    assert reply.status == 422 and "expenses[0]" in reply.error["message"], reply.text


async def test_bad_records_in_a_json_file_are_named_not_stored(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    """(From review: these gave 500s, or stored expenses nobody could edit.)"""
    group_id = await trio(api, alice, bob, carol)
    as_json = {"Content-Type": "application/json"}

    def expense(**fields: Any) -> dict[str, Any]:
        return {
            "id": "e1", "description": "x", "amount": "10.00", "currency": "USD", "date": "2024-01-01",
            "payers": [{"user_id": alice.id, "amount": "10.00"}],
            "shares": [{"user_id": bob.id, "amount": "10.00"}], **fields,
        }  # fmt: skip

    conversion = {
        "kind": "conversion", "on": "2024-01-01", "rates": [],
        "moves": [{"user_id": alice.id, "currency": "EUR", "amount": "1.00"}],
    }  # fmt: skip
    for bad in (
        [expense(exchange_rate=rate, exchange_currency="EUR") for rate in ("abc", "1/0", "-1", "0")][:1],
        [expense(exchange_rate="-1", exchange_currency="EUR")],
        [expense(exchange_rate="0", exchange_currency="EUR")],
        [expense(exchange_rate="2", exchange_currency="USD")],
        [expense(amount="0.00", payers=[], shares=[], split=conversion)],
        [expense(amount="0.00", payers=[], shares=[], split={**conversion, "rates": [1] * 100, "moves": []})],
        [expense(), expense()],
    ):
        reply = await send(
            api, group_id, alice, json.dumps({"group_id": "g", "expenses": bad}), headers=as_json
        )
        assert reply.status == 422 and "expenses[" in reply.error["message"], reply.text
    assert await native(api, group_id, alice) == {}


async def test_a_groups_own_export_imported_into_it_makes_nothing(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group_id = await trio(api, alice, bob, carol)
    assert (await send(api, group_id, alice, SPLITWISE)).status == 201
    before = await native(api, group_id, alice)
    exported = await api.get(f"/api/groups/{group_id}/export", as_=alice, params={"format": "json"})
    again = await send(api, group_id, alice, exported.text, headers={"Content-Type": "application/json"})
    assert again.status == 200 and again.json["counts"]["already_imported"] == 5, again.text
    assert await native(api, group_id, alice) == before
