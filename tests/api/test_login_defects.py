"""Signing in against a provider of our own (`tests/oidc_provider.py`) that misbehaves on purpose:
unpublished or rotated signing keys, refused algorithms, stalled or failing endpoints, a discovery
document or authorization response that names another issuer. Real HTTP and real RSA signatures
throughout; nothing of ours is replaced."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from server.oidc import OIDC
from tests.api.conftest import Api, Reply, store_agnostic
from tests.api.sign_in import (
    CALLBACK,
    CLIENT_ID,
    CLIENT_SECRET,
    api_for,
    back_to_us,
    begin,
    landing,
    redirect_of,
    sign_in_environ,
    sign_in_error,
)
from tests.oidc_provider import DefectiveProvider, SigningKey
from tests.services import free_port

pytestmark = store_agnostic

TIMEOUT_SECONDS = 1
"""OIDC_TIMEOUT_SECONDS here, so that stalled endpoints cost little."""


@pytest.fixture
async def provider(aiohttp_server: Any) -> AsyncIterator[DefectiveProvider]:
    provider = DefectiveProvider(CLIENT_ID, CLIENT_SECRET)
    server = await aiohttp_server(provider.app())
    provider.issuer = str(server.make_url("")).rstrip("/")
    yield provider
    provider.release()


@pytest.fixture
def environ(environ: dict[str, str], provider: DefectiveProvider) -> dict[str, str]:
    return sign_in_environ(environ, provider.issuer, OIDC_TIMEOUT_SECONDS=str(TIMEOUT_SECONDS))


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
        yield session


async def attempt(api: Api, browser: aiohttp.ClientSession) -> Reply:
    """One sign-in attempt, as far as our callback's answer."""
    return await back_to_us(api, await redirect_of(browser, "GET", await begin(api)))


async def signed_in(api: Api, browser: aiohttp.ClientSession) -> str:
    _, fragment = landing(await attempt(api, browser))
    assert "error" not in fragment, fragment
    return fragment["token"]


async def test_the_code_exchange_carries_the_verifier_and_the_client_secret(
    api: Api, provider: DefectiveProvider, browser: aiohttp.ClientSession
) -> None:
    """The provider checks the PKCE verifier against the challenge, the client secret (Basic),
    the redirect URI and the single use of the code; the `iss` parameter comes back (RFC 9207)."""
    token = await signed_in(api, browser)

    (request,) = provider.token_requests
    assert request["grant_type"] == "authorization_code"
    assert request["redirect_uri"] == CALLBACK
    assert 43 <= len(request["code_verifier"]) <= 128
    assert "client_secret" not in request
    me = await api.get("/api/user", headers={"Authorization": f"Bearer {token}"})
    assert me.json["email"] == "subject-1@example.org"


async def test_consent_denied(api: Api, provider: DefectiveProvider, browser: aiohttp.ClientSession) -> None:
    provider.deny = True

    assert sign_in_error(await attempt(api, browser))[0] == "access_denied"
    assert provider.hits["token"] == 0


async def test_a_token_signed_with_an_unpublished_key(
    api: Api, provider: DefectiveProvider, browser: aiohttp.ClientSession
) -> None:
    provider.signing_key = SigningKey("not-published")

    error, description = sign_in_error(await attempt(api, browser))

    assert error == "invalid_id_token"
    assert "unknown key" in description


async def test_a_token_signed_with_another_key_under_a_published_kid(
    api: Api, provider: DefectiveProvider, browser: aiohttp.ClientSession
) -> None:
    provider.signing_key = SigningKey(provider.published[0].kid)

    error, description = sign_in_error(await attempt(api, browser))

    assert error == "invalid_id_token"
    assert "signature" in description


@pytest.mark.parametrize("algorithm", ["none", "HS256"])
async def test_a_token_with_a_refused_algorithm(
    api: Api, provider: DefectiveProvider, browser: aiohttp.ClientSession, algorithm: str
) -> None:
    provider.algorithm = algorithm

    error, description = sign_in_error(await attempt(api, browser))

    assert error == "invalid_id_token"
    assert "algorithm" in description


@pytest.mark.parametrize(
    ("claims", "error", "reason"),
    [
        ({"email": None}, "invalid_id_token", "e-mail"),
        ({"email_verified": None}, "email_not_verified", "not verified"),
        ({"nonce": None}, "invalid_id_token", "nonce"),
        ({"sub": None}, "invalid_id_token", "sub"),
    ],
    ids=["no-email", "no-email-verified", "no-nonce", "no-subject"],
)
async def test_a_token_missing_a_claim(
    api: Api,
    provider: DefectiveProvider,
    browser: aiohttp.ClientSession,
    claims: dict[str, Any],
    error: str,
    reason: str,
) -> None:
    provider.claims = claims

    code, description = sign_in_error(await attempt(api, browser))

    assert code == error
    assert reason in description


async def test_a_rotated_key_is_fetched_when_first_seen(
    api: Api, provider: DefectiveProvider, browser: aiohttp.ClientSession
) -> None:
    await signed_in(api, browser)
    provider.rotate()
    api.app[OIDC].jwks_refetch_interval = 0

    await signed_in(api, browser)

    assert provider.hits["jwks"] == 2
    assert provider.hits["discovery"] == 1


async def test_unknown_key_ids_do_not_hammer_the_provider(
    api: Api, provider: DefectiveProvider, browser: aiohttp.ClientSession
) -> None:
    await signed_in(api, browser)
    provider.signing_key = SigningKey("made-up")

    for _ in range(5):
        assert sign_in_error(await attempt(api, browser))[0] == "invalid_id_token"

    assert provider.hits["jwks"] == 1


@pytest.mark.parametrize("endpoint", ["token", "jwks"])
async def test_a_stalled_endpoint_during_the_callback(
    api: Api, provider: DefectiveProvider, browser: aiohttp.ClientSession, endpoint: str
) -> None:
    redirect = await redirect_of(browser, "GET", await begin(api))
    provider.stalled.add(endpoint)
    started = time.monotonic()

    reply = await back_to_us(api, redirect)

    assert sign_in_error(reply)[0] == "provider_unavailable"
    assert time.monotonic() - started < TIMEOUT_SECONDS + 2


async def test_stalled_discovery_at_login(api: Api, provider: DefectiveProvider) -> None:
    provider.stalled.add("discovery")
    started = time.monotonic()

    reply = await api.get("/api/login")

    assert sign_in_error(reply)[0] == "provider_unavailable"
    assert time.monotonic() - started < TIMEOUT_SECONDS + 2
    assert "Set-Cookie" not in reply.headers


async def test_a_failing_token_endpoint(
    api: Api, provider: DefectiveProvider, browser: aiohttp.ClientSession
) -> None:
    provider.failing.add("token")

    assert sign_in_error(await attempt(api, browser))[0] == "provider_unavailable"


async def test_provider_down(aiohttp_client: Any, environ: dict[str, str]) -> None:
    nobody_listens = f"http://127.0.0.1:{free_port()}"
    api = await api_for(aiohttp_client, {**environ, "OIDC_ISSUER": nobody_listens})

    reply = await api.get("/api/login")

    error, description = sign_in_error(reply)
    assert error == "provider_unavailable"
    assert "could not be reached" in description


async def test_discovery_for_another_issuer(api: Api, provider: DefectiveProvider) -> None:
    provider.discovery_issuer = "https://accounts.google.com"

    assert sign_in_error(await api.get("/api/login"))[0] == "provider_unavailable"


async def test_an_authorization_response_from_another_issuer(
    api: Api, provider: DefectiveProvider, browser: aiohttp.ClientSession
) -> None:
    """RFC 9207 mix-up defence: the `iss` parameter must name our issuer."""
    provider.iss_parameter = "https://evil.example"

    error, description = sign_in_error(await attempt(api, browser))

    assert error == "provider_error"
    assert "issuer" in description
    assert provider.hits["token"] == 0
