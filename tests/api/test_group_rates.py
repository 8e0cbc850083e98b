"""A group's own exchange rates: any member sets the rate between two currencies, which then wins
over the ECB's for that pair (both ways round) in the group's views in one currency; versions
keep two members from silently overwriting each other."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from domain.rates import MAX_GROUP_RATES
from server.keys import SERVICES
from tests.api.conftest import Actor, Api, AppFactory, store_agnostic
from tests.api.test_expenses import trio
from tests.api.test_rates_view import RATES_XML, mixed_group
from tests.api.test_recurring import MovableClock
from tests.api.test_roles import connect


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(datetime(2024, 1, 7, 12, 0, tzinfo=timezone.utc))


@pytest.fixture
async def api(make_api: AppFactory, clock: MovableClock) -> Api:
    made = await make_api(clock=clock)
    await made.app[SERVICES].rates.load(RATES_XML.encode(), "ecb")
    return made


def rate_url(group_id: str, source: str, target: str) -> str:
    return f"/api/groups/{group_id}/rates/{source}/{target}"


async def in_eur(api: Api, group_id: str, who: Actor) -> dict[str, Any]:
    reply = await api.get(f"/api/groups/{group_id}/balances", as_=who, params={"currency": "EUR"})
    assert reply.status == 200, reply.text
    shown: dict[str, Any] = reply.json
    return shown


async def test_a_members_rate_wins_over_the_ecbs_both_ways_round(
    api: Api, alice: Actor, bob: Actor, carol: Actor, clock: MovableClock
) -> None:
    group_id = await mixed_group(api, alice, bob, carol)
    made = await api.put(rate_url(group_id, "USD", "EUR"), as_=bob, json={"rate": "0.9000"})
    assert made.status == 201, made.text
    group = await api.group(group_id, carol)
    assert made.json == {
        "from": "USD",
        "to": "EUR",
        "rate": "0.9",
        "set_by": bob.id,
        "set_at": "2024-01-07T12:00:00.000000Z",
        "version": group["version"],  # the group's version it was set at
    }
    assert group["rates"] == [made.json]
    shown = await in_eur(api, group_id, alice)
    assert shown["rates"] == [
        {"from": "JPY", "to": "EUR", "rate": "0.0063223114", "on": "2024-01-05", "source": "ecb"},
        {"from": "USD", "to": "EUR", "rate": "0.9", "on": "2024-01-07", "source": "group"},
    ]
    gbp = await api.get(f"/api/groups/{group_id}/balances", as_=alice, params={"currency": "USD"})
    assert {"from": "EUR", "to": "USD", "rate": "1.1111111111", "on": "2024-01-07", "source": "group"} in (
        gbp.json["rates"]
    )  # the other way round: 1 / 0.9, applied exactly
    amounts = [Decimal(b["amount"]) for b in shown["balances"]]
    assert sum(amounts) == 0


async def test_replacing_a_rate_takes_its_version(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    group_id = await trio(api, alice, bob, carol)
    first = await api.put(rate_url(group_id, "USD", "EUR"), as_=alice, json={"rate": "0.9"})
    assert first.status == 201
    v1 = first.json["version"]
    blind = await api.put(rate_url(group_id, "EUR", "USD"), as_=bob, json={"rate": "1.1"})
    assert (blind.status, blind.error["code"]) == (428, "version_required"), blind.text
    assert blind.error["details"] == {"current_version": v1}
    turned = await api.put(rate_url(group_id, "EUR", "USD"), as_=bob, json={"rate": "1.1", "version": v1})
    assert turned.status == 200, turned.text
    v2 = turned.json["version"]
    assert (turned.json["from"], turned.json["to"]) == ("EUR", "USD") and v2 > v1
    stale = await api.put(
        rate_url(group_id, "USD", "EUR"), as_=carol, json={"rate": "0.8"}, headers={"If-Match": f'"{v1}"'}
    )
    assert (stale.status, stale.error["details"]) == (412, {"current_version": v2})
    assert (await api.group(group_id, carol))["rates"] == [turned.json]


async def test_a_rate_removed_and_set_again_never_takes_an_old_version(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    """Alice read the rate at version v; Bob removed it and Carol set it again: Alice's edit, based
    on what she read, must not silently replace Carol's."""
    group_id = await trio(api, alice, bob, carol)
    url = rate_url(group_id, "USD", "EUR")
    seen = (await api.put(url, as_=alice, json={"rate": "0.9"})).json["version"]
    assert (await api.delete(url, as_=bob, headers={"If-Match": f'"{seen}"'})).status == 204
    carols = await api.put(url, as_=carol, json={"rate": "0.5"})
    assert carols.status == 201 and carols.json["version"] != seen
    stale = await api.put(url, as_=alice, json={"rate": "0.91", "version": seen})
    assert stale.status == 412, stale.text
    assert (await api.delete(url, as_=alice, headers={"If-Match": f'"{seen}"'})).status == 412
    assert (await api.group(group_id, alice))["rates"] == [carols.json]


async def test_removing_a_rate_brings_the_ecbs_back(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    group_id = await mixed_group(api, alice, bob, carol)
    url = rate_url(group_id, "USD", "EUR")
    version = (await api.put(url, as_=alice, json={"rate": "0.9"})).json["version"]
    assert (await api.delete(url, as_=bob)).status == 428
    assert (await api.delete(url, as_=bob, headers={"If-Match": f'"{version + 1}"'})).status == 412
    assert (
        await api.delete(rate_url(group_id, "EUR", "USD"), as_=bob, headers={"If-Match": f'"{version}"'})
    ).status == 204
    assert (await api.group(group_id, carol))["rates"] == []
    gone = await api.delete(url, as_=bob, headers={"If-Match": f'"{version}"'})
    assert (gone.status, gone.error["code"]) == (404, "rate_not_found")
    shown = await in_eur(api, group_id, alice)
    assert {r["source"] for r in shown["rates"]} == {"ecb"}


async def test_members_hear_of_a_rate(api: Api, alice: Actor, bob: Actor, carol: Actor) -> None:
    group_id = await trio(api, alice, bob, carol)
    client = await connect(api, carol)
    assert (await client.subscribe(f"group:{group_id}"))["ok"]
    made = (await api.put(rate_url(group_id, "GBP", "EUR"), as_=bob, json={"rate": "1.16"})).json
    event = await client.next_event()
    assert (event["type"], event["data"]) == ("rate.set", {"group_id": group_id, **made})
    group = await client.next_event()
    assert group["type"] == "group.updated" and group["data"]["rates"] == [made]
    await api.delete(rate_url(group_id, "GBP", "EUR"), as_=bob, headers={"If-Match": f'"{made["version"]}"'})
    removed = await client.next_event()
    assert (removed["type"], removed["data"]) == ("rate.removed", {"group_id": group_id, **made})
    await client.close()


@store_agnostic
@pytest.mark.parametrize(
    ("source", "target", "body", "field"),
    [
        ("USD", "USD", {"rate": "1"}, "to"),
        ("USD", "XYZ", {"rate": "1"}, "to"),
        ("usd", "EUR", {"rate": "1"}, "from"),
        ("USD", "EUR", {"rate": "0"}, "rate"),
        ("USD", "EUR", {"rate": "0.0000000000001"}, "rate"),
        ("USD", "EUR", {"rate": "-1"}, "rate"),
        ("USD", "EUR", {"rate": "1e3"}, "rate"),
        ("USD", "EUR", {"rate": 0.9}, "rate"),
        ("USD", "EUR", {}, "rate"),
    ],
)
async def test_a_bad_rate_is_refused_clearly(
    api: Api, alice: Actor, source: str, target: str, body: dict[str, object], field: str
) -> None:
    group = await api.create_group(alice)
    reply = await api.put(rate_url(group["id"], source, target), as_=alice, json=body)
    assert reply.status == 422, reply.text
    assert field in reply.error_fields(), reply.error
    assert (await api.group(group["id"], alice))["rates"] == []


async def test_strangers_cannot_set_or_remove_rates(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)
    mallory = await api.user("mallory")
    url = rate_url(group["id"], "USD", "EUR")
    assert (await api.put(url, as_=mallory, json={"rate": "0.9"})).status == 404
    version = (await api.put(url, as_=alice, json={"rate": "0.9"})).json["version"]
    assert (await api.delete(url, as_=mallory, headers={"If-Match": f'"{version}"'})).status == 404
    assert len((await api.group(group["id"], alice))["rates"]) == 1


@store_agnostic
async def test_a_group_sets_a_bounded_number_of_rates(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)
    codes = ["USD", "GBP", "JPY", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "AUD"]
    pairs = [(a, b) for i, a in enumerate(codes) for b in codes[i + 1 :]][:MAX_GROUP_RATES]
    for source, target in pairs:
        assert (
            await api.put(rate_url(group["id"], source, target), as_=alice, json={"rate": "2"})
        ).status == 201
    full = await api.put(rate_url(group["id"], "EUR", "THB"), as_=alice, json={"rate": "38"})
    assert (full.status, full.error["code"]) == (409, "too_many_rates")
