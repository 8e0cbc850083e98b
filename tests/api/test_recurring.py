"""Recurring expenses over HTTP: rules, the scheduler making each occurrence exactly once (also
with two instances on one store and one clock), catch-up after downtime, the month-end rule,
edits that change only what is to come, and a rule stopped because someone left."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from server.app import create_app
from server.config import Config, load_config
from server.keys import SERVICES
from services.occurrences import Scheduler
from tests.api.conftest import Actor, Api, AppFactory, store_agnostic
from tests.waiting import wait_until


class MovableClock:
    """The app's "now", moved by the test instead of waited for."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, text: str) -> None:
        self.now = datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(datetime(2025, 3, 10, 12, 0, tzinfo=timezone.utc))


@pytest.fixture
def config(environ: dict[str, str]) -> Config:
    """No scheduler loop of its own: each test makes its passes (`run_due`) when it means to, or
    runs the loops itself."""
    return load_config({**environ, "RECURRING_INTERVAL_SECONDS": "0"}, read_dotenv=False)


@pytest.fixture
async def api(make_api: AppFactory, clock: MovableClock) -> Api:
    return await make_api(clock=clock)


def scheduler(api: Api) -> Scheduler:
    return api.app[SERVICES].scheduler


RENT: dict[str, Any] = {"description": "Rent", "amount": "30.00", "currency": "EUR"}


async def group_of_two(api: Api, alice: Actor, bob: Actor) -> str:
    group = await api.create_group(alice, default_currency="EUR")
    await api.join(group["id"], bob)
    return str(group["id"])


async def set_up(api: Api, who: Actor, group_id: str, **fields: Any) -> dict[str, Any]:
    body = {"expense": {**RENT, "split": {"kind": "equal", "members": []}}, "every": "month", **fields}
    if not body["expense"]["split"]["members"]:
        members = (await api.group(group_id, who))["members"]
        body["expense"]["split"]["members"] = [m["user_id"] for m in members]
    reply = await api.post(f"/api/groups/{group_id}/recurring", as_=who, json=body)
    assert reply.status == 201, reply.text
    assert reply.headers["ETag"] == f'"{reply.json["version"]}"'
    rule: dict[str, Any] = reply.json
    return rule


async def expenses(api: Api, who: Actor, group_id: str) -> list[dict[str, Any]]:
    reply = await api.get(f"/api/groups/{group_id}/expenses", as_=who, params={"limit": 100})
    assert reply.status == 200, reply.text
    return sorted(reply.json["items"], key=lambda e: e["date"])


async def rule_now(api: Api, who: Actor, group_id: str, rule_id: str) -> dict[str, Any]:
    reply = await api.get(f"/api/groups/{group_id}/recurring/{rule_id}", as_=who)
    assert reply.status == 200, reply.text
    rule: dict[str, Any] = reply.json
    return rule


async def test_missed_occurrences_are_caught_up_each_on_its_day_and_the_31st_ends_short_months(
    api: Api, clock: MovableClock, alice: Actor, bob: Actor
) -> None:
    group_id = await group_of_two(api, alice, bob)
    rule = await set_up(api, alice, group_id, starts_on="2025-01-31")
    assert (rule["status"], rule["next_on"], rule["made"]) == ("active", "2025-01-31", 0)
    assert await scheduler(api).run_due() == 2  # it was down since January: both made now
    made = await expenses(api, alice, group_id)
    assert [e["date"] for e in made] == ["2025-01-31", "2025-02-28"]
    assert all(e["recurring_id"] == rule["id"] and e["amount"] == "30.00" for e in made)
    assert await scheduler(api).run_due() == 0  # nothing is made twice
    clock.set("2025-05-01T00:00:00")
    assert await scheduler(api).run_due() == 2
    assert [e["date"] for e in await expenses(api, alice, group_id)] == [
        "2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30",
    ]  # fmt: skip
    now = await rule_now(api, alice, group_id, rule["id"])
    assert (now["made"], now["last_on"], now["next_on"]) == (4, "2025-04-30", "2025-05-31")
    balances = (await api.get(f"/api/groups/{group_id}/balances", as_=alice)).json
    assert {b["user_id"]: b["amount"] for b in balances["balances"]} == {alice.id: "60.00", bob.id: "-60.00"}


async def test_two_instances_on_one_store_and_one_clock_make_each_occurrence_once(
    make_api: AppFactory, clock: MovableClock, alice: Actor, bob: Actor, api: Api
) -> None:
    other = await make_api(clock=clock)
    group_id = await group_of_two(api, alice, bob)
    rule = await set_up(api, alice, group_id, every="day", starts_on="2025-02-01")
    first, second = scheduler(api), scheduler(other)
    # Both instances' own loops (as the server runs them), and two more passes of each, racing.
    loops = [asyncio.create_task(s.run(3600)) for s in (first, second)]
    try:
        await asyncio.gather(first.run_due(), second.run_due(), first.run_due(), second.run_due())
        await wait_until(lambda: first.passes >= 3 and second.passes >= 3)
    finally:
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
    made = await expenses(api, alice, group_id)
    days = [e["date"] for e in made]
    assert len(days) == len(set(days)) == 38  # 1 February to 10 March
    assert days[0] == "2025-02-01" and days[-1] == "2025-03-10"
    assert (await rule_now(other, alice, group_id, rule["id"]))["made"] == 38
    balances = (await api.get(f"/api/groups/{group_id}/balances", as_=alice)).json["balances"]
    assert {b["user_id"]: b["amount"] for b in balances} == {alice.id: "570.00", bob.id: "-570.00"}


async def test_a_rule_falls_due_at_midnight_in_its_own_time_zone(
    api: Api, clock: MovableClock, alice: Actor, bob: Actor
) -> None:
    group_id = await group_of_two(api, alice, bob)
    clock.set("2025-03-09T10:59:00")  # 23:59 on the 9th in Auckland (UTC+13)
    rule = await set_up(api, alice, group_id, starts_on="2025-03-10", timezone="Pacific/Auckland")
    utc = await set_up(api, alice, group_id, starts_on="2025-03-10")
    assert await scheduler(api).run_due() == 0
    clock.set("2025-03-09T11:00:00")
    assert await scheduler(api).run_due() == 1
    assert [e["recurring_id"] for e in await expenses(api, alice, group_id)] == [rule["id"]]
    assert (await rule_now(api, alice, group_id, utc["id"]))["made"] == 0


async def test_count_and_ends_on_finish_a_rule(api: Api, alice: Actor, bob: Actor) -> None:
    group_id = await group_of_two(api, alice, bob)
    counted = await set_up(api, alice, group_id, every="week", starts_on="2025-01-01", count=3)
    ended = await set_up(
        api, alice, group_id, every="week", interval=2, starts_on="2025-01-01", ends_on="2025-01-29"
    )
    await scheduler(api).run_due()
    for rule, made in ((counted, 3), (ended, 3)):
        now = await rule_now(api, alice, group_id, rule["id"])
        assert (now["made"], now["status"], now["next_on"]) == (made, "finished", None)
    dates = sorted(
        e["date"] for e in await expenses(api, alice, group_id) if e["recurring_id"] == ended["id"]
    )
    assert dates == ["2025-01-01", "2025-01-15", "2025-01-29"]


async def test_an_edit_changes_only_the_occurrences_to_come(
    api: Api, clock: MovableClock, alice: Actor, bob: Actor
) -> None:
    group_id = await group_of_two(api, alice, bob)
    clock.set("2025-03-09T12:00:00")
    rule = await set_up(api, alice, group_id, every="week", starts_on="2025-03-03")
    await scheduler(api).run_due()
    path = f"/api/groups/{group_id}/recurring/{rule['id']}"
    current = await rule_now(api, alice, group_id, rule["id"])
    changed = await api.patch(
        path,
        as_=bob,
        json={"expense": {"amount": "40.00", "payers": [{"user_id": bob.id, "amount": "40.00"}]}},
        headers={"If-Match": f'"{current["version"]}"'},
    )
    assert changed.status == 200, changed.text
    assert changed.json["expense"]["amount"] == "40.00" and changed.json["next_on"] == "2025-03-10"
    clock.set("2025-03-10T12:00:00")
    await scheduler(api).run_due()
    made = await expenses(api, alice, group_id)
    assert [(e["date"], e["amount"], e["payers"][0]["user_id"]) for e in made] == [
        ("2025-03-03", "30.00", alice.id),
        ("2025-03-10", "40.00", bob.id),
    ]
    # A new schedule starts from today: the fortnightly dates already past are not made.
    clock.set("2025-04-02T09:00:00")
    version = (await rule_now(api, alice, group_id, rule["id"]))["version"]
    moved = await api.patch(path, as_=alice, json={"every": "day", "interval": 10, "version": version})
    assert moved.status == 200, moved.text
    assert moved.json["next_on"] == "2025-04-02"  # 3 March + 30 days
    assert await scheduler(api).run_due() == 1
    assert [e["date"] for e in await expenses(api, alice, group_id)][-1] == "2025-04-02"


async def test_a_paused_rule_makes_nothing_and_resumed_goes_on_from_today(
    api: Api, clock: MovableClock, alice: Actor, bob: Actor
) -> None:
    group_id = await group_of_two(api, alice, bob)
    rule = await set_up(api, alice, group_id, every="day", starts_on="2025-03-11", paused=True)
    assert rule["status"] == "paused"
    clock.set("2025-03-20T08:00:00")
    assert await scheduler(api).run_due() == 0
    resumed = await api.patch(
        f"/api/groups/{group_id}/recurring/{rule['id']}", as_=alice, json={"paused": False, "version": 1}
    )
    assert resumed.status == 200, resumed.text
    assert (resumed.json["status"], resumed.json["next_on"]) == ("active", "2025-03-20")
    assert await scheduler(api).run_due() == 1
    assert [e["date"] for e in await expenses(api, alice, group_id)] == ["2025-03-20"]


async def test_a_rule_whose_member_left_stops_saying_why(
    api: Api, clock: MovableClock, alice: Actor, bob: Actor
) -> None:
    group_id = await group_of_two(api, alice, bob)
    rule = await set_up(api, alice, group_id, starts_on="2025-04-01")
    left = await api.post(f"/api/groups/{group_id}/leave", as_=bob)
    assert left.status in (200, 204), left.text
    clock.set("2025-04-01T06:00:00")
    assert await scheduler(api).run_due() == 0
    now = await rule_now(api, alice, group_id, rule["id"])
    assert (now["status"], now["stopped"], now["made"]) == ("paused", "members_left", 0)
    assert await expenses(api, alice, group_id) == []
    activity = (await api.get(f"/api/groups/{group_id}/activity", as_=alice)).json["items"]
    stopped = [a for a in activity if a["action"] == "recurring.stopped"]
    assert len(stopped) == 1 and stopped[0]["details"]["user_ids"] == [bob.id]
    assert stopped[0]["details"]["reason"] == "members_left"
    assert await scheduler(api).run_due() == 0  # a stopped rule is not tried again


async def test_an_occurrence_is_an_ordinary_expense(api: Api, alice: Actor, bob: Actor) -> None:
    group_id = await group_of_two(api, alice, bob)
    rule = await set_up(api, alice, group_id, starts_on="2025-03-01")
    await scheduler(api).run_due()
    (made,) = await expenses(api, alice, group_id)
    path = f"/api/groups/{group_id}/expenses/{made['id']}"
    edited = await api.put(path, as_=bob, json={"description": "Rent (March)", "version": made["version"]})
    assert edited.status == 200, edited.text
    assert edited.json["recurring_id"] == rule["id"]
    assert (await api.delete(f"/api/groups/{group_id}/recurring/{rule['id']}", as_=alice)).status == 204
    assert (await api.get(f"/api/groups/{group_id}/recurring/{rule['id']}", as_=alice)).status == 404
    assert (await api.get(path, as_=alice)).json["description"] == "Rent (March)"  # what it made stays
    assert (await api.delete(path, as_=alice)).status == 204


async def test_the_list_and_an_idempotent_retry(api: Api, alice: Actor, bob: Actor) -> None:
    group_id = await group_of_two(api, alice, bob)
    body = {"expense": RENT, "every": "year", "starts_on": "2025-06-01"}
    headers = {"Idempotency-Key": "rent-2025"}
    first = await api.post(f"/api/groups/{group_id}/recurring", as_=alice, json=body, headers=headers)
    again = await api.post(f"/api/groups/{group_id}/recurring", as_=alice, json=body, headers=headers)
    assert first.status == again.status == 201
    assert again.json == first.json and again.headers.get("Idempotent-Replayed") == "true"
    listed = await api.get(f"/api/groups/{group_id}/recurring", as_=bob)
    assert [r["id"] for r in listed.json["items"]] == [first.json["id"]]
    assert first.json["expense"]["shares"] == [
        {"user_id": alice.id, "amount": "15.00"},
        {"user_id": bob.id, "amount": "15.00"},
    ] or {s["user_id"] for s in first.json["expense"]["shares"]} == {alice.id, bob.id}


async def test_strangers_are_answered_as_if_nothing_were_there(
    api: Api, alice: Actor, bob: Actor, carol: Actor
) -> None:
    group_id = await group_of_two(api, alice, bob)
    rule = await set_up(api, alice, group_id)
    path = f"/api/groups/{group_id}/recurring/{rule['id']}"
    for reply in (
        await api.get(f"/api/groups/{group_id}/recurring", as_=carol),
        await api.get(path, as_=carol),
        await api.patch(path, as_=carol, json={"paused": True, "version": 1}),
        await api.delete(path, as_=carol),
        await api.post(
            f"/api/groups/{group_id}/recurring", as_=carol, json={"expense": RENT, "every": "day"}
        ),
    ):
        assert reply.status == 404, reply.text
    elsewhere = await api.create_group(carol)
    assert (await api.get(f"/api/groups/{elsewhere['id']}/recurring/{rule['id']}", as_=carol)).status == 404


@pytest.mark.parametrize("zone", ["America", "Etc", "localtime", "Not/A_Zone"])
async def test_a_patch_to_no_time_zone_is_refused_and_changes_nothing(
    api: Api, alice: Actor, bob: Actor, zone: str
) -> None:
    group_id = await group_of_two(api, alice, bob)
    rule = await set_up(api, alice, group_id, timezone="Europe/Berlin")
    path = f"/api/groups/{group_id}/recurring/{rule['id']}"
    reply = await api.patch(path, as_=alice, json={"timezone": zone, "version": rule["version"]})
    assert reply.status == 422, reply.text
    assert (
        any("timezone" in problem for problem in reply.error_fields()) or "timezone" in reply.error["message"]
    )
    after = (await api.get(path, as_=alice)).json
    assert (after["timezone"], after["version"]) == ("Europe/Berlin", rule["version"])


async def test_versions_guard_edits(api: Api, alice: Actor, bob: Actor) -> None:
    group_id = await group_of_two(api, alice, bob)
    rule = await set_up(api, alice, group_id, starts_on="2025-03-01")
    path = f"/api/groups/{group_id}/recurring/{rule['id']}"
    assert (await api.patch(path, as_=alice, json={"paused": True})).status == 428
    await scheduler(api).run_due()  # the occurrence moves the rule on: version 2
    stale = await api.patch(path, as_=alice, json={"paused": True, "version": 1})
    assert stale.status == 412 and stale.error["details"]["current_version"] == 2
    assert (await api.delete(path, as_=alice, headers={"If-Match": '"1"'})).status == 412


@store_agnostic
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"every": "fortnight"}, "every"),
        ({"interval": 0}, "interval"),
        ({"starts_on": "2025-03-01", "ends_on": "2025-02-01"}, "ends_on"),
        ({"starts_on": "2024-03-01"}, "starts_on"),  # more than 366 days ago
        ({"starts_on": "2025-02-30"}, "starts_on"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "Europe"}, "timezone"),  # a folder of the zone database
        ({"timezone": "localtime"}, "timezone"),  # the server's own zone, not an IANA name
        ({"timezone": "posixrules"}, "timezone"),
        ({"timezone": 5}, "timezone"),
        ({"count": 0}, "count"),
        ({"expense": {**RENT, "receipt_id": "r1"}}, "expense"),
        ({"expense": {**RENT, "date": "2025-03-01"}}, "expense"),
        ({"expense": {**RENT, "amount": "1.234"}}, "amount"),
        ({"expense": {**RENT, "split": {"kind": "equal", "members": ["someone-else"]}}}, "split"),
    ],
)
async def test_a_bad_rule_is_refused_clearly(
    api: Api, alice: Actor, bob: Actor, fields: dict[str, Any], field: str
) -> None:
    group_id = await group_of_two(api, alice, bob)
    body = {"expense": RENT, "every": "month", **fields}
    reply = await api.post(f"/api/groups/{group_id}/recurring", as_=alice, json=body)
    assert reply.status in (400, 422), reply.text
    assert any(field in problem for problem in reply.error_fields()) or field in reply.error["message"]
    assert (await api.get(f"/api/groups/{group_id}/recurring", as_=alice)).json["items"] == []


async def test_the_clock_is_the_apps_own(api: Api, clock: MovableClock) -> None:
    clock.now += timedelta(days=1)
    assert scheduler(api).clock() == clock.now


async def test_the_servers_own_loop_makes_a_rule_due_today_right_after_it_is_set_up(
    aiohttp_client: Any, config: Config, clock: MovableClock, alice: Actor, bob: Actor, api: Api
) -> None:
    looping = create_app(dataclasses.replace(config, recurring_seconds=3600), clock=clock)
    client = await aiohttp_client(looping)
    group_id = await group_of_two(api, alice, bob)
    body = {"expense": RENT, "every": "week"}  # starts today, 10 March
    async with client.post(f"/api/groups/{group_id}/recurring", json=body, headers=alice.auth) as reply:
        assert reply.status == 201
        rule = await reply.json()

    async def made() -> bool:
        return [e["recurring_id"] for e in await expenses(api, alice, group_id)] == [rule["id"]]

    await wait_until(made, what="the occurrence due today")  # long before the hour is up
    assert (await rule_now(api, alice, group_id, rule["id"]))["next_on"] == "2025-03-17"


async def test_a_rule_that_cannot_be_made_holds_up_no_other(
    api: Api, alice: Actor, bob: Actor, caplog: pytest.LogCaptureFixture
) -> None:
    first = await group_of_two(api, alice, bob)
    second = await group_of_two(api, alice, bob)
    broken = await set_up(api, alice, first, starts_on="2025-01-01")  # the earliest due
    sound = await set_up(api, alice, second, starts_on="2025-02-01")
    # A rule stored by some other version of the server, whose template this one cannot read.
    stored = await api.store.get_recurring(first, broken["id"])
    unreadable = {key: value for key, value in stored.expense.items() if key != "category"}
    await api.store.update_recurring(
        dataclasses.replace(stored, expense=unreadable, version=stored.version + 1),
        expected_version=stored.version,
        activity=scheduler(api).activity(first, alice.id, "recurring.updated", broken["id"], {}),
    )
    assert await scheduler(api).run_due() == 2  # the sound rule's February and March
    assert await scheduler(api).run_due() == 0  # the broken one is tried again, and fails again
    made = await expenses(api, alice, second)
    assert [(e["date"], e["recurring_id"]) for e in made] == [
        ("2025-02-01", sound["id"]),
        ("2025-03-01", sound["id"]),
    ]
    assert await expenses(api, alice, first) == []
    assert any(broken["id"] in record.getMessage() for record in caplog.records)
