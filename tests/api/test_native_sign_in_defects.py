"""A native app's sign-in when the provider refuses or fails (`tests/oidc_provider.py`, a provider
that misbehaves on purpose and, unlike the mock, sends `state` with its error answers): the app
hears RFC 6749 §4.1.2.1 errors at its redirect URI, with its `state`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import pytest

from tests.api.conftest import Api, store_agnostic
from tests.api.sign_in import (
    CLIENT_ID,
    CLIENT_SECRET,
    api_for,
    back_to_us,
    location,
    redirect_of,
    sign_in_environ,
)
from tests.oidc_provider import DefectiveProvider
from tests.services import free_port

pytestmark = store_agnostic

APP = "com.example.app:/oauth"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


@pytest.fixture
async def provider(aiohttp_server: Any) -> AsyncIterator[DefectiveProvider]:
    provider = DefectiveProvider(CLIENT_ID, CLIENT_SECRET)
    server = await aiohttp_server(provider.app())
    provider.issuer = str(server.make_url("")).rstrip("/")
    yield provider
    provider.release()


@pytest.fixture
def environ(environ: dict[str, str], provider: DefectiveProvider) -> dict[str, str]:
    return sign_in_environ(environ, provider.issuer, OIDC_TIMEOUT_SECONDS="1", NATIVE_REDIRECT_URIS=APP)


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
        yield session


PARAMS = {"redirect_uri": APP, "code_challenge": CHALLENGE, "code_challenge_method": "S256", "state": "st-9"}


def _app_query(target: str) -> dict[str, str]:
    base, _, query = target.partition("?")
    assert base == APP, target
    return dict(parse_qsl(query))


async def _attempt(api: Api, browser: aiohttp.ClientSession) -> dict[str, str]:
    authorization_url = location(await api.get("/api/login", params=PARAMS))
    return _app_query(location(await back_to_us(api, await redirect_of(browser, "GET", authorization_url))))


async def test_consent_denied(api: Api, provider: DefectiveProvider, browser: aiohttp.ClientSession) -> None:
    provider.deny = True
    query = await _attempt(api, browser)
    assert query["error"] == "access_denied" and query["state"] == "st-9"


async def test_a_failing_token_endpoint(
    api: Api, provider: DefectiveProvider, browser: aiohttp.ClientSession
) -> None:
    provider.failing.add("token")
    query = await _attempt(api, browser)
    assert query["error"] == "temporarily_unavailable" and query["error_code"] == "provider_unavailable"
    assert query["state"] == "st-9" and "code" not in query


async def test_a_forged_id_token(
    api: Api, provider: DefectiveProvider, browser: aiohttp.ClientSession
) -> None:
    provider.algorithm = "none"
    query = await _attempt(api, browser)
    assert query["error"] == "server_error" and query["error_code"] == "invalid_id_token"


async def test_provider_down_at_login(aiohttp_client: Any, environ: dict[str, str]) -> None:
    api = await api_for(aiohttp_client, {**environ, "OIDC_ISSUER": f"http://127.0.0.1:{free_port()}"})

    reply = await api.get("/api/login", params=PARAMS)

    query = _app_query(location(reply))
    assert query["error"] == "temporarily_unavailable" and query["state"] == "st-9"
    assert "Set-Cookie" not in reply.headers
