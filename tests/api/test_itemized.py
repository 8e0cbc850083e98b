"""Itemized expenses over HTTP, on both backends: a receipt's lines shared by who had them, tax and
tip by each one's lines, lines left unassigned shared by everyone, and handed out later."""

from __future__ import annotations

from tests.api.test_expenses import balances, trio


async def test_a_dinner_split_by_its_lines(api, alice, bob, carol):
    group_id = await trio(api, alice, bob, carol)
    body = {
        "description": "Dinner",
        "amount": "32.16",
        "split": {
            "kind": "items",
            "items": [
                {"description": "Pizza", "amount": "18.00", "members": [alice.id, bob.id]},
                {"description": "Beer", "amount": "6.00", "members": [bob.id]},
                {"description": "Water", "amount": "3.00"},
            ],
            "tax": "2.16",
            "tip": "4.00",
            "discount": "1.00",
        },
    }
    reply = await api.post(f"/api/groups/{group_id}/expenses", as_=alice, json=body)
    assert reply.status == 201, reply.text
    expense = reply.json
    shares = {s["user_id"]: s["amount"] for s in expense["shares"]}
    assert sum(int(a.replace(".", "")) for a in shares.values()) == 3216
    assert shares[bob.id] > shares[alice.id] > shares[carol.id]
    # the unassigned water went to everyone in the group, and the split says who
    assert sorted(expense["split"]["members"]) == sorted([alice.id, bob.id, carol.id])
    assert expense["split"]["items"][2] == {"description": "Water", "amount": "3.00", "members": []}
    assert (await balances(api, group_id, bob))[(bob.id, "EUR")] == "-" + shares[bob.id]


async def test_a_scanned_receipt_saved_unassigned_then_handed_out(api, alice, bob, carol):
    group_id = await trio(api, alice, bob, carol)
    url = f"/api/groups/{group_id}/expenses"
    lines = [{"description": "Milk", "amount": "3.00"}, {"description": "Wine", "amount": "9.00"}]
    saved = await api.post(url, as_=alice, json={"description": "Shop", "amount": "12.00",
                                                 "split": {"kind": "items", "items": lines}})  # fmt: skip
    assert saved.status == 201, saved.text
    assert {s["amount"] for s in saved.json["shares"]} == {"4.00"}
    split = saved.json["split"]
    split["items"][1]["members"] = [bob.id]
    edited = await api.put(f"{url}/{saved.json['id']}", as_=alice, json={"split": split, "version": 1})
    assert edited.status == 200, edited.text
    shares = {s["user_id"]: s["amount"] for s in edited.json["shares"]}
    assert shares == {alice.id: "1.00", bob.id: "10.00", carol.id: "1.00"}
    assert (await balances(api, group_id, carol))[(alice.id, "EUR")] == "11.00"


async def test_itemized_splits_that_do_not_add_up_are_refused(api, alice, bob, carol):
    group_id = await trio(api, alice, bob, carol)
    url = f"/api/groups/{group_id}/expenses"
    short = {"kind": "items", "items": [{"amount": "10.00", "members": [bob.id]}], "tip": "1.00"}
    reply = await api.post(url, as_=alice, json={"description": "x", "amount": "10.00", "split": short})
    assert reply.status == 422 and reply.error_fields() == {"split"}
    assert "11.00" in reply.error["message"]
    stranger = {"kind": "items", "items": [{"amount": "10.00", "members": ["nobody"]}]}
    reply = await api.post(url, as_=alice, json={"description": "x", "amount": "10.00", "split": stranger})
    assert reply.status == 422
    # review: those sharing unassigned lines must be members even while every line is assigned
    outsider = {"kind": "items", "items": [{"amount": "10.00", "members": [bob.id]}], "members": ["nobody"]}
    reply = await api.post(url, as_=alice, json={"description": "x", "amount": "10.00", "split": outsider})
    assert reply.status == 422 and reply.error["code"] == "not_a_member"
    nothing = await api.get(url, as_=alice)
    assert nothing.json["items"] == []
