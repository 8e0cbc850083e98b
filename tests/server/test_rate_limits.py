"""REST rate limits: token buckets in memory and in Redis, per user and per client address, 429s
as the OpenAPI document says. Time moves by an injected clock, never by sleeping."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import redis.asyncio as aioredis

from domain.clock import Clock
from server.app import create_app
from server.buckets import Buckets, Budget, MemoryBuckets
from server.config import ConfigError, load_config
from server.ratelimit import RATE_LIMIT_CLOCK, RATE_LIMITER
from server.redis_buckets import KEY_PREFIX, RedisBuckets
from tests.api.conftest import FRONTEND, ISSUER, SECRET_KEY, Actor, Api, OpenApi, Reply
from tests.services import free_port, redis_server

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


BucketsFactory = Callable[[Budget], Buckets]


@pytest.fixture(params=["memory", "redis"])
async def make_buckets(request: pytest.FixtureRequest) -> AsyncIterator[BucketsFactory]:
    """Either kind of buckets, to hold both to the same behaviour."""
    if request.param == "memory":
        yield MemoryBuckets
        return
    client = aioredis.from_url(request.getfixturevalue("redis_url"))
    try:
        yield lambda budget: RedisBuckets(client, budget)
    finally:
        await client.aclose()


def fresh_key() -> str:
    return f"test:{uuid.uuid4().hex}"


# The buckets


async def test_a_full_bucket_then_a_wait_until_one_token_is_back(make_buckets: BucketsFactory) -> None:
    buckets, key, now = make_buckets(Budget(per_minute=3, writes_per_minute=0)), fresh_key(), 1e9
    assert [await buckets.take(key, write=False, now=now) for _ in range(3)] == [0, 0, 0]
    assert await buckets.take(key, write=False, now=now) == pytest.approx(20.0)
    assert await buckets.take(key, write=False, now=now + 19.9) == pytest.approx(0.1)
    assert await buckets.take(key, write=False, now=now + 20) == 0
    assert await buckets.take(key, write=False, now=now + 20) > 0


async def test_writes_take_from_both_buckets_and_reads_only_from_one(make_buckets: BucketsFactory) -> None:
    buckets, key, now = make_buckets(Budget(per_minute=4, writes_per_minute=2)), fresh_key(), 1e9
    assert await buckets.take(key, write=True, now=now) == 0
    assert await buckets.take(key, write=True, now=now) == 0
    assert await buckets.take(key, write=True, now=now) == pytest.approx(30.0), "2 writes a minute"
    assert await buckets.take(key, write=False, now=now) == 0, "a refused write took nothing"
    assert await buckets.take(key, write=False, now=now) == 0
    assert await buckets.take(key, write=False, now=now) == pytest.approx(15.0), "4 requests a minute"


async def test_a_limit_of_zero_is_off(make_buckets: BucketsFactory) -> None:
    buckets, key, now = make_buckets(Budget(per_minute=0, writes_per_minute=1)), fresh_key(), 1e9
    assert [await buckets.take(key, write=False, now=now) for _ in range(50)] == [0] * 50
    assert await buckets.take(key, write=True, now=now) == 0
    assert await buckets.take(key, write=True, now=now) == pytest.approx(60.0)


async def test_time_running_backwards_refills_nothing(make_buckets: BucketsFactory) -> None:
    """Two instances' clocks disagree a little: the later one must not make the earlier one's
    requests free."""
    buckets, key, now = make_buckets(Budget(per_minute=1, writes_per_minute=0)), fresh_key(), 1e9
    assert await buckets.take(key, write=False, now=now) == 0
    assert await buckets.take(key, write=False, now=now - 30) == pytest.approx(60.0)
    assert await buckets.take(key, write=False, now=now + 30) == pytest.approx(30.0)


async def test_callers_have_buckets_of_their_own(make_buckets: BucketsFactory) -> None:
    buckets, now = make_buckets(Budget(per_minute=1, writes_per_minute=0)), 1e9
    first, second = fresh_key(), fresh_key()
    assert await buckets.take(first, write=False, now=now) == 0
    assert await buckets.take(first, write=False, now=now) > 0
    assert await buckets.take(second, write=False, now=now) == 0


async def test_memory_buckets_drop_idle_callers_and_stay_bounded() -> None:
    buckets = MemoryBuckets(Budget(per_minute=10, writes_per_minute=0), max_buckets=100)
    for number in range(50):
        await buckets.take(f"idle-{number}", write=False, now=1000.0)
    await buckets.take("busy", write=False, now=1059.0)
    assert len(buckets) == 51, "not yet idle for a minute"
    await buckets.take("busy", write=False, now=1060.0)
    assert len(buckets) == 1, "full again after a minute: dropped"
    for number in range(1000):
        await buckets.take(f"flood-{number}", write=False, now=1061.0)
    assert len(buckets) == 100


async def test_redis_buckets_expire_once_full_again(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    try:
        buckets, key = RedisBuckets(client, Budget(per_minute=5, writes_per_minute=5)), fresh_key()
        await buckets.take(key, write=True, now=1e9)
        assert 0 < await client.ttl(KEY_PREFIX + key) <= 60
    finally:
        await client.aclose()


# Through the API


AppMaker = Callable[..., Awaitable[Api]]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_limited_api(aiohttp_client: Any, tmp_path: Any, clock: FakeClock) -> AppMaker:
    """Start an app (another one each call, on the same SQLite store) with the given settings on
    top of a test environment, its rate limiter reading `clock`."""

    async def make(**settings: str) -> Api:
        environ = {
            "APP_ENV": "development",
            "SECRET_KEY": SECRET_KEY,
            "DATA_DIR": str(tmp_path),
            "JWT_ISSUER": ISSUER,
            "FRONTEND_BASE_URL": FRONTEND,
            "STORE_BACKEND": "sqlite",
            "TESSERACT_CMD": str(tmp_path / "no-tesseract"),
            **settings,
        }
        config = load_config(environ, read_dotenv=False)
        app = create_app(config)
        now: Clock = clock
        app[RATE_LIMIT_CLOCK] = now
        client = await aiohttp_client(app)
        async with client.get("/api/openapi.json") as response:
            document = await response.json()
        clock.advance(60)  # that request's token is back
        return Api(client, config, OpenApi(document))

    return make


def assert_limited(reply: Reply, retry_after: int) -> None:
    assert reply.status == 429, reply.text
    assert reply.error["code"] == "rate_limited"
    assert reply.headers["Retry-After"] == str(retry_after)


async def test_a_user_over_the_limit_gets_429_and_retry_after(
    make_limited_api: AppMaker, clock: FakeClock
) -> None:
    api = await make_limited_api(RATE_LIMIT_PER_MINUTE="3")
    alice = await api.user("alice")
    for _ in range(3):
        assert (await api.get("/api/user", as_=alice)).status == 200
    assert_limited(await api.get("/api/user", as_=alice), retry_after=20)
    assert_limited(await api.post("/api/groups", as_=alice, json={"name": "Trip"}), retry_after=20)
    clock.advance(19.5)
    assert_limited(await api.get("/api/user", as_=alice), retry_after=1)
    clock.advance(0.5)
    assert (await api.get("/api/user", as_=alice)).status == 200


async def test_writes_have_a_tighter_limit_of_their_own(make_limited_api: AppMaker, clock: FakeClock) -> None:
    api = await make_limited_api(RATE_LIMIT_PER_MINUTE="100", RATE_LIMIT_WRITES_PER_MINUTE="2")
    alice = await api.user("alice")
    for name in ("one", "two"):
        assert (await api.post("/api/groups", as_=alice, json={"name": name})).status == 201
    refused = await api.post("/api/groups", as_=alice, json={"name": "three"})
    assert_limited(refused, retry_after=30)
    assert (await api.get("/api/groups", as_=alice)).json["items"].__len__() == 2, "nothing written"
    clock.advance(30)
    assert (await api.post("/api/groups", as_=alice, json={"name": "three"})).status == 201


async def test_each_user_has_a_budget_of_their_own(make_limited_api: AppMaker) -> None:
    api = await make_limited_api(RATE_LIMIT_PER_MINUTE="1")
    alice, bob = await api.user("alice"), await api.user("bob")
    assert (await api.get("/api/user", as_=alice)).status == 200
    assert (await api.get("/api/user", as_=alice)).status == 429
    assert (await api.get("/api/user", as_=bob)).status == 200


async def test_requests_without_a_valid_token_count_against_their_address(make_limited_api: AppMaker) -> None:
    """Missing, invalid and expired tokens and public routes share the address's budget, and are
    refused before authentication or the handler runs; a user's own budget is untouched."""
    api = await make_limited_api(RATE_LIMIT_PER_MINUTE="4")
    alice = await api.user("alice")
    expired = api.actor(alice.id, now=START - timedelta(days=2))
    assert (await api.get("/api/user")).status == 401
    assert (await api.get("/api/user", headers={"Authorization": "Bearer forged"})).status == 401
    assert (await api.get("/api/user", as_=expired)).status == 401
    assert (await api.get("/api/openapi.json")).status == 200
    assert_limited(await api.get("/api/user"), retry_after=15)
    assert_limited(await api.get("/api/login"), retry_after=15)
    assert_limited(await api.get("/api/no-such-thing"), retry_after=15)
    assert (await api.get("/api/user", as_=alice)).status == 200


async def test_health_checks_are_never_limited(make_limited_api: AppMaker) -> None:
    api = await make_limited_api(RATE_LIMIT_PER_MINUTE="1")
    for _ in range(5):
        assert (await api.get("/healthz")).status == 200
        assert (await api.get("/readyz")).status == 200
    document = api.openapi.document["paths"]
    assert "429" not in document["/healthz"]["get"]["responses"]
    assert "429" in document["/api/user"]["get"]["responses"]


async def test_zero_turns_both_limits_off(make_limited_api: AppMaker) -> None:
    api = await make_limited_api(RATE_LIMIT_PER_MINUTE="0", RATE_LIMIT_WRITES_PER_MINUTE="0")
    assert RATE_LIMITER not in api.app
    alice = await api.user("alice")
    for number in range(30):
        assert (await api.post("/api/groups", as_=alice, json={"name": f"g{number}"})).status == 201


async def test_x_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(
    make_limited_api: AppMaker,
) -> None:
    api = await make_limited_api(RATE_LIMIT_PER_MINUTE="1")
    assert (await api.get("/api/login", headers={"X-Forwarded-For": "203.0.113.1"})).status != 429
    assert (await api.get("/api/login", headers={"X-Forwarded-For": "203.0.113.2"})).status == 429


async def test_behind_a_trusted_proxy_the_forwarded_client_counts(make_limited_api: AppMaker) -> None:
    api = await make_limited_api(RATE_LIMIT_PER_MINUTE="1", TRUSTED_PROXIES="127.0.0.1, 10.0.0.0/8")

    async def login(forwarded: str) -> int:
        return (await api.get("/api/login", headers={"X-Forwarded-For": forwarded})).status

    assert await login("203.0.113.1") != 429
    assert await login("203.0.113.1") == 429
    assert await login("203.0.113.2, 10.1.2.3") != 429, "the nearest untrusted hop is the client"
    assert await login("198.51.100.7, 203.0.113.2") == 429, "what the client wrote on the left is ignored"
    assert await login("2001:db8:1:2::1") != 429
    assert await login("2001:db8:1:2::99") == 429, "IPv6 counts per /64"


# Shared through Redis


async def test_two_instances_on_one_redis_share_a_users_budget(
    make_limited_api: AppMaker, redis_url: str, clock: FakeClock
) -> None:
    first = await make_limited_api(RATE_LIMIT_PER_MINUTE="4", REDIS_URL=redis_url)
    second = await make_limited_api(RATE_LIMIT_PER_MINUTE="4", REDIS_URL=redis_url)
    alice = await first.user("alice")
    for api in (first, second, first, second):
        assert (await api.get("/api/user", as_=alice)).status == 200
    assert_limited(await first.get("/api/user", as_=alice), retry_after=15)
    assert_limited(await second.get("/api/user", as_=alice), retry_after=15)
    clock.advance(15)
    assert (await second.get("/api/user", as_=alice)).status == 200
    assert_limited(await first.get("/api/user", as_=alice), retry_after=15)


async def test_without_redis_requests_are_let_in_with_a_warning_a_minute(
    make_limited_api: AppMaker, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    with redis_server(port) as url:
        api = await make_limited_api(RATE_LIMIT_PER_MINUTE="1", REDIS_URL=url)
        alice: Actor = await api.user("alice")
        assert (await api.get("/api/user", as_=alice)).status == 200
        assert (await api.get("/api/user", as_=alice)).status == 429
    caplog.set_level(logging.WARNING, logger="server.ratelimit")
    for _ in range(3):
        assert (await api.get("/api/user", as_=alice)).status == 200
    warnings = [r for r in caplog.records if r.name == "server.ratelimit"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING, warnings
    clock.advance(59)
    assert (await api.get("/api/user", as_=alice)).status == 200
    assert len([r for r in caplog.records if r.name == "server.ratelimit"]) == 1
    clock.advance(1)
    assert (await api.get("/api/user", as_=alice)).status == 200
    assert len([r for r in caplog.records if r.name == "server.ratelimit"]) == 2


# Settings


def test_settings_default_to_600_and_120_and_no_trusted_proxy(tmp_path: Any) -> None:
    settings = load_config({"DATA_DIR": str(tmp_path)}, read_dotenv=False).rate_limits
    assert (settings.per_minute, settings.writes_per_minute, settings.trusted_proxies) == (600, 120, ())


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RATE_LIMIT_PER_MINUTE", "-1"),
        ("RATE_LIMIT_PER_MINUTE", "lots"),
        ("RATE_LIMIT_WRITES_PER_MINUTE", "1.5"),
        ("TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal"),
        ("TRUSTED_PROXIES", "10.0.0.300"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(tmp_path: Any, variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config({"DATA_DIR": str(tmp_path), variable: value}, read_dotenv=False)
    assert str(raised.value).startswith(f"{variable}: ") and "\n" not in str(raised.value)
