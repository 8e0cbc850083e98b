"""Web Push delivery: one message to one browser subscription (RFC 8030), signed with our VAPID key
(RFC 8292) and encrypted for the subscription's keys (RFC 8291, `aes128gcm`).

pywebpush does the encryption (through http_ece); the POST is ours, on our aiohttp session,
without following redirects; py_vapid signs the `Authorization: vapid t=…, k=…` JWT. What to push,
to whom, and what to do about an answer is `services.push`'s business: this module only reports
how one delivery went.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import ipaddress
import logging
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid  # type: ignore[import-untyped]
from pywebpush import WebPusher, WebPushException  # type: ignore[import-untyped]

from realtime.settings import WebPushSettings

log = logging.getLogger(__name__)

JWT_LIFETIME_SECONDS = 12 * 60 * 60
"""How long each VAPID JWT is valid; RFC 8292 §2 allows at most 24 hours."""


class Delivery(enum.Enum):
    DELIVERED = "delivered"
    """The push service took the message (201, or any 2xx)."""
    GONE = "gone"
    """404 or 410: the subscription has expired or been withdrawn; never send to it again."""
    FAILED = "failed"
    """Anything else (5xx, 429, a timeout, a refused connection): keep the subscription."""


class InvalidVapidKey(ValueError):
    """VAPID_PRIVATE_KEY is not a P-256 private key in a form `load_vapid_key` reads."""


def load_vapid_key(text: str) -> Any:
    """A py_vapid `Vapid` for VAPID_PRIVATE_KEY, which is either a PEM private key (PKCS#8 or
    "EC PRIVATE KEY"; literal `\\n` stand for line breaks, as in a one-line `.env` entry) or the
    base64url form `vapid --gen` and the pywebpush docs use: the raw 32-byte private number, or
    DER. Raises InvalidVapidKey."""
    text = text.strip().replace("\\n", "\n")
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise InvalidVapidKey("must be an elliptic-curve (P-256) private key")
            vapid = Vapid(private_key=key)
        else:
            vapid = Vapid.from_string(private_key=text)
    except InvalidVapidKey:
        raise
    except Exception as exc:  # py_vapid and cryptography raise a zoo: ValueError, binascii, ...
        raise InvalidVapidKey(f"is not a PEM or base64url P-256 private key ({type(exc).__name__})") from None
    if not isinstance(vapid.private_key.curve, ec.SECP256R1):
        raise InvalidVapidKey(f"must be on the P-256 curve, not {vapid.private_key.curve.name}")
    return vapid


def public_key_text(vapid: Any) -> str:
    """The applicationServerKey browsers need: the public key as an uncompressed P-256 point (65
    bytes), base64url without padding."""
    point: bytes = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode()


def is_loopback_http(endpoint: str) -> bool:
    parts = urlsplit(endpoint)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "::1", "localhost")


def is_public_host(host: str) -> bool:
    """Whether an endpoint's host may be pushed to as far as its name shows: not an IP literal
    outside the global unicast space (10/8, 127/8, 169.254/16, ::1, fc00::/7, ...) and not
    `localhost`. Names are checked again when they resolve (`_PublicAddressesOnly`)."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        return True


class _PublicAddressesOnly(AbstractResolver):
    """The default resolver, keeping only global addresses. A subscription's endpoint is chosen by
    a client, so without this a name pointing into our own network would have us POST there."""

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        public = [result for result in found if ipaddress.ip_address(result["host"]).is_global]
        if not public:
            raise OSError(f"{host} resolves to no public address")
        return public

    async def close(self) -> None:
        await self._inner.close()


@asynccontextmanager
async def open_sender(settings: WebPushSettings) -> AsyncIterator[WebPushSender]:
    """A sender with its own HTTP session, closed after the block. It connects to public
    addresses only, unless the settings allow loopback http (tests)."""
    connector = (
        None if settings.allow_http_loopback else aiohttp.TCPConnector(resolver=_PublicAddressesOnly())
    )
    async with aiohttp.ClientSession(connector=connector) as session:
        yield WebPushSender(settings, session)


class WebPushSender:
    """Delivers to push services over one aiohttp session (connections reused per push service)."""

    def __init__(self, settings: WebPushSettings, session: aiohttp.ClientSession) -> None:
        self._settings = settings
        self._session = session
        self._vapid = load_vapid_key(settings.vapid_private_key)
        self.public_key = public_key_text(self._vapid)
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout_seconds)

    @property
    def allow_http_loopback(self) -> bool:
        return self._settings.allow_http_loopback

    def _vapid_headers(self, endpoint: str) -> dict[str, str]:
        parts = urlsplit(endpoint)
        claims = {
            "aud": f"{parts.scheme}://{parts.netloc}",
            "sub": self._settings.subject,
            "exp": int(time.time()) + JWT_LIFETIME_SECONDS,
        }
        headers: dict[str, str] = self._vapid.sign(claims)
        return headers

    async def deliver(self, endpoint: str, p256dh: str, auth: str, data: bytes) -> Delivery:
        """POST `data`, encrypted, to `endpoint`; how it went. Never raises (but may be cancelled).

        pywebpush only encrypts; the POST is ours: redirects are not followed (a push service
        answers 201, never 3xx; following one would let a subscriber's server send us into our
        own network), an IP-literal host must be a public address (names are checked as they
        resolve), and the answer's body is not read."""
        host = urlsplit(endpoint).hostname or ""
        if not self._settings.allow_http_loopback and not is_public_host(host):
            log.warning("web push to %s refused: not a public address", _origin(endpoint))
            return Delivery.FAILED
        subscription = {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}}
        try:
            headers = self._vapid_headers(endpoint)
            headers.update(
                {
                    "Urgency": "normal",
                    "TTL": str(self._settings.ttl_seconds),
                    "Content-Encoding": "aes128gcm",
                    "Content-Type": "application/octet-stream",
                }
            )
            body = WebPusher(subscription).encode(data, "aes128gcm")["body"]
            async with self._session.post(
                endpoint, data=body, headers=headers, timeout=self._timeout, allow_redirects=False
            ) as response:
                status = int(response.status)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            log.warning("web push to %s failed: %s", _origin(endpoint), type(exc).__name__)
            return Delivery.FAILED
        except WebPushException as exc:
            log.warning("web push to %s not sent: %s", _origin(endpoint), exc)
            return Delivery.FAILED
        except Exception:  # whatever else a push service's answer trips over: still not ours to raise
            log.exception("web push to %s failed", _origin(endpoint))
            return Delivery.FAILED
        if 200 <= status < 300:
            return Delivery.DELIVERED
        if status in (404, 410):
            return Delivery.GONE
        log.warning("web push to %s answered %s", _origin(endpoint), status)
        return Delivery.FAILED


def _origin(endpoint: str) -> str:
    """The push service, without the per-subscription path (which is a capability)."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"
