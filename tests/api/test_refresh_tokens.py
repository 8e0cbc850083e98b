"""Issue 13 parts 1-2: sign-in yields a session's access and refresh tokens; `POST /api/token`
rotates, detects reuse (ending the session), honours the grace window, and answers RFC 6749 errors.
Against the real OIDC provider process; time moves through the sessions' injected clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest

from server.keys import SESSIONS
from tests.api.conftest import Api, store_agnostic
from tests.api.sign_in import api_for, back_to_us, begin, landing, sign_in_environ
from tests.api.test_login import Provider


@pytest.fixture
def environ(environ: dict[str, str], oidc_issuer: str) -> dict[str, str]:
    return sign_in_environ(environ, oidc_issuer)


@pytest.fixture
async def provider(oidc_issuer: str) -> AsyncIterator[Provider]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as browser:
        yield Provider(oidc_issuer, browser)


async def _signed_in(api: Api, provider: Provider) -> dict[str, str]:
    subject = await provider.user()
    redirect = await provider.consent(await begin(api), subject)
    page, fragment = landing(await back_to_us(api, redirect))
    assert "error" not in fragment, fragment
    return fragment


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _refresh(api: Api, refresh_token: str) -> tuple[int, dict[str, object]]:
    reply = await api.post("/api/token", json={"grant_type": "refresh_token", "refresh_token": refresh_token})
    return reply.status, reply.json


def _set_clock(api: Api, moment: datetime) -> None:
    api.app[SESSIONS].clock = lambda: moment


async def test_web_flow_tokens_in_the_fragment(api: Api, provider: Provider) -> None:
    fragment = await _signed_in(api, provider)
    assert set(fragment) == {"access_token", "refresh_token", "expires_in", "token"}
    assert 14 * 60 <= int(fragment["expires_in"]) <= 15 * 60
    for token in (fragment["access_token"], fragment["token"]):
        assert (await api.get("/api/user", headers=_bearer(token))).status == 200


async def test_rotation_and_reuse_ends_the_family(api: Api, provider: Provider) -> None:
    fragment = await _signed_in(api, provider)
    now = datetime.now(timezone.utc)
    _set_clock(api, now)
    status, first = await _refresh(api, fragment["refresh_token"])
    assert status == 200, first
    assert first["token_type"] == "Bearer" and first["refresh_token"] != fragment["refresh_token"]
    _set_clock(api, now + timedelta(seconds=1))
    status, second = await _refresh(api, str(first["refresh_token"]))
    assert status == 200
    assert (await api.get("/api/user", headers=_bearer(str(second["access_token"])))).status == 200

    # The first refresh token was rotated long ago (outside the grace window): theft.
    _set_clock(api, now + timedelta(minutes=5))
    status, error = await _refresh(api, fragment["refresh_token"])
    assert status == 401
    assert error["error"] == "refresh_token_reused" and error["request_id"]
    for token in (fragment["access_token"], first["access_token"], second["access_token"]):
        reply = await api.get("/api/user", headers=_bearer(str(token)))
        assert reply.status == 401 and reply.json["error"]["code"] == "token_revoked"
    status, error = await _refresh(api, str(second["refresh_token"]))
    assert (status, error["error"]) == (400, "invalid_grant"), "the whole family is dead"
    # The legacy standalone token is no part of the session.
    assert (await api.get("/api/user", headers=_bearer(fragment["token"]))).status == 200


async def test_grace_window_returns_the_same_pair(api: Api, provider: Provider) -> None:
    fragment = await _signed_in(api, provider)
    now = datetime.now(timezone.utc)
    _set_clock(api, now)
    status, first = await _refresh(api, fragment["refresh_token"])
    assert status == 200
    _set_clock(api, now + timedelta(seconds=9))
    status, again = await _refresh(api, fragment["refresh_token"])
    assert status == 200
    assert again["refresh_token"] == first["refresh_token"]
    assert (await api.get("/api/user", headers=_bearer(str(again["access_token"])))).status == 200
    # The pair still works: the racing client keeps going.
    status, later = await _refresh(api, str(first["refresh_token"]))
    assert status == 200


@store_agnostic
async def test_grace_zero_turns_it_off(
    aiohttp_client: Any,
    environ: dict[str, str],
    provider: Provider,
) -> None:
    api = await api_for(aiohttp_client, {**environ, "REFRESH_GRACE_SECONDS": "0"})
    fragment = await _signed_in(api, provider)
    assert (await _refresh(api, fragment["refresh_token"]))[0] == 200
    status, error = await _refresh(api, fragment["refresh_token"])
    assert (status, error["error"]) == (401, "refresh_token_reused")


async def test_access_and_refresh_tokens_expire(api: Api, provider: Provider) -> None:
    fragment = await _signed_in(api, provider)
    now = datetime.now(timezone.utc)
    _set_clock(api, now - timedelta(minutes=20))
    status, old = await _refresh(api, fragment["refresh_token"])
    assert status == 200
    reply = await api.get("/api/user", headers=_bearer(str(old["access_token"])))
    assert reply.status == 401 and reply.json["error"]["code"] == "token_expired"

    # Sliding: each refresh extends the session by REFRESH_TOKEN_DAYS from then.
    _set_clock(api, now + timedelta(days=59))
    status, slid = await _refresh(api, str(old["refresh_token"]))
    assert status == 200
    _set_clock(api, now + timedelta(days=59 + 61))
    status, error = await _refresh(api, str(slid["refresh_token"]))
    assert (status, error["error"]) == (400, "invalid_grant")


async def test_forged_truncated_and_other_users_tokens(api: Api, provider: Provider) -> None:
    mine = (await _signed_in(api, provider))["refresh_token"]
    theirs = (await _signed_in(api, provider))["refresh_token"]
    my_session, generation, _ = mine.split(".")
    _, _, their_mac = theirs.split(".")
    for presented in (
        mine[:-1],
        mine[:20],
        mine + "A",
        f"{my_session}.{generation}.{their_mac}",
        f"{my_session}.{int(generation) + 1}.{mine.split('.')[2]}",
        "A" * 43,
        "nonsense",
    ):
        status, error = await _refresh(api, presented)
        assert status == 400 and error["error"] == "invalid_grant", presented
        assert error["error_description"] and error["request_id"]
    assert (await _refresh(api, mine))[0] == 200, "failed attempts do not end the session"


@store_agnostic
async def test_request_errors_are_rfc6749_shaped(api: Api) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"json": {"refresh_token": "x"}}, "invalid_request"),
        ({"json": {"grant_type": "refresh_token"}}, "invalid_request"),
        ({"json": {"grant_type": "password", "refresh_token": "x"}}, "unsupported_grant_type"),
        ({"json": ["not", "an", "object"]}, "invalid_request"),
        ({"data": "garbage", "headers": {"Content-Type": "text/plain"}}, "invalid_request"),
        ({"data": {"grant_type": "refresh_token", "refresh_token": "a.0.b"}}, "invalid_grant"),
    ]
    for kwargs, code in cases:
        reply = await api.post("/api/token", **kwargs)
        assert reply.status == 400, (kwargs, reply.text)
        assert reply.json["error"] == code and reply.json["request_id"] == reply.headers["X-Request-ID"]
        assert reply.headers["Cache-Control"] == "no-store"


async def test_a_deleted_accounts_refresh_token_is_dead(api: Api, provider: Provider) -> None:
    fragment = await _signed_in(api, provider)
    assert (await api.delete("/api/user", headers=_bearer(fragment["access_token"]))).status == 204

    status, error = await _refresh(api, fragment["refresh_token"])

    assert status == 400 and error["error"] == "invalid_grant"
