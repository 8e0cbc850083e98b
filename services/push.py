"""Web Push (issue 14 part 6): the browsers a user has allowed to be notified, and pushing a message
to all of them.

`Push.send(user_id, payload)` is the one call a use case makes after its write has committed: it
puts the message on a bounded queue and returns at once, never raising, so pushing can neither
delay nor fail the write. Workers take messages off the queue, read the user's subscriptions and
deliver to each through the `Sender` (`realtime.webpush.WebPushSender`); a subscription whose push
service answers 404 or 410 is dropped from the store, any other failure is logged and forgotten
(push services keep the message for its TTL; we do not retry).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
from typing import Any, Protocol
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

from domain import Invalid, NotFound, Unavailable
from domain.clock import Clock, utc_now
from realtime.webpush import Delivery, is_loopback_http, is_public_host
from store import PushSubscription, Store

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 1000
"""Messages that may wait for a worker; beyond that new ones are dropped (and logged)."""
DEFAULT_WORKERS = 4
"""Users being pushed to at once; each delivers to its user's subscriptions concurrently."""
MAX_PAYLOAD_BYTES = 3993
"""The largest plaintext one aes128gcm record of a 4096-byte push message holds (RFC 8291 §4)."""
MAX_ENDPOINT_LENGTH = 2048
CLOSE_SECONDS = 2.0
"""How long shutting down waits for queued messages before dropping them."""

_P256_POINT_BYTES = 65
_AUTH_SECRET_BYTES = 16


class Sender(Protocol):
    """Delivers one encrypted, VAPID-signed message to one subscription; never raises."""

    @property
    def public_key(self) -> str: ...

    @property
    def allow_http_loopback(self) -> bool: ...

    async def deliver(self, endpoint: str, p256dh: str, auth: str, data: bytes) -> Delivery: ...


def subscription_id(endpoint: str) -> str:
    """A subscription's id: the same for the same endpoint, and not the endpoint itself (which is
    a bearer capability to push to that browser, so it stays out of URLs and logs)."""
    digest = hashlib.sha256(endpoint.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def not_configured() -> Unavailable:
    return Unavailable(
        "Web Push is not configured on this server (VAPID_PRIVATE_KEY, VAPID_SUBJECT)",
        code="push_not_configured",
    )


class Push:
    """Subscriptions and delivery. Without a sender, push is off: `send` does nothing and the
    other calls raise Unavailable (`push_not_configured`)."""

    def __init__(
        self,
        store: Store,
        sender: Sender | None,
        clock: Clock = utc_now,
        *,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        workers: int = DEFAULT_WORKERS,
    ) -> None:
        self._store = store
        self._sender = sender
        self._clock = clock
        self._queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(queue_size)
        self._worker_count = workers
        self._workers: list[asyncio.Task[None]] = []

    @property
    def configured(self) -> bool:
        return self._sender is not None

    def public_key(self) -> str:
        """The applicationServerKey for `pushManager.subscribe` (base64url P-256 point)."""
        return self._configured_sender().public_key

    def _configured_sender(self) -> Sender:
        if self._sender is None:
            raise not_configured()
        return self._sender

    # subscriptions

    async def subscribe(self, user_id: str, body: dict[str, Any]) -> tuple[PushSubscription, bool]:
        """Keep the browser PushSubscription JSON `body` for the user (the same endpoint again
        replaces its keys). Whether it is new. Raises Invalid, Conflict (the cap), Unavailable."""
        sender = self._configured_sender()
        endpoint = body["endpoint"]
        keys = body["keys"]
        problems = _endpoint_problems(endpoint, sender.allow_http_loopback)
        problems += _key_problems(keys["p256dh"], keys["auth"])
        if problems:
            raise Invalid("not a usable push subscription", details=problems)
        expiration = body.get("expirationTime")
        subscription = PushSubscription(
            id=subscription_id(endpoint),
            user_id=user_id,
            endpoint=endpoint,
            p256dh=keys["p256dh"],
            auth=keys["auth"],
            expiration_time=None if expiration is None else int(expiration),
            created_at=self._clock(),
        )
        return await self._store.save_push_subscription(subscription)

    async def subscriptions(self, user_id: str) -> list[PushSubscription]:
        self._configured_sender()
        return await self._store.list_push_subscriptions(user_id)

    async def unsubscribe(
        self, user_id: str, *, endpoint: str | None = None, sub_id: str | None = None
    ) -> None:
        """Forget one of the user's subscriptions, named by endpoint or id; NotFound when the
        user has none such."""
        self._configured_sender()
        target = sub_id if sub_id is not None else subscription_id(endpoint or "")
        if not await self._store.delete_push_subscription(user_id, target):
            raise NotFound(
                "no push subscription of yours has this endpoint", code="push_subscription_not_found"
            )

    # delivery

    def send(self, user_id: str, payload: dict[str, Any]) -> None:
        """Push `payload` (JSON) to every subscription of the user, later. Returns at once and
        never raises: a full queue, a payload over MAX_PAYLOAD_BYTES or push being off only log."""
        if self._sender is None:
            return
        try:
            data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        except (TypeError, ValueError):
            log.exception("web push payload for user %s is not JSON; not sent", user_id)
            return
        if len(data) > MAX_PAYLOAD_BYTES:
            log.warning("web push payload of %d bytes for user %s is too large; not sent", len(data), user_id)
            return
        try:
            self._queue.put_nowait((user_id, data))
        except asyncio.QueueFull:
            log.warning(
                "web push queue full (%d); a message for user %s is dropped", self._queue.maxsize, user_id
            )

    def start(self) -> None:
        """Start the workers (in the running loop); nothing to do when push is off."""
        if self._sender is None or self._workers:
            return
        self._workers = [
            asyncio.create_task(self._work(), name=f"web-push-{n}") for n in range(self._worker_count)
        ]

    async def drain(self) -> None:
        """Wait until every message queued so far has been handled."""
        await self._queue.join()

    async def close(self, timeout: float = CLOSE_SECONDS) -> None:
        """Let queued messages go out for up to `timeout` seconds, then stop the workers."""
        if not self._workers:
            return
        try:
            await asyncio.wait_for(self._queue.join(), timeout)
        except asyncio.TimeoutError:
            log.warning("web push: %d queued messages dropped at shutdown", self._queue.qsize())
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []

    async def _work(self) -> None:
        while True:
            user_id, data = await self._queue.get()
            try:
                await self._push(user_id, data)
            except Exception:
                log.exception("web push to user %s failed", user_id)
            finally:
                self._queue.task_done()

    async def _push(self, user_id: str, data: bytes) -> None:
        sender = self._configured_sender()
        now_ms = int(self._clock().timestamp() * 1000)
        live: list[PushSubscription] = []
        for subscription in await self._store.list_push_subscriptions(user_id):
            if subscription.expiration_time is not None and subscription.expiration_time <= now_ms:
                await self._store.delete_push_subscription(user_id, subscription.id)
            else:
                live.append(subscription)
        outcomes = await asyncio.gather(*(sender.deliver(s.endpoint, s.p256dh, s.auth, data) for s in live))
        for subscription, outcome in zip(live, outcomes, strict=True):
            if outcome is Delivery.GONE:
                log.info("web push subscription %s of user %s is gone; dropped", subscription.id, user_id)
                await self._store.delete_push_subscription(user_id, subscription.id)


def _endpoint_problems(endpoint: str, allow_http_loopback: bool) -> list[dict[str, str]]:
    parts = urlsplit(endpoint)
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        return [{"field": "endpoint", "message": f"must be at most {MAX_ENDPOINT_LENGTH} characters"}]
    if allow_http_loopback and is_loopback_http(endpoint):
        return []
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number in range
    except ValueError:
        return [{"field": "endpoint", "message": "must be an https URL"}]
    if parts.scheme != "https" or not parts.hostname:
        return [{"field": "endpoint", "message": "must be an https URL"}]
    if not is_public_host(parts.hostname):
        return [{"field": "endpoint", "message": "must be on a public host"}]
    return []


def _key_problems(p256dh: str, auth: str) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    point = _base64url(p256dh)
    if point is None or len(point) != _P256_POINT_BYTES or point[0] != 4 or not _on_curve(point):
        problems.append(
            {"field": "keys.p256dh", "message": "must be a base64url uncompressed P-256 point (65 bytes)"}
        )
    secret = _base64url(auth)
    if secret is None or len(secret) != _AUTH_SECRET_BYTES:
        problems.append({"field": "keys.auth", "message": "must be a base64url 16-byte secret"})
    return problems


def _base64url(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def _on_curve(point: bytes) -> bool:
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        return False
    return True
