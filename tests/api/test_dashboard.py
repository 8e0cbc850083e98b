"""The dashboard: what the caller owes and is owed, where their money went, what happened lately."""

from __future__ import annotations

from tests.api.test_expenses import trio


async def test_dashboard_sums_across_groups_without_netting_them(api, alice, bob, carol):
    trip = await trio(api, alice, bob, carol)
    flat = await api.create_group(bob, name="Flat", default_currency="EUR")
    await api.join(flat["id"], alice)
    await api.post(
        f"/api/groups/{trip}/expenses",
        as_=alice,
        json={"description": "Hotel", "amount": "90.00", "date": "2026-03-02", "category": "Hotel"},
    )
    await api.post(
        f"/api/groups/{flat['id']}/expenses",
        as_=bob,
        json={"description": "Rent", "amount": "40.00", "date": "2026-04-01", "category": "rent"},
    )
    await api.post(
        f"/api/groups/{trip}/expenses",
        as_=carol,
        json={
            "description": "Ramen",
            "amount": "3000",
            "currency": "JPY",
            "date": "2026-03-03",
            "category": "food",
            "split": {"kind": "equal", "members": [alice.id, carol.id]},
        },
    )

    reply = await api.get("/api/dashboard", as_=alice)
    assert reply.status == 200, reply.text
    board = reply.json
    assert board["totals"] == [
        {"currency": "EUR", "owed_to_you": "60.00", "you_owe": "20.00", "net": "40.00"},
        {"currency": "JPY", "owed_to_you": "0", "you_owe": "1500", "net": "-1500"},
    ]
    assert [g["name"] for g in board["groups"]] == ["Flat", "Trip"]
    assert board["groups_truncated"] is False
    assert board["spending"]["by_month"] == [
        {"month": "2026-03", "currency": "EUR", "amount": "30.00"},
        {"month": "2026-03", "currency": "JPY", "amount": "1500"},
        {"month": "2026-04", "currency": "EUR", "amount": "20.00"},
    ]
    assert {
        (r["category"], r["name"], r["parent"], r["currency"], r["amount"])
        for r in board["spending"]["by_category"]
    } == {
        ("hotel", "Hotel", "transportation", "EUR", "30.00"),
        ("rent", "Rent", "home", "EUR", "20.00"),
        ("food", "Food and drink", None, "JPY", "1500"),
    }
    assert board["spending"]["by_parent"] == [
        {"parent": "food", "name": "Food and drink", "currency": "JPY", "amount": "1500"},
        {"parent": "home", "name": "Home", "currency": "EUR", "amount": "20.00"},
        {"parent": "transportation", "name": "Transportation", "currency": "EUR", "amount": "30.00"},
    ]
    actions = [(e["action"], e["group_id"]) for e in board["recent_activity"]]
    assert actions[0] == ("expense.created", trip)
    assert ("expense.created", flat["id"]) in actions


async def test_an_edit_moves_spending_between_months(api, alice, bob, carol):
    group_id = await trio(api, alice, bob, carol)
    created = (
        await api.post(
            f"/api/groups/{group_id}/expenses",
            as_=alice,
            json={"description": "Tickets", "amount": "30.00", "date": "2026-05-31"},
        )
    ).json
    await api.put(
        f"/api/groups/{group_id}/expenses/{created['id']}",
        as_=alice,
        json={"date": "2026-06-01", "category": "Movies", "version": 1},
    )
    board = (await api.get("/api/dashboard", as_=bob)).json
    assert board["spending"]["by_month"] == [{"month": "2026-06", "currency": "EUR", "amount": "10.00"}]
    assert board["spending"]["by_category"] == [
        {
            "category": "movies",
            "name": "Movies",
            "parent": "entertainment",
            "currency": "EUR",
            "amount": "10.00",
        }
    ]


async def test_a_newcomer_has_an_empty_dashboard(api, alice):
    board = (await api.get("/api/dashboard", as_=alice)).json
    assert board == {
        "totals": [],
        "groups": [],
        "groups_truncated": False,
        "spending": {"by_category": [], "by_parent": [], "by_month": []},
        "recent_activity": [],
        "users": {},
    }
