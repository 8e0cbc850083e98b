"""Export streams every expense and transaction of a group."""

from __future__ import annotations

import csv
import io
import json

import pytest

from handlers import export
from tests.api.test_expenses import trio

PAGE_SIZE = 4
EXPENSES = 3 * PAGE_SIZE + 1
"""Pages of four (not the served 100), so that a handful of expenses makes several full pages
and a last, short one, without posting hundreds."""


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    """Writes posted in a moment."""
    return {**environ, "RATE_LIMIT_WRITES_PER_MINUTE": "0"}


async def test_export_csv_and_json_hold_every_record(api, alice, bob, carol, monkeypatch):
    monkeypatch.setattr(export, "PAGE_SIZE", PAGE_SIZE)
    group_id = await trio(api, alice, bob, carol)
    for number in range(EXPENSES):
        reply = await api.post(
            f"/api/groups/{group_id}/expenses",
            as_=alice,
            json={"description": f'item, "{number}"', "amount": "1.00"},
        )
        assert reply.status == 201
    await api.post(
        f"/api/groups/{group_id}/transactions", as_=bob, json={"to_user": alice.id, "amount": "0.33"}
    )

    as_csv = await api.get(f"/api/groups/{group_id}/export", as_=carol, params={"format": "csv"})
    assert as_csv.status == 200
    assert as_csv.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["type"] for r in rows].count("expense") == EXPENSES
    transaction = next(r for r in rows if r["type"] == "transaction")
    assert (transaction["from_user"], transaction["amount"]) == (bob.id, "0.33")
    last = f'item, "{EXPENSES - 1}"'
    assert {r["description"] for r in rows if r["type"] == "expense"} >= {'item, "0"', last}
    first = next(r for r in rows if r["type"] == "expense")
    assert sum(int(p.split(":")[1].replace(".", "")) for p in first["owed_by"].split(";")) == 100

    as_json = await api.get(f"/api/groups/{group_id}/export", as_=carol, params={"format": "json"})
    document = json.loads(as_json.text)
    assert len(document["expenses"]) == EXPENSES and len(document["transactions"]) == 1
    assert len({e["id"] for e in document["expenses"]}) == EXPENSES

    outsider = await api.user("mallory")
    assert (await api.get(f"/api/groups/{group_id}/export", as_=outsider)).status == 404
    bad = await api.get(f"/api/groups/{group_id}/export", as_=carol, params={"format": "xml"})
    assert bad.status == 422
