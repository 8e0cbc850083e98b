"""A small OpenID Connect provider of our own, for the defects oidc-provider-mock cannot produce.

It is a real HTTP server (served by pytest-aiohttp's `aiohttp_server` on a loopback port) with real
RSA keys: discovery, a JWKS, an authorization endpoint that approves at once, and a token endpoint
that checks the client secret, the redirect URI, single use of codes and the PKCE verifier. Each
test sets exactly the defect it is about: extra or changed claims, a key that is not published, a
stalled endpoint, a wrong issuer in discovery.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def jwk(self) -> dict[str, Any]:
        public = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "alg": "RS256", "use": "sig"}


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    nonce: str
    challenge: str


class DefectiveProvider:
    """Set the public attributes to shape what the next tokens look like."""

    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.issuer = ""
        """Known once served (`serve`)."""
        self.published = [SigningKey("key-1")]
        self.signing_key = self.published[0]
        self.claims: dict[str, Any] = {}
        """Claims to add to, or replace in, the next ID tokens (None removes one)."""
        self.header: dict[str, Any] = {}
        self.algorithm = "RS256"
        """Anything else forges the token (`none`, or HS256 keyed with the public key)."""
        self.subject = "subject-1"
        self.discovery_issuer: str | None = None
        """Issuer that discovery claims, when it should differ from the real one."""
        self.send_iss_parameter = True
        self.iss_parameter: str | None = None
        self.stalled: set[str] = set()
        """Endpoints ("discovery", "jwks", "token") that hang until the test ends."""
        self.failing: set[str] = set()
        """Endpoints that answer 500."""
        self.deny = False
        """Answer authorization requests as if the user refused consent."""
        self.hits: Counter[str] = Counter()
        self.token_requests: list[dict[str, str]] = []
        self._grants: dict[str, _Grant] = {}
        self._release = asyncio.Event()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self._discovery)
        app.router.add_get("/jwks", self._jwks)
        app.router.add_get("/authorize", self._authorize)
        app.router.add_post("/token", self._token)
        app.on_shutdown.append(self._on_shutdown)
        return app

    def release(self) -> None:
        """Let stalled requests finish (at the end of a test)."""
        self._release.set()

    async def _on_shutdown(self, app: web.Application) -> None:
        self.release()

    def rotate(self) -> SigningKey:
        """Publish a new key beside the old one and sign with it from now on."""
        key = SigningKey(f"key-{len(self.published) + 1}")
        self.published.append(key)
        self.signing_key = key
        return key

    async def _behave(self, endpoint: str) -> None:
        self.hits[endpoint] += 1
        if endpoint in self.stalled:
            await self._release.wait()
        if endpoint in self.failing:
            raise web.HTTPInternalServerError(text="provider failure")

    async def _discovery(self, request: web.Request) -> web.Response:
        await self._behave("discovery")
        return web.json_response(
            {
                "issuer": self.discovery_issuer or self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "authorization_response_iss_parameter_supported": self.send_iss_parameter,
            }
        )

    async def _jwks(self, request: web.Request) -> web.Response:
        await self._behave("jwks")
        return web.json_response({"keys": [key.jwk() for key in self.published]})

    async def _authorize(self, request: web.Request) -> web.Response:
        await self._behave("authorize")
        query = request.query
        problems = [
            name
            for name, ok in [
                ("response_type", query.get("response_type") == "code"),
                ("client_id", query.get("client_id") == self.client_id),
                ("scope", "openid" in query.get("scope", "").split()),
                ("code_challenge_method", query.get("code_challenge_method") == "S256"),
                ("code_challenge", len(query.get("code_challenge", "")) == 43),
                ("nonce", bool(query.get("nonce"))),
                ("state", bool(query.get("state"))),
                ("redirect_uri", bool(query.get("redirect_uri"))),
            ]
            if not ok
        ]
        if problems:
            raise web.HTTPBadRequest(text=f"bad authorization request: {', '.join(problems)}")
        if self.deny:
            answer = {"error": "access_denied", "state": query["state"]}
            raise web.HTTPFound(f"{query['redirect_uri']}?{urlencode(answer)}")
        code = secrets.token_urlsafe(24)
        self._grants[code] = _Grant(
            client_id=query["client_id"],
            redirect_uri=query["redirect_uri"],
            nonce=query["nonce"],
            challenge=query["code_challenge"],
        )
        answer = {"code": code, "state": query["state"]}
        if self.send_iss_parameter:
            answer["iss"] = self.iss_parameter or self.issuer
        raise web.HTTPFound(f"{query['redirect_uri']}?{urlencode(answer)}")

    async def _token(self, request: web.Request) -> web.Response:
        await self._behave("token")
        form = dict(await request.post())
        self.token_requests.append({k: str(v) for k, v in form.items()})
        if request.headers.get("Authorization") != _basic(self.client_id, self.client_secret):
            return _oauth_error("invalid_client", 401)
        grant = self._grants.pop(str(form.get("code")), None)
        if form.get("grant_type") != "authorization_code" or grant is None:
            return _oauth_error("invalid_grant")
        if form.get("redirect_uri") != grant.redirect_uri:
            return _oauth_error("invalid_grant")
        verifier = str(form.get("code_verifier", ""))
        digest = hashlib.sha256(verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
            return _oauth_error("invalid_grant")
        return web.json_response(
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "expires_in": 3600,
                "id_token": self.id_token(nonce=grant.nonce),
            }
        )

    def id_token(self, *, nonce: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.subject,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 600,
            "nonce": nonce,
            "email": f"{self.subject}@example.org",
            "email_verified": True,
            "name": "Dee Fect",
            "picture": "https://example.org/dee.png",
        }
        claims.update(self.claims)
        claims = {name: value for name, value in claims.items() if value is not None}
        header = {"kid": self.signing_key.kid, **self.header}
        if self.algorithm == "RS256":
            return jwt.encode(claims, self.signing_key.private, algorithm="RS256", headers=header)
        return _forged(claims, header, self.algorithm, self.signing_key)


def _forged(claims: dict[str, Any], header: dict[str, Any], algorithm: str, key: SigningKey) -> str:
    """The classic forgeries: `alg: none`, or HS256 keyed with the published public key (which
    PyJWT rightly refuses to produce, hence done by hand)."""

    def part(data: dict[str, Any]) -> str:
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = f"{part({**header, 'alg': algorithm})}.{part(claims)}"
    if algorithm == "none":
        return signing_input + "."
    public_pem = key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _oauth_error(error: str, status: int = 400) -> web.Response:
    return web.json_response({"error": error}, status=status)
