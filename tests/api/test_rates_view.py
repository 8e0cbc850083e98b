"""Balances and settle-up in one currency (`?currency=`): the ECB's rates of the day asked for
(or the latest before it), exact to the minor unit, summing to zero, with the rates shown."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from server.keys import SERVICES
from tests.api.conftest import Actor, Api, AppFactory
from tests.api.test_expenses import trio
from tests.api.test_recurring import MovableClock

RATES_XML = """<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <Cube>
    <Cube time="2024-01-05">
      <Cube currency="USD" rate="1.0921"/><Cube currency="JPY" rate="158.17"/>
      <Cube currency="GBP" rate="0.86"/>
    </Cube>
    <Cube time="2024-01-04">
      <Cube currency="USD" rate="1.0953"/><Cube currency="JPY" rate="155.92"/>
      <Cube currency="GBP" rate="0.8652"/>
    </Cube>
  </Cube>
</gesmes:Envelope>
"""


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(datetime(2024, 1, 7, 12, 0, tzinfo=timezone.utc))  # a Sunday


@pytest.fixture
async def api(make_api: AppFactory, clock: MovableClock) -> Api:
    made = await make_api(clock=clock)
    await made.app[SERVICES].rates.load(RATES_XML.encode(), "ecb")
    return made


async def spend(api: Api, group_id: str, who: Actor, amount: str, currency: str) -> None:
    body = {"description": "x", "amount": amount, "currency": currency}
    reply = await api.post(f"/api/groups/{group_id}/expenses", as_=who, json=body)
    assert reply.status == 201, reply.text


async def mixed_group(api: Api, alice: Actor, bob: Actor, carol: Actor) -> str:
    """EUR 100.00 paid by alice, USD 50.00 by bob, JPY 1000 by carol, each split by three."""
    group_id = await trio(api, alice, bob, carol)
    await spend(api, group_id, alice, "100.00", "EUR")
    await spend(api, group_id, bob, "50.00", "USD")
    await spend(api, group_id, carol, "1000", "JPY")
    return group_id


async def native(api: Api, group_id: str, who: Actor) -> dict[str, dict[str, Decimal]]:
    reply = await api.get(f"/api/groups/{group_id}/balances", as_=who)
    found: dict[str, dict[str, Decimal]] = {}
    for b in reply.json["balances"]:
        found.setdefault(b["user_id"], {})[b["currency"]] = Decimal(b["amount"])
    return found


def exact_in(target: str, by_currency: dict[str, Decimal], per_euro: dict[str, Fraction]) -> Fraction:
    rate = {c: Fraction(per_euro.get(target, 1)) / Fraction(per_euro.get(c, 1)) for c in by_currency}
    return sum((Fraction(amount) * rate[c] for c, amount in by_currency.items()), Fraction(0))


async def test_balances_in_one_currency_are_exact_and_sum_to_zero(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group_id = await mixed_group(api, alice, bob, carol)
    before = await native(api, group_id, alice)
    reply = await api.get(f"/api/groups/{group_id}/balances", as_=alice, params={"currency": "GBP"})
    assert reply.status == 200, reply.text
    body: dict[str, Any] = reply.json
    assert (body["currency"], body["on"]) == ("GBP", "2024-01-07")
    assert body["rates"] == [  # the Sunday takes Friday's rates, through the euro
        {"from": "EUR", "to": "GBP", "rate": "0.86", "on": "2024-01-05", "source": "ecb"},
        {"from": "JPY", "to": "GBP", "rate": "0.0054371878", "on": "2024-01-05", "source": "ecb"},
        {"from": "USD", "to": "GBP", "rate": "0.7874736746", "on": "2024-01-05", "source": "ecb"},
    ]
    per_euro = {"USD": Fraction("1.0921"), "JPY": Fraction("158.17"), "GBP": Fraction("0.86")}
    amounts = {b["user_id"]: Decimal(b["amount"]) for b in body["balances"]}
    assert set(amounts) == {alice.id, bob.id, carol.id}
    assert {b["currency"] for b in body["balances"]} == {"GBP"}
    assert sum(amounts.values()) == 0
    for user_id, amount in amounts.items():
        exact = exact_in("GBP", before[user_id], per_euro)
        assert abs(Fraction(amount) - exact) < Fraction(1, 100), (user_id, amount, float(exact))
    assert set(body["users"]) == {alice.id, bob.id, carol.id}
    assert await native(api, group_id, alice) == before  # nothing was recorded


async def test_an_earlier_day_uses_its_own_rates_and_settle_up_plans_in_one_currency(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group_id = await mixed_group(api, alice, bob, carol)
    params = {"currency": "EUR", "on": "2024-01-04"}
    shown = (await api.get(f"/api/groups/{group_id}/balances", as_=bob, params=params)).json
    assert [r["rate"] for r in shown["rates"]] == ["0.0064135454", "0.9129918744"]  # JPY, USD
    assert {r["on"] for r in shown["rates"]} == {"2024-01-04"}
    plan = await api.get(f"/api/groups/{group_id}/settle-up", as_=carol, params=params)
    assert plan.status == 200, plan.text
    assert plan.json["plans"] == {"EUR": "exact"}
    assert (plan.json["currency"], plan.json["on"], plan.json["rates"]) == (
        "EUR",
        "2024-01-04",
        shown["rates"],
    )
    owed = {b["user_id"]: Decimal(b["amount"]) for b in shown["balances"]}
    for transfer in plan.json["transfers"]:
        assert transfer["currency"] == "EUR"
        owed[transfer["from_user"]] += Decimal(transfer["amount"])
        owed[transfer["to_user"]] -= Decimal(transfer["amount"])
    assert set(owed.values()) == {0}


async def test_a_group_in_one_currency_needs_no_rate(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group_id = await trio(api, alice, bob, carol)
    await spend(api, group_id, alice, "10.00", "THB")
    reply = await api.get(
        f"/api/groups/{group_id}/balances", as_=bob, params={"currency": "THB", "on": "1999-01-01"}
    )
    assert reply.status == 200, reply.text
    assert reply.json["rates"] == []
    same = {b["user_id"]: {"THB": Decimal(b["amount"])} for b in reply.json["balances"]}
    assert same == await native(api, group_id, bob)  # to the last minor unit: nothing converted


async def test_a_missing_rate_is_named_not_guessed(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    group_id = await mixed_group(api, alice, bob, carol)
    url = f"/api/groups/{group_id}/balances"
    early = await api.get(url, as_=alice, params={"currency": "EUR", "on": "2024-01-03"})
    assert early.status == 422, early.text
    assert early.error["code"] == "rate_unavailable"
    assert early.error["details"] == {"currencies": ["JPY", "USD"], "on": "2024-01-03"}
    unknown = await api.get(f"/api/groups/{group_id}/settle-up", as_=alice, params={"currency": "THB"})
    assert (unknown.status, unknown.error["code"]) == (422, "rate_unavailable")
    assert unknown.error["details"]["currencies"] == ["THB"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "eur"}, "currency"),
        ({"currency": "EURO"}, "currency"),
        ({"currency": "EUR", "on": "2024-02-30"}, "on"),
        ({"currency": "EUR", "on": "yesterday"}, "on"),
        ({"on": "2024-01-04"}, "on"),
    ],
)
async def test_a_bad_question_is_refused_clearly(
    api: Api, alice: Actor, bob: Actor, carol: Actor, params: dict[str, str], field: str
) -> None:
    group_id = await mixed_group(api, alice, bob, carol)
    for view in ("balances", "settle-up"):
        reply = await api.get(f"/api/groups/{group_id}/{view}", as_=alice, params=params)
        assert reply.status == 422, reply.text
        assert field in reply.error_fields(), reply.error


async def test_strangers_learn_nothing(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    group_id = await mixed_group(api, alice, bob, carol)
    stranger = await api.user("mallory")
    for view in ("balances", "settle-up"):
        reply = await api.get(f"/api/groups/{group_id}/{view}", as_=stranger, params={"currency": "EUR"})
        assert reply.status == 404, reply.text
        missing = await api.get(f"/api/groups/nope/{view}", as_=alice, params={"currency": "EUR"})
        assert missing.status == 404, missing.text
