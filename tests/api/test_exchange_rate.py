"""An expense's own `exchange_rate` (the payer's card rate to the group's currency): balances and
spending move in the group's currency, exactly; edits and deletes move them back the same way."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from services.verify import verify_group
from tests.api.conftest import Actor, Api, store_agnostic
from tests.api.test_expenses import trio
from tests.api.test_rates_view import native


async def card_expense(api: Api, group_id: str, who: Actor, **fields: Any) -> dict[str, Any]:
    body = {
        "description": "Museum",
        "amount": "50.00",
        "currency": "USD",
        "exchange_rate": "0.9215",
        **fields,
    }
    reply = await api.post(f"/api/groups/{group_id}/expenses", as_=who, json=body)
    assert reply.status == 201, reply.text
    made: dict[str, Any] = reply.json
    return made


async def test_balances_move_in_the_groups_currency_at_the_payers_rate(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group_id = await trio(api, alice, bob, carol)  # a EUR group
    made = await card_expense(api, group_id, alice)
    assert (made["amount"], made["currency"]) == ("50.00", "USD")
    assert (made["exchange_rate"], made["exchange_currency"]) == ("0.9215", "EUR")
    exchanged = made["exchanged"]
    assert (exchanged["currency"], exchanged["amount"]) == ("EUR", "46.08")  # 46.075, half to even
    shares = {s["user_id"]: Decimal(s["amount"]) for s in exchanged["shares"]}
    assert sum(shares.values()) == Decimal("46.08")
    assert sorted(shares.values()) == [Decimal("15.36"), Decimal("15.36"), Decimal("15.36")]
    held = await native(api, group_id, bob)
    assert {c for by in held.values() for c, a in by.items() if a} == {"EUR"}
    assert held[alice.id]["EUR"] == Decimal("46.08") - shares[alice.id]
    assert held[bob.id]["EUR"] == -shares[bob.id]
    assert (await verify_group(api.store, group_id)).differences == {}


async def test_edits_and_deletes_move_balances_back_exactly(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group_id = await trio(api, alice, bob, carol)
    made = await card_expense(api, group_id, alice)
    url = f"/api/groups/{group_id}/expenses/{made['id']}"
    rerated = await api.put(url, as_=bob, json={"exchange_rate": "0.95", "version": 1})
    assert rerated.status == 200, rerated.text
    assert rerated.json["exchanged"]["amount"] == "47.50"
    share = next(
        Decimal(s["amount"]) for s in rerated.json["exchanged"]["shares"] if s["user_id"] == alice.id
    )
    assert (await native(api, group_id, carol))[alice.id]["EUR"] == Decimal("47.50") - share
    moved = await api.put(url, as_=bob, json={"currency": "GBP", "version": 2})
    assert moved.status == 200, moved.text
    assert (moved.json["exchange_rate"], moved.json["exchanged"]) == (None, None)  # dropped with the currency
    held = await native(api, group_id, carol)
    assert {c for by in held.values() for c, a in by.items() if a} == {"GBP"}
    assert (await verify_group(api.store, group_id)).differences == {}
    assert (await api.delete(url, as_=bob, headers={"If-Match": '"3"'})).status == 204
    assert {a for by in (await native(api, group_id, carol)).values() for a in by.values()} == {0}


async def test_a_rate_stays_to_the_currency_it_was_given_in(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group_id = await trio(api, alice, bob, carol)
    made = await card_expense(api, group_id, alice)
    group = await api.group(group_id, alice)
    changed = await api.put(
        f"/api/groups/{group_id}", as_=alice, json={"default_currency": "CHF", "version": group["version"]}
    )
    assert changed.status == 200, changed.text
    url = f"/api/groups/{group_id}/expenses/{made['id']}"
    edited = await api.put(url, as_=bob, json={"description": "Museum tickets", "version": 1})
    assert edited.json["exchange_currency"] == "EUR"
    held = await native(api, group_id, carol)
    assert {c for by in held.values() for c, a in by.items() if a} == {"EUR"}
    again = await api.put(url, as_=bob, json={"exchange_rate": "0.88", "version": 2})
    assert again.json["exchange_currency"] == "EUR"  # its currency is still USD: the rate stays to EUR
    assert (await verify_group(api.store, group_id)).differences == {}


@store_agnostic
@pytest.mark.parametrize(
    "fields",
    [
        {"currency": "EUR"},  # the group's own currency needs no rate
        {"exchange_rate": "-1"},
        {"exchange_rate": "0"},
        {"exchange_rate": "1e3"},
        {"exchange_rate": 0.92},
        {"exchange_rate": "0.0000000000001"},
        {"exchange_rate": "0.001"},  # 5.00 USD is 0.005 EUR: no whole cent
        {"amount": "9999999999.99", "exchange_rate": "999999"},  # beyond any amount
    ],
)
async def test_a_bad_rate_is_refused_clearly(
    api: Api, alice: Actor, bob: Actor, carol: Actor, fields: dict[str, Any]
) -> None:
    group_id = await trio(api, alice, bob, carol)
    body = {"description": "x", "amount": "5.00", "currency": "USD", "exchange_rate": "0.9", **fields}
    reply = await api.post(f"/api/groups/{group_id}/expenses", as_=alice, json=body)
    assert reply.status == 422, reply.text
    assert "exchange_rate" in reply.error_fields(), reply.error
    rule = {"expense": {**body, "currency": "USD"}, "every": "month"}
    refused = await api.post(f"/api/groups/{group_id}/recurring", as_=alice, json=rule)
    assert refused.status == 422, refused.text
