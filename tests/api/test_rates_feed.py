"""EXCHANGE_RATES_URL: the server fetches the ECB's rates from a real HTTP server at start-up,
asks again conditionally (an unchanged file is a 304), and rides out a feed that fails."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from domain import Invalid
from domain.rates import RateQuote
from server.config import Config, load_config
from server.keys import SERVICES
from server.rates_feed import FeedError, RatesFeed
from tests.api.conftest import Actor, Api, AppFactory, store_agnostic
from tests.api.test_expenses import trio
from tests.waiting import wait_until


def daily(day: str, usd: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"'
        ' xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref"><Cube>'
        f"<Cube time='{day}'><Cube currency='USD' rate='{usd}'/><Cube currency='JPY' rate='158.17'/></Cube>"
        "</Cube></gesmes:Envelope>"
    )


@dataclass
class Ecb:
    """The ECB's file server, as far as we use it: a body with an ETag, 304 when it matches."""

    body: str = field(default_factory=lambda: daily("2024-01-05", "1.0921"))
    status: int = 200
    asked: list[dict[str, str]] = field(default_factory=list)
    url: str = ""
    chunked: bool = False

    async def serve_in_pieces(self, request: web.Request) -> web.StreamResponse:
        """The body in 16 KiB pieces, each written before the next, as a large file
        arrives over a real network: no single read on the client sees all of it."""
        response = web.StreamResponse(headers={"Content-Type": "text/xml"})
        await response.prepare(request)
        data = self.body.encode()
        for start in range(0, len(data), 1 << 14):
            await response.write(data[start : start + (1 << 14)])
            await asyncio.sleep(0)
        await response.write_eof()
        return response

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/eurofxref-daily.xml", self.serve)
        return app

    async def serve(self, request: web.Request) -> web.StreamResponse:
        self.asked.append(dict(request.headers))
        if self.chunked:
            return await self.serve_in_pieces(request)
        tag = f'"{hash(self.body) & 0xFFFFFFFF:x}"'
        if self.status != 200:
            return web.Response(status=self.status, text="down for maintenance")
        if request.headers.get("If-None-Match") == tag:
            return web.Response(status=304)
        return web.Response(text=self.body, content_type="text/xml", headers={"ETag": tag})


@pytest.fixture
async def ecb(aiohttp_server: Callable[..., Any]) -> Ecb:
    feed = Ecb()
    server = await aiohttp_server(feed.app(), host="127.0.0.1")
    feed.url = str(server.make_url("/eurofxref-daily.xml"))
    return feed


@pytest.fixture
def config(environ: dict[str, str], ecb: Ecb) -> Config:
    return load_config({**environ, "EXCHANGE_RATES_URL": ecb.url}, read_dotenv=False)


async def test_rates_are_fetched_at_start_up_and_used(make_api: AppFactory, ecb: Ecb, alice: Actor) -> None:
    api = await make_api()

    async def stored() -> bool:
        return bool(await api.store.rates_on(["USD"], "2024-01-05"))

    await wait_until(stored, what="the fetched rates stored")
    assert await api.store.rates_on(["USD", "JPY"], "2024-01-08") == {
        "USD": RateQuote("USD", "2024-01-05", "1.0921", "ecb"),
        "JPY": RateQuote("JPY", "2024-01-05", "158.17", "ecb"),
    }
    assert ecb.asked[0]["User-Agent"] == "expense-tracker"


async def test_each_fetch_asks_conditionally_and_stores_what_changed(api: Api, ecb: Ecb) -> None:
    async with aiohttp.ClientSession() as session:
        feed = RatesFeed(ecb.url, api.app[SERVICES].rates, session)
        first = await feed.fetch()
        assert first is not None and len(first.parsed.quotes) == 2
        assert await feed.fetch() is None  # unchanged: a 304
        assert ecb.asked[-1]["If-None-Match"]
        ecb.body = daily("2024-01-08", "1.0945")
        changed = await feed.fetch()
        assert changed is not None and changed.parsed.days == ["2024-01-08"]
    assert (await api.store.rates_on(["USD"], "2024-01-08"))["USD"].per_euro == "1.0945"


async def test_a_failing_feed_keeps_the_rates_it_had(api: Api, ecb: Ecb) -> None:
    async with aiohttp.ClientSession() as session:
        feed = RatesFeed(ecb.url, api.app[SERVICES].rates, session)
        await feed.fetch()
        ecb.status = 503
        with pytest.raises(FeedError, match="answered HTTP 503"):
            await feed.fetch()
        ecb.status, ecb.body = 200, "<html>Moved to a new address</html>"
        with pytest.raises(Invalid, match="no <Cube time"):
            await feed.fetch()
        with pytest.raises(FeedError, match="could not be fetched"):
            await RatesFeed("http://127.0.0.1:9/nothing.xml", api.app[SERVICES].rates, session).fetch()
    assert (await api.store.rates_on(["USD"], "2024-01-08"))["USD"].per_euro == "1.0921"


async def test_the_server_logs_one_line_and_goes_on_when_the_feed_is_down(
    make_api: AppFactory, ecb: Ecb, caplog: pytest.LogCaptureFixture
) -> None:
    ecb.status = 500
    with caplog.at_level(logging.WARNING, logger="server.rates_feed"):
        api = await make_api()
        await wait_until(lambda: any("answered HTTP 500" in r.getMessage() for r in caplog.records))
    assert not any(r.exc_info for r in caplog.records)
    alice, bob, carol = [await api.user(name) for name in ("alice", "bob", "carol")]
    group_id = await trio(api, alice, bob, carol)
    spent = {"description": "x", "amount": "5.00", "currency": "USD"}
    assert (await api.post(f"/api/groups/{group_id}/expenses", as_=alice, json=spent)).status == 201
    reply = await api.get(f"/api/groups/{group_id}/balances", as_=bob, params={"currency": "EUR"})
    assert (reply.status, reply.error["code"]) == (422, "rate_unavailable")


def history(days: int) -> str:
    """`days` days of five currencies in the ECB history file's XML layout, newest first."""
    first = date(2000, 1, 3)
    cubes = "".join(
        f"<Cube time='{(first + timedelta(days=n)).isoformat()}'>"
        + "".join(
            f"<Cube currency='{c}' rate='1.{n % 9000:04d}'/>" for c in ("USD", "JPY", "GBP", "CHF", "SEK")
        )
        + "</Cube>"
        for n in reversed(range(days))
    )
    return f"<gesmes:Envelope xmlns:gesmes='g' xmlns='e'><Cube>{cubes}</Cube></gesmes:Envelope>"


@store_agnostic  # reading the body is the same whatever stores it
async def test_a_large_file_is_read_to_its_end(api: Api, ecb: Ecb) -> None:
    ecb.body, ecb.chunked = history(3000), True
    assert len(ecb.body) > 400_000
    async with aiohttp.ClientSession() as session:
        fetched = await RatesFeed(ecb.url, api.app[SERVICES].rates, session).fetch()
    assert fetched is not None
    assert len(fetched.parsed.days) == 3000 and len(fetched.parsed.quotes) == 15_000
    assert (fetched.parsed.days[0], fetched.parsed.days[-1]) == ("2000-01-03", "2008-03-20")
