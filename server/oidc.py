"""The OpenID Connect provider client: discovery, the code exchange and ID-token verification.

One `OidcClient` per application, opened in `oidc_ctx` when sign-in is configured. Every call to
the provider goes through one `aiohttp.ClientSession` with a bounded timeout, so a slow or dead
provider costs a sign-in attempt a few seconds, never a hung request or a blocked event loop.

What is checked, and why (OpenID Connect Core §3.1.3.7, RFC 9700, Google's ID-token rules):
- discovery answers for exactly the configured issuer (no mix-up between providers);
- the ID token's signature verifies against a key from the provider's JWKS, with the algorithm the
  key declares (never `none`, never an HMAC keyed with something public);
- `iss` is the issuer, `aud` holds our client id (and `azp` is us when there are other audiences),
  `exp`/`iat` hold within a small clock skew, `nonce` is the one this attempt sent;
- the e-mail address is present and verified by the provider, since accounts are linked by it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
from base64 import b64encode, urlsafe_b64encode
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

import aiohttp
import jwt
from aiohttp import web

log = logging.getLogger(__name__)

SCOPES = "openid email profile"
LEEWAY_SECONDS = 30
DISCOVERY_TTL_SECONDS = 3600.0
JWKS_DEFAULT_TTL_SECONDS = 3600.0
JWKS_MAX_TTL_SECONDS = 24 * 3600.0
JWKS_REFETCH_INTERVAL_SECONDS = 60.0
MAX_RESPONSE_BYTES = 256 * 1024
# Google's issuer appears in its ID tokens with and without the scheme.
_ISSUER_ALIASES = {"https://accounts.google.com": ("accounts.google.com",)}
_ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.IGNORECASE)


class SignInError(Exception):
    """A sign-in attempt failed; `code` is the stable reason shown to the frontend."""

    code = "sign_in_failed"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class ProviderUnavailable(SignInError):
    """The provider could not be reached, timed out, or answered with nonsense."""

    code = "provider_unavailable"


class ProviderError(SignInError):
    """The provider answered, but refused (a used or unknown code, a bad client secret)."""

    code = "provider_error"


class InvalidIdToken(SignInError):
    code = "invalid_id_token"


class EmailNotVerified(SignInError):
    code = "email_not_verified"


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """What discovery told us about the provider."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_endpoint_auth_method: str
    iss_parameter_supported: bool


@dataclass(frozen=True, slots=True)
class Identity:
    """The verified claims of an ID token that we keep."""

    issuer: str
    subject: str
    email: str
    name: str
    picture: str | None

    @property
    def account_key(self) -> str:
        """The key the store links the account by: the subject is unique per issuer only."""
        return f"{self.issuer}|{self.subject}"


@dataclass(frozen=True, slots=True)
class _KeySet:
    keys: dict[str, jwt.PyJWK]
    fetched_at: float
    expires_at: float


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcClient:
    """One provider, one client registration. Safe to share between concurrent requests."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        issuer: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        timeout_seconds: float,
        jwks_refetch_interval: float = JWKS_REFETCH_INTERVAL_SECONDS,
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.jwks_refetch_interval = jwks_refetch_interval
        """Least time between JWKS fetches caused by unknown key ids, so that a flood of tokens
        with made-up `kid`s cannot make us hammer the provider."""
        self._session = session
        self._client_secret = client_secret
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._metadata: ProviderMetadata | None = None
        self._metadata_expires = 0.0
        self._metadata_lock = asyncio.Lock()
        self._keys: _KeySet | None = None
        self._keys_lock = asyncio.Lock()

    # discovery

    async def metadata(self) -> ProviderMetadata:
        """The provider's endpoints, from discovery, cached for an hour."""
        if self._metadata is not None and time.monotonic() < self._metadata_expires:
            return self._metadata
        async with self._metadata_lock:
            if self._metadata is None or time.monotonic() >= self._metadata_expires:
                self._metadata = await self._discover()
                self._metadata_expires = time.monotonic() + DISCOVERY_TTL_SECONDS
            return self._metadata

    async def _discover(self) -> ProviderMetadata:
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        status, document, _ = await self._get_json(url, "discovery")
        if status != 200 or not isinstance(document, dict):
            raise ProviderUnavailable(f"discovery answered {status}")
        if document.get("issuer") != self.issuer:
            raise ProviderUnavailable(
                f"discovery names issuer {document.get('issuer')!r}, not {self.issuer!r}"
            )
        endpoints = {}
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = document.get(name)
            if not isinstance(value, str) or urlsplit(value).scheme not in ("https", "http"):
                raise ProviderUnavailable(f"discovery has no usable {name}")
            endpoints[name] = value
        methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        auth_method = "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
        return ProviderMetadata(
            issuer=self.issuer,
            token_endpoint_auth_method=auth_method,
            iss_parameter_supported=document.get("authorization_response_iss_parameter_supported") is True,
            **endpoints,
        )

    # the authorization request and the code exchange

    async def authorization_url(
        self, *, state: str, nonce: str, code_verifier: str, prompt: str | None = None
    ) -> str:
        metadata = await self.metadata()
        parameters = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": SCOPES,
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce_challenge(code_verifier),
            "code_challenge_method": "S256",
        }
        if prompt is not None:
            parameters["prompt"] = prompt
        separator = "&" if urlsplit(metadata.authorization_endpoint).query else "?"
        return metadata.authorization_endpoint + separator + urlencode(parameters)

    async def sign_in(
        self, *, code: str, code_verifier: str, nonce: str, iss_parameter: str | None
    ) -> Identity:
        """Exchange the authorization code and verify the ID token that comes back."""
        metadata = await self.metadata()
        if iss_parameter is not None and iss_parameter != metadata.issuer:
            raise ProviderError(f"the authorization response came from issuer {iss_parameter!r}")
        if iss_parameter is None and metadata.iss_parameter_supported:
            raise ProviderError("the authorization response has no iss parameter (RFC 9207)")
        id_token = await self._exchange(metadata, code, code_verifier)
        return await self.verify_id_token(id_token, nonce=nonce)

    async def _exchange(self, metadata: ProviderMetadata, code: str, code_verifier: str) -> str:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": code_verifier,
        }
        headers = {"Accept": "application/json"}
        if metadata.token_endpoint_auth_method == "client_secret_basic" and self._client_secret:
            # RFC 6749 §2.3.1: both parts are form-encoded before Basic encoding.
            pair = f"{quote_plus(self.client_id)}:{quote_plus(self._client_secret)}"
            headers["Authorization"] = "Basic " + b64encode(pair.encode()).decode("ascii")
        else:
            form["client_id"] = self.client_id
            if self._client_secret:
                form["client_secret"] = self._client_secret
        status, body, _ = await self._request_json(
            "POST",
            metadata.token_endpoint,
            "token endpoint",
            data=form,
            headers=headers,
            allow_redirects=False,
        )
        if status >= 500 or not isinstance(body, dict):
            raise ProviderUnavailable(f"token endpoint answered {status}")
        if status != 200:
            error = body.get("error")
            raise ProviderError(f"token endpoint refused the code: {error or status}")
        id_token = body.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise ProviderError("token endpoint returned no ID token")
        return id_token

    # the ID token

    async def verify_id_token(self, id_token: str, *, nonce: str) -> Identity:
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError as exc:
            raise InvalidIdToken(f"ID token is malformed: {exc}") from None
        algorithm = header.get("alg")
        if algorithm not in _ASYMMETRIC_ALGORITHMS:
            raise InvalidIdToken(f"ID token algorithm {algorithm!r} is not accepted")
        kid = header.get("kid")
        key = await self._signing_key(kid if isinstance(kid, str) else None)
        issuers = (self.issuer, *_ISSUER_ALIASES.get(self.issuer, ()))
        try:
            claims = jwt.decode(
                id_token,
                key,
                algorithms=[key.algorithm_name],
                audience=self.client_id,
                issuer=issuers,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidIdToken("ID token has expired") from None
        except jwt.InvalidAudienceError:
            raise InvalidIdToken("ID token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidIdToken("ID token is from another issuer") from None
        except jwt.InvalidSignatureError:
            raise InvalidIdToken("ID token signature does not verify") from None
        except jwt.PyJWTError as exc:
            raise InvalidIdToken(f"ID token is invalid: {exc}") from None
        return _identity(claims, issuer=self.issuer, client_id=self.client_id, nonce=nonce)

    async def _signing_key(self, kid: str | None) -> jwt.PyJWK:
        keys = self._keys
        now = time.monotonic()
        if keys is not None and now < keys.expires_at:
            found = _pick(keys, kid)
            if found is not None:
                return found
        async with self._keys_lock:
            keys = self._keys
            now = time.monotonic()
            stale = keys is None or now >= keys.expires_at
            unknown = keys is not None and _pick(keys, kid) is None
            if stale or (unknown and now - keys.fetched_at >= self.jwks_refetch_interval):  # type: ignore[union-attr]
                keys = self._keys = await self._fetch_keys()
            assert keys is not None
            found = _pick(keys, kid)
        if found is None:
            raise InvalidIdToken(f"ID token is signed with an unknown key (kid {kid!r})")
        return found

    async def _fetch_keys(self) -> _KeySet:
        metadata = await self.metadata()
        status, document, headers = await self._get_json(metadata.jwks_uri, "JWKS")
        if status != 200 or not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ProviderUnavailable(f"JWKS answered {status} without a key set")
        keys: dict[str, jwt.PyJWK] = {}
        for index, entry in enumerate(document["keys"]):
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK(entry)
            except jwt.PyJWTError:
                continue  # a key type or curve we do not support; others may still do
            if key.algorithm_name not in _ASYMMETRIC_ALGORITHMS:
                continue
            keys[str(entry.get("kid", f"#{index}"))] = key
        now = time.monotonic()
        log.info("fetched %d signing keys from %s", len(keys), metadata.jwks_uri)
        return _KeySet(keys=keys, fetched_at=now, expires_at=now + _cache_lifetime(headers))

    # HTTP

    async def _get_json(self, url: str, what: str) -> tuple[int, Any, Mapping[str, str]]:
        return await self._request_json("GET", url, what, headers={"Accept": "application/json"})

    async def _request_json(
        self, method: str, url: str, what: str, **kwargs: Any
    ) -> tuple[int, Any, Mapping[str, str]]:
        """Status, parsed JSON body (None if it is not JSON) and headers; raises
        ProviderUnavailable on network errors, timeouts and oversized answers."""
        try:
            async with self._session.request(method, url, timeout=self._timeout, **kwargs) as reply:
                raw = await _read_bounded(reply)
                status, headers = reply.status, reply.headers
        except asyncio.TimeoutError:
            raise ProviderUnavailable(f"{what} did not answer in time") from None
        except aiohttp.ClientError as exc:
            raise ProviderUnavailable(f"{what} could not be reached: {type(exc).__name__}") from None
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            body = None
        return status, body, headers


async def _read_bounded(reply: aiohttp.ClientResponse) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in reply.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise ProviderUnavailable(f"answer from {reply.url.host} is larger than expected")
        chunks.append(chunk)
    return b"".join(chunks)


def _pick(keys: _KeySet, kid: str | None) -> jwt.PyJWK | None:
    if kid is None:
        return next(iter(keys.keys.values())) if len(keys.keys) == 1 else None
    return keys.keys.get(kid)


def _cache_lifetime(headers: Mapping[str, str]) -> float:
    """The JWKS answer's `Cache-Control: max-age`, within sane bounds; Google sets hours."""
    match = _MAX_AGE.search(headers.get("Cache-Control", ""))
    if match is None:
        return JWKS_DEFAULT_TTL_SECONDS
    return min(max(float(match.group(1)), JWKS_REFETCH_INTERVAL_SECONDS), JWKS_MAX_TTL_SECONDS)


def _identity(claims: dict[str, Any], *, issuer: str, client_id: str, nonce: str) -> Identity:
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != client_id:
        raise InvalidIdToken("ID token was issued to another party (azp)")
    claimed_nonce = claims.get("nonce")
    if not isinstance(claimed_nonce, str) or not hmac.compare_digest(claimed_nonce.encode(), nonce.encode()):
        raise InvalidIdToken("ID token nonce does not match this sign-in attempt")
    subject = claims["sub"]
    if not isinstance(subject, str) or not 0 < len(subject) <= 255:
        raise InvalidIdToken("ID token has no usable subject")
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise InvalidIdToken("ID token has no e-mail address (is the `email` scope granted?)")
    if claims.get("email_verified") not in (True, "true"):
        raise EmailNotVerified(f"the provider has not verified {email}")
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        name = email.split("@", 1)[0]
    picture = claims.get("picture")
    return Identity(
        issuer=issuer,
        subject=subject,
        email=email.strip().lower(),
        name=name.strip()[:200],
        picture=picture if isinstance(picture, str) and picture.startswith("https://") else None,
    )


OIDC = web.AppKey("oidc", OidcClient)


@dataclass(frozen=True, slots=True)
class OidcSettings:
    """The OAuth client registered with the provider, and how long each call to it may take."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    timeout_seconds: float


CleanupContext = Callable[[web.Application], AsyncIterator[None]]


def oidc_ctx(settings: OidcSettings | None) -> CleanupContext:
    """The provider client's lifetime; none when sign-in is not configured (no GOOGLE_CLIENT_ID)."""

    async def provider_client(app: web.Application) -> AsyncIterator[None]:
        if settings is None:
            yield
            return
        async with aiohttp.ClientSession(headers={"User-Agent": "expense-tracker"}) as session:
            app[OIDC] = OidcClient(
                session,
                issuer=settings.issuer,
                client_id=settings.client_id,
                client_secret=settings.client_secret,
                redirect_uri=settings.redirect_uri,
                timeout_seconds=settings.timeout_seconds,
            )
            yield

    return provider_client
