"""REST rate limits: who a request counts against, and the middleware that refuses it with 429.

A request with a valid bearer token on a route that requires one counts against its user; every
other request (public routes such as sign-in, missing, invalid or expired tokens, unknown paths,
preflights) against its client address, checked before any of its work is done. `/healthz` and
`/readyz` are never limited. The buckets are in Redis when `REDIS_URL` is set (shared by all
instances), with the supervisor when several workers share a machine without Redis, in memory
otherwise. When Redis does not answer, requests are let in (a limiter that
refused everyone would be an outage of its own) and a WARNING says so, at most once a minute.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import hdrs, web

from domain import TooManyRequests, Unauthorized
from domain.clock import Clock, utc_now
from realtime.machine import MACHINE
from realtime.redis import REDIS
from server.buckets import Buckets, BucketsUnavailable, Budget, MemoryBuckets, retry_after
from server.config import Network, RateLimitSettings
from server.keys import CONFIG
from server.machine_buckets import MachineBuckets
from server.redis_buckets import RedisBuckets
from server.routing import PUBLIC_ATTRIBUTE
from server.tokens import decode_token

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

UNLIMITED_PATHS = frozenset({"/healthz", "/readyz"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WARNING_INTERVAL_SECONDS = 60.0
IPV6_PREFIX = 64
"""IPv6 clients are counted per /64, the block one subscriber is usually given."""


class RateLimiter:
    """Checks requests against the buckets; raises `TooManyRequests` carrying `Retry-After`."""

    def __init__(self, settings: RateLimitSettings, buckets: Buckets, clock: Clock = utc_now) -> None:
        self.settings = settings
        self._buckets = buckets
        self._clock = clock
        self._warned_at: float | None = None

    async def check(self, key: str, *, write: bool) -> None:
        now = self._clock().timestamp()
        try:
            wait = await self._buckets.take(key, write=write, now=now)
        except BucketsUnavailable as exc:
            self._warn(now, exc)
            return
        if wait > 0:
            seconds = retry_after(wait)
            raise TooManyRequests(
                f"too many requests: the limit is {self._describe()}; retry in {seconds} s",
                headers={"Retry-After": str(seconds)},
            )

    def _describe(self) -> str:
        limits = []
        if self.settings.per_minute:
            limits.append(f"{self.settings.per_minute} requests")
        if self.settings.writes_per_minute:
            limits.append(f"{self.settings.writes_per_minute} writes")
        return " and ".join(limits) + " a minute"

    def _warn(self, now: float, exc: BucketsUnavailable) -> None:
        if self._warned_at is not None and 0 <= now - self._warned_at < WARNING_INTERVAL_SECONDS:
            return
        self._warned_at = now
        log.warning("rate limits are not enforced: Redis does not answer (%s)", exc)


RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
RATE_LIMIT_CLOCK: web.AppKey[Clock] = web.AppKey("rate_limit_clock")
"""The limiter's clock, when set before start-up (tests move time instead of sleeping)."""


def rate_limit_ctx(settings: RateLimitSettings) -> Callable[[web.Application], AsyncIterator[None]]:
    """The cleanup context that sets `app[RATE_LIMITER]`, on Redis when the app has a Redis client
    (so it must come after `realtime.redis.redis_ctx`), or sets nothing when both limits are off."""

    async def open_limiter(app: web.Application) -> AsyncIterator[None]:
        if settings.enabled:
            budget = Budget(settings.per_minute, settings.writes_per_minute)
            client = app.get(REDIS)
            link = app.get(MACHINE)
            buckets: Buckets
            if client is not None:
                buckets = RedisBuckets(client, budget)
            elif link is not None:
                buckets = MachineBuckets(link)
            else:
                buckets = MemoryBuckets(budget)
            app[RATE_LIMITER] = RateLimiter(settings, buckets, app.get(RATE_LIMIT_CLOCK, utc_now))
        yield

    return open_limiter


@web.middleware
async def rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Take the request from its caller's budget before anything else is done for it. Placed just
    before `authenticate`, so that requests failing authentication are limited (per address) too;
    it reads the user from the token the same way (the decoding is cached, so it is done once)."""
    limiter = request.app.get(RATE_LIMITER)
    if limiter is None or request.path in UNLIMITED_PATHS:
        return await handler(request)
    user_id = _user_id(request)
    key = f"user:{user_id}" if user_id is not None else f"ip:{client_address(request, limiter.settings)}"
    await limiter.check(key, write=request.method in WRITE_METHODS)
    return await handler(request)


def _user_id(request: web.Request) -> str | None:
    """The user a request on an authenticated route is from, if its bearer token is valid."""
    match = request.match_info
    if (
        match.http_exception is not None
        or request.method == "OPTIONS"
        or getattr(match.handler, PUBLIC_ATTRIBUTE, False)
    ):
        return None
    scheme, _, token = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    config = request.app[CONFIG]
    try:
        return decode_token(token.strip(), secret=config.secret_key, issuer=config.jwt_issuer).user_id
    except Unauthorized:
        return None


def client_address(request: web.Request, settings: RateLimitSettings) -> str:
    """The client's address: the socket peer, or, when the peer is a trusted proxy, the nearest
    address in `X-Forwarded-For` that is not one (read from the right: what the client itself
    wrote on the left is not to be believed). IPv6 addresses are reduced to their /64."""
    peer = _address(request.remote or "")
    if peer is None:
        return request.remote or "unknown"
    client = peer
    if settings.trusted_proxies and _trusted(peer, settings.trusted_proxies):
        hops = ",".join(request.headers.getall("X-Forwarded-For", ())).split(",")
        for hop in reversed(hops):
            address = _address(hop.strip())
            if address is None:
                break
            client = address
            if not _trusted(address, settings.trusted_proxies):
                break
    if client.version == 6:
        return str(ipaddress.ip_network(f"{client}/{IPV6_PREFIX}", strict=False))
    return str(client)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, proxies: tuple[Network, ...]) -> bool:
    return any(address.version == network.version and address in network for network in proxies)
