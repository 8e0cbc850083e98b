"""`GET /metrics`: Prometheus text that prometheus-client's own parser reads, whose counters move
with traffic, answered only to a scraper with METRICS_TOKEN."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import Actor, Api, store_agnostic
from tests.realtime.wsclient import WsClient
from tests.waiting import wait_until

TOKEN = "m" * 40


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def requests(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], **labels: str) -> float:
    key = ("expense_tracker_http_requests_total", tuple(sorted(labels.items())))
    return found.get(key, 0.0)


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    return {**environ, "METRICS_TOKEN": TOKEN}


@store_agnostic
async def test_metrics_move_with_traffic(api: Api, alice: Actor) -> None:
    scrape = {"Authorization": f"Bearer {TOKEN}"}
    before = await api.get("/metrics", headers=scrape)
    assert before.status == 200, before.text
    assert before.headers["Content-Type"].startswith("text/plain")
    seen = samples(before.text)
    route = {"route": "/api/groups", "method": "POST", "status": "201"}
    for _ in range(3):
        await api.create_group(alice)
    group = await api.create_group(alice)
    wrong = await api.get(f"/api/groups/{group['id']}/expenses/nope", as_=alice)
    assert wrong.status == 404
    after = samples((await api.get("/metrics", headers=scrape)).text)
    assert requests(after, **route) - requests(seen, **route) == 4
    template = {"route": "/api/groups/{group_id}/expenses/{expense_id}", "method": "GET", "status": "404"}
    assert requests(after, **template) - requests(seen, **template) == 1
    assert not any("nope" in str(labels) for _, labels in after)  # templates, never raw paths
    published = ("expense_tracker_events_published_total", ())
    assert after[published] > seen.get(published, 0.0)
    written = ("expense_tracker_store_call_seconds_count", (("backend", "sqlite"), ("operation", "write")))
    assert after[written] > seen.get(written, 0.0)


@store_agnostic
async def test_only_the_scraper_with_the_token_reads_them(api: Api, alice: Actor) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        refused = await api.get("/metrics", headers=headers)
        assert (refused.status, refused.error["code"]) == (401, "metrics_token"), refused.text
    user = await api.get("/metrics", as_=alice)  # a user's own token is not the scraper's
    assert user.status == 401


@store_agnostic
async def test_websocket_metrics_move_with_a_socket_and_its_events(api: Api, alice: Actor) -> None:
    """Open sockets, frames delivered and the fan-out delay, as a subscriber sees an expense."""
    scrape = {"Authorization": f"Bearer {TOKEN}"}

    async def scraped() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return samples((await api.get("/metrics", headers=scrape)).text)

    opened = ("expense_tracker_websockets_open", ())
    delivered = ("expense_tracker_events_delivered_total", ())
    delays = ("expense_tracker_event_fanout_delay_seconds_count", ())
    group = await api.create_group(alice)
    before = await scraped()
    ticket = await api.post("/api/ws/ticket", as_=alice)
    ws = await api.client.ws_connect(f"/api/ws?ticket={ticket.json['ticket']}")
    client = WsClient(ws)
    assert (await client.receive())["type"] == "welcome"
    assert (await client.subscribe(f"group:{group['id']}"))["ok"]
    assert (await scraped())[opened] == before.get(opened, 0.0) + 1

    reply = await api.post(
        f"/api/groups/{group['id']}/expenses", as_=alice, json={"description": "Taxi", "amount": "9.00"}
    )
    assert reply.status == 201, reply.text
    assert (await client.next_event())["data"]["id"] == reply.json["id"]
    during = await scraped()
    assert during[delivered] >= before.get(delivered, 0.0) + 1
    assert during[delays] >= before.get(delays, 0.0) + 1

    await ws.close()

    async def closed() -> bool:
        return (await scraped())[opened] == before.get(opened, 0.0)

    await wait_until(closed, what="the gauge back down once the socket closed")
