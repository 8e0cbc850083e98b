"""Web Push (issue 14 part 6) on both backends: the key, subscribing and unsubscribing, and delivery
to a push service of the test's own that checks the VAPID JWT and decrypts the message with the
browser's keys, the way a browser's push service and the browser itself would.

The local push service listens on plain http on 127.0.0.1; the app accepts such endpoints only
because these tests set `WebPushSettings.allow_http_loopback` (never read from the environment).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import http_ece  # type: ignore[import-untyped]
import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from realtime.settings import WebPushSettings
from realtime.webpush import Delivery, open_sender
from server.config import Config, load_config
from server.keys import SERVICES
from store import MAX_PUSH_SUBSCRIPTIONS
from tests.api.conftest import Actor, Api, store_agnostic
from tests.waiting import wait_until

SUBJECT = "mailto:ops@example.com"
TTL = 3600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


VAPID_KEY = ec.generate_private_key(ec.SECP256R1())
VAPID_PEM = VAPID_KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
VAPID_PUBLIC = b64url(
    VAPID_KEY.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
)


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    return {**environ, "VAPID_PRIVATE_KEY": VAPID_PEM, "VAPID_SUBJECT": SUBJECT, "PUSH_TTL_SECONDS": str(TTL)}


@pytest.fixture
def push_timeout() -> float:
    """Seconds each delivery may take (a test parametrizes it to tell hanging from timing out)."""
    return 1


@pytest.fixture
def config(environ: dict[str, str], push_timeout: float) -> Config:
    loaded = load_config(environ, read_dotenv=False)
    assert loaded.push is not None
    return replace(loaded, push=replace(loaded.push, allow_http_loopback=True, timeout_seconds=push_timeout))


@dataclass
class Browser:
    """One browser's side of a subscription: its ECDH key pair and auth secret."""

    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription(self, endpoint: str) -> dict[str, Any]:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)},
        }


@dataclass
class PushService:
    """A push service on 127.0.0.1: `/push/<name>` answers `answers[name]` (default 201), or hangs
    until `release` for names in `hang`. Every request it takes is checked and, when it is a
    proper Web Push message, decrypted with the browser registered under its name."""

    server: TestServer
    browsers: dict[str, Browser] = field(default_factory=dict)
    answers: dict[str, int] = field(default_factory=dict)
    hang: set[str] = field(default_factory=set)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    received: dict[str, list[Any]] = field(default_factory=dict)
    started: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    redirects: dict[str, str] = field(default_factory=dict)

    def endpoint(self, name: str) -> str:
        return str(self.server.make_url(f"/push/{name}"))

    def browser(self, name: str) -> Browser:
        return self.browsers.setdefault(name, Browser())

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.started[name] = self.started.get(name, 0) + 1
        if name in self.redirects:
            return web.Response(status=307, headers={"Location": self.redirects[name]})
        body = await request.read()
        try:
            self.received.setdefault(name, []).append(self.open(request, name, body))
        except Exception as exc:  # a test failure, reported by the test, not a 500 to the app
            self.problems.append(f"{name}: {exc!r}")
        if name in self.hang:
            await self.release.wait()
        return web.Response(status=self.answers.get(name, 201))

    def open(self, request: web.Request, name: str, body: bytes) -> Any:
        """Check the request as a push service does (RFC 8030, 8292) and decrypt it as the browser
        does (RFC 8291); the payload."""
        assert request.headers["TTL"] == str(TTL)
        assert request.headers["Content-Encoding"] == "aes128gcm"
        scheme, _, params = request.headers["Authorization"].partition(" ")
        assert scheme == "vapid"
        fields = dict(part.strip().split("=", 1) for part in params.split(","))
        assert fields["k"] == VAPID_PUBLIC
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(fields["k"]))
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.endpoint(name)))
        claims = jwt.decode(fields["t"], public, algorithms=["ES256"], audience=origin)
        assert claims["sub"] == SUBJECT
        assert time.time() < claims["exp"] <= time.time() + 24 * 3600
        browser = self.browsers[name]
        plain = http_ece.decrypt(
            body, private_key=browser.private_key, auth_secret=browser.auth, version="aes128gcm"
        )
        return json.loads(plain)


@pytest.fixture
async def push_service(aiohttp_server: Callable[..., Any]) -> Any:
    app = web.Application()
    holder: dict[str, PushService] = {}

    async def handle(request: web.Request) -> web.Response:
        return await holder["service"].handle(request)

    app.router.add_post("/push/{name}", handle)
    server = await aiohttp_server(app, host="127.0.0.1")
    service = PushService(server)
    holder["service"] = service
    yield service
    service.release.set()


async def _subscribe(api: Api, actor: Actor, service: PushService, name: str) -> dict[str, Any]:
    reply = await api.post(
        "/api/push/subscriptions", as_=actor, json=service.browser(name).subscription(service.endpoint(name))
    )
    assert reply.status == 201, reply.text
    body: dict[str, Any] = reply.json
    return body


# the key and the subscriptions


async def test_the_key_is_the_vapid_public_key(api: Api) -> None:
    reply = await api.get("/api/push/key")
    assert reply.status == 200
    assert reply.json == {"public_key": VAPID_PUBLIC}
    assert len(unb64url(reply.json["public_key"])) == 65


async def test_subscribe_is_idempotent_on_the_endpoint_and_unsubscribe_forgets(
    api: Api, alice: Actor, bob: Actor, push_service: PushService
) -> None:
    first = await _subscribe(api, alice, push_service, "a")
    assert first["endpoint"] == push_service.endpoint("a") and first["expirationTime"] is None
    renewed = Browser().subscription(push_service.endpoint("a"))
    again = await api.post("/api/push/subscriptions", as_=alice, json=renewed)
    assert again.status == 200 and again.json["id"] == first["id"]
    stored = await api.store.list_push_subscriptions(alice.id)
    assert [s.p256dh for s in stored] == [renewed["keys"]["p256dh"]]
    second = await _subscribe(api, alice, push_service, "b")
    listed = await api.get("/api/push/subscriptions", as_=alice)
    assert [s["id"] for s in listed.json["items"]] == [first["id"], second["id"]]
    assert (await api.get("/api/push/subscriptions", as_=bob)).json == {"items": []}

    # Someone else cannot remove them, by endpoint or by id.
    gone = await api.delete("/api/push/subscriptions", as_=bob, json={"endpoint": push_service.endpoint("a")})
    assert gone.status == 404 and gone.error["code"] == "push_subscription_not_found"
    assert (await api.delete(f"/api/push/subscriptions/{second['id']}", as_=bob)).status == 404

    assert (
        await api.delete("/api/push/subscriptions", as_=alice, json={"endpoint": push_service.endpoint("a")})
    ).status == 204
    assert (
        await api.delete("/api/push/subscriptions", as_=alice, json={"endpoint": push_service.endpoint("a")})
    ).status == 404
    assert (await api.delete(f"/api/push/subscriptions/{second['id']}", as_=alice)).status == 204
    assert await api.store.list_push_subscriptions(alice.id) == []


def _with(subscription: dict[str, Any], **keys: str) -> dict[str, Any]:
    return {**subscription, "keys": {**subscription["keys"], **keys}}


@store_agnostic
async def test_unusable_subscriptions_are_refused(api: Api, alice: Actor, push_service: PushService) -> None:
    good = Browser().subscription("https://push.example.net/send/abc")
    point = unb64url(good["keys"]["p256dh"])
    cases = {
        "endpoint": [
            {**good, "endpoint": "http://push.example.net/send/abc"},
            {**good, "endpoint": "https://10.1.2.3/send/abc"},
            {**good, "endpoint": "https://127.0.0.1:8443/send/abc"},
            {**good, "endpoint": "https://[::1]/send/abc"},
            {**good, "endpoint": "https://169.254.169.254/latest/meta-data"},
            {**good, "endpoint": "https://localhost/send/abc"},
            {**good, "endpoint": "https://push.example.net:99999/send/abc"},
            {**good, "endpoint": "ftp://push.example.net/x"},
            {**good, "endpoint": "https://" + "a" * 2050},
        ],
        "keys.p256dh": [
            _with(good, p256dh=b64url(point[:64])),
            _with(good, p256dh=b64url(b"\x04" + b"\x01" * 64)),  # not on the curve
            _with(good, p256dh=b64url(b"\x02" + point[1:])),
            _with(good, p256dh="not base64!"),
        ],
        "keys.auth": [_with(good, auth=b64url(os.urandom(15))), _with(good, auth=b64url(os.urandom(32)))],
        "keys": [{"endpoint": good["endpoint"]}, {**good, "keys": {"p256dh": good["keys"]["p256dh"]}}],
    }
    for field_name, bodies in cases.items():
        for body in bodies:
            reply = await api.post("/api/push/subscriptions", as_=alice, json=body)
            assert reply.status == 422, (body, reply.text)
            assert any(f.startswith(field_name) for f in reply.error_fields()), (field_name, reply.error)
    assert await api.store.list_push_subscriptions(alice.id) == []
    ok = await api.post("/api/push/subscriptions", as_=alice, json=good)
    assert ok.status == 201, ok.text


@store_agnostic
async def test_at_most_so_many_subscriptions(api: Api, alice: Actor) -> None:
    browser = Browser()
    for n in range(MAX_PUSH_SUBSCRIPTIONS):
        reply = await api.post(
            "/api/push/subscriptions", as_=alice, json=browser.subscription(f"https://push.example.net/{n}")
        )
        assert reply.status == 201
    over = await api.post(
        "/api/push/subscriptions", as_=alice, json=browser.subscription("https://push.example.net/x")
    )
    assert over.status == 409 and over.error["code"] == "too_many_push_subscriptions"


async def test_the_export_names_them_and_deleting_the_account_forgets_them(
    api: Api, alice: Actor, push_service: PushService
) -> None:
    await _subscribe(api, alice, push_service, "a")
    exported = await api.get("/api/user/export", as_=alice)
    assert [s["endpoint"] for s in exported.json["push_subscriptions"]] == [push_service.endpoint("a")]
    assert (await api.delete("/api/user", as_=alice)).status == 204
    assert await api.store.list_push_subscriptions(alice.id) == []


# delivery


async def test_a_push_arrives_decrypted_at_every_subscription(
    api: Api, alice: Actor, bob: Actor, push_service: PushService
) -> None:
    await _subscribe(api, alice, push_service, "phone")
    await _subscribe(api, alice, push_service, "laptop")
    await _subscribe(api, bob, push_service, "bob")
    payload = {"kind": "expense.created", "summary": "Bob added “Dinner” — €12.50", "group_id": "g1"}
    api.app[SERVICES].push.send(alice.id, payload)
    await wait_until(lambda: "phone" in push_service.received and "laptop" in push_service.received)
    assert push_service.problems == []
    assert push_service.received == {"phone": [payload], "laptop": [payload]}


@pytest.mark.parametrize("status", [404, 410])
async def test_a_subscription_the_push_service_calls_gone_is_dropped(
    api: Api, alice: Actor, push_service: PushService, status: int
) -> None:
    await _subscribe(api, alice, push_service, "gone")
    kept = await _subscribe(api, alice, push_service, "kept")
    push_service.answers["gone"] = status
    api.app[SERVICES].push.send(alice.id, {"n": 1})

    async def dropped() -> bool:
        return [s.id for s in await api.store.list_push_subscriptions(alice.id)] == [kept["id"]]

    await wait_until(dropped, what=f"the subscription answered {status} is dropped")
    assert push_service.problems == []


async def test_a_failing_push_service_keeps_the_subscription(
    api: Api, alice: Actor, push_service: PushService
) -> None:
    await _subscribe(api, alice, push_service, "flaky")
    push_service.answers["flaky"] = 500
    push = api.app[SERVICES].push
    push.send(alice.id, {"n": 1})
    await wait_until(lambda: push_service.started.get("flaky") == 1)
    await asyncio.wait_for(push.drain(), 5)
    assert len(await api.store.list_push_subscriptions(alice.id)) == 1
    assert push_service.received == {"flaky": [{"n": 1}]} and push_service.problems == []


@pytest.mark.parametrize("push_timeout", [60])
async def test_a_hung_push_service_delays_nobody(
    api: Api, alice: Actor, bob: Actor, push_service: PushService
) -> None:
    await _subscribe(api, alice, push_service, "hung")
    await _subscribe(api, alice, push_service, "fine")
    await _subscribe(api, bob, push_service, "bob")
    push_service.hang.add("hung")
    push = api.app[SERVICES].push

    # Handing the pushes over must not wait for the hung service (it holds the request for the
    # minute the delivery may take): far under that, whatever else shares the machine.
    started = time.monotonic()
    push.send(alice.id, {"to": "alice"})
    push.send(bob.id, {"to": "bob"})
    assert time.monotonic() - started < 2

    # While the push service holds the request (and the delivery may wait a minute for it), the
    # user's other subscriptions and other users are served, and REST writes answer as usual.
    await wait_until(lambda: "fine" in push_service.received and "bob" in push_service.received)
    assert push_service.started.get("hung") == 1 and not push_service.release.is_set()
    assert (await api.post("/api/groups", as_=alice, json={"name": "Meanwhile"})).status == 201
    push_service.release.set()
    await asyncio.wait_for(push.drain(), 10)
    assert len(await api.store.list_push_subscriptions(alice.id)) == 2
    assert push_service.problems == []


async def test_a_push_service_that_never_answers_times_out_and_keeps_the_subscription(
    api: Api, alice: Actor, push_service: PushService
) -> None:
    await _subscribe(api, alice, push_service, "hung")
    push_service.hang.add("hung")
    push = api.app[SERVICES].push
    push.send(alice.id, {"n": 1})
    # Delivery gives up after PUSH_TIMEOUT_SECONDS (1 s here) while the service still holds it.
    await asyncio.wait_for(push.drain(), 10)
    assert not push_service.release.is_set() and push_service.started.get("hung") == 1
    assert len(await api.store.list_push_subscriptions(alice.id)) == 1


@store_agnostic
async def test_send_never_raises_and_drops_what_cannot_be_pushed(
    api: Api, alice: Actor, push_service: PushService
) -> None:
    await _subscribe(api, alice, push_service, "a")
    push = api.app[SERVICES].push
    push.send(alice.id, {"big": "x" * 5000})  # over one push message's 4 KB
    push.send(alice.id, {"not json": object()})
    push.send("no-such-user", {"n": 0})
    push.send(alice.id, {"n": 1})
    await wait_until(lambda: "a" in push_service.received)
    await asyncio.wait_for(push.drain(), 5)
    assert push_service.received == {"a": [{"n": 1}]}


async def test_an_expired_subscription_is_dropped_instead_of_pushed_to(
    api: Api, alice: Actor, push_service: PushService
) -> None:
    body = push_service.browser("old").subscription(push_service.endpoint("old"))
    body["expirationTime"] = int(time.time() * 1000) - 1000
    assert (await api.post("/api/push/subscriptions", as_=alice, json=body)).status == 201
    await _subscribe(api, alice, push_service, "new")
    push = api.app[SERVICES].push
    push.send(alice.id, {"n": 1})
    await wait_until(lambda: "new" in push_service.received)
    await asyncio.wait_for(push.drain(), 5)
    assert "old" not in push_service.started
    assert [s.endpoint for s in await api.store.list_push_subscriptions(alice.id)] == [
        push_service.endpoint("new")
    ]


async def test_the_sender_connects_to_public_addresses_only(push_service: PushService) -> None:
    """Outside tests, a name that resolves into our own network is not connected to."""
    browser = push_service.browser("inside")
    keys = browser.subscription("")["keys"]
    endpoint = push_service.endpoint("inside").replace("127.0.0.1", "localhost")
    settings = WebPushSettings(
        vapid_private_key=VAPID_PEM, subject=SUBJECT, ttl_seconds=TTL, timeout_seconds=5
    )
    async with open_sender(settings) as sender:
        assert await sender.deliver(endpoint, keys["p256dh"], keys["auth"], b"{}") is Delivery.FAILED
    assert push_service.started == {}
    async with open_sender(settings) as sender:  # an IP literal inside our network: no connection
        literal = push_service.endpoint("inside")
        assert await sender.deliver(literal, keys["p256dh"], keys["auth"], b"{}") is Delivery.FAILED
    assert push_service.started == {}
    async with open_sender(replace(settings, allow_http_loopback=True)) as sender:
        assert await sender.deliver(endpoint, keys["p256dh"], keys["auth"], b"{}") is Delivery.DELIVERED
    assert push_service.started == {"inside": 1}


async def test_the_sender_follows_no_redirect(push_service: PushService) -> None:
    """A push service answers 201; a subscriber's server answering 307 into our own network must
    not make us POST there."""
    browser = push_service.browser("target")
    keys = browser.subscription("")["keys"]
    push_service.redirects["moved"] = push_service.endpoint("target")
    settings = WebPushSettings(
        vapid_private_key=VAPID_PEM,
        subject=SUBJECT,
        ttl_seconds=TTL,
        timeout_seconds=5,
        allow_http_loopback=True,
    )
    async with open_sender(settings) as sender:
        moved = push_service.endpoint("moved")
        assert await sender.deliver(moved, keys["p256dh"], keys["auth"], b"{}") is Delivery.FAILED
    assert push_service.started == {"moved": 1}
