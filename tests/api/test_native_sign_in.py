"""Issue 13 part 3: native apps sign in with the system browser (RFC 8252) and PKCE (RFC 7636).

`/api/login?redirect_uri=…&code_challenge=…` → the real OIDC provider process → `/api/callback` →
a redirect to the app with a one-time authorization code and the app's `state` → `POST /api/token`
(`grant_type=authorization_code`). Time moves through the sessions' injected clock."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import socket
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
from aiohttp import web

from handlers.login import MAX_APP_STATE_LENGTH, MAX_PENDING_ATTEMPTS
from server.keys import SESSIONS
from server.native_redirects import MAX_REDIRECT_URI_LENGTH
from server.sessions import COOKIE_NAME
from tests.api.conftest import FRONTEND, Api, store_agnostic
from tests.api.sign_in import authorization_parameters, back_to_us, location, sign_in_environ
from tests.api.test_login import Provider
from tests.realtime.wsclient import TIMEOUT, WsClient

APP = "com.example.app:/oauth"
LOOPBACK = "http://127.0.0.1/oauth/done"
CLAIMED = "https://app.example.com/native/callback?via=link"
LONG_LOOPBACK = "http://127.0.0.1/" + "p" * (MAX_REDIRECT_URI_LENGTH - len("http://127.0.0.1/"))


@pytest.fixture
def environ(environ: dict[str, str], oidc_issuer: str) -> dict[str, str]:
    allowed = f"{APP}, {LOOPBACK} {CLAIMED},{LONG_LOOPBACK}"
    return sign_in_environ(environ, oidc_issuer, NATIVE_REDIRECT_URIS=allowed)


@pytest.fixture
async def provider(oidc_issuer: str) -> AsyncIterator[Provider]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as browser:
        yield Provider(oidc_issuer, browser)


class Pkce:
    """One app's PKCE pair, as an app makes it."""

    def __init__(self) -> None:
        self.verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(self.verifier.encode()).digest()
        self.challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _login_params(redirect_uri: str, pkce: Pkce, state: str = "app-state-1", **extra: str) -> dict[str, str]:
    return {
        "redirect_uri": redirect_uri,
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "state": state,
        **extra,
    }


def _split(target: str) -> tuple[str, dict[str, str]]:
    """A redirect to the app: the URI before the query's `?`, and the query's parameters."""
    assert "#" not in target, "a code travels in the query, not the fragment"
    base, _, query = target.partition("?")
    return base, dict(parse_qsl(query, keep_blank_values=True))


async def _authorize(api: Api, provider: Provider, redirect_uri: str, pkce: Pkce, state: str = "s1") -> str:
    """The browser's part: login, consent, callback; where the callback sends it (the app)."""
    subject = await provider.user()
    reply = await api.get("/api/login", params=_login_params(redirect_uri, pkce, state))
    redirect = await provider.consent(location(reply), subject)
    return location(await back_to_us(api, redirect))


async def _redeem(api: Api, code: str, redirect_uri: str, verifier: str, **extra: Any) -> tuple[int, Any]:
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
        **extra,
    }
    reply = await api.post("/api/token", json=body, headers={"User-Agent": "SplitApp/2.0 (iOS)"})
    assert reply.headers["Cache-Control"] == "no-store"
    return reply.status, reply.json


async def _issued(api: Api, provider: Provider, redirect_uri: str = APP) -> tuple[Pkce, str]:
    pkce = Pkce()
    _, parameters = _split(await _authorize(api, provider, redirect_uri, pkce))
    return pkce, parameters["code"]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _set_clock(api: Api, moment: datetime) -> None:
    api.app[SESSIONS].clock = lambda: moment


async def test_custom_scheme_end_to_end(api: Api, provider: Provider) -> None:
    pkce = Pkce()

    target = await _authorize(api, provider, APP, pkce, state="xyz-123")

    base, parameters = _split(target)
    assert base == APP
    assert set(parameters) == {"code", "state"} and parameters["state"] == "xyz-123"
    assert len(parameters["code"]) == 43
    status, tokens = await _redeem(api, parameters["code"], APP, pkce.verifier, client_id="ignored")
    assert status == 200, tokens
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert tokens["token_type"] == "Bearer" and 14 * 60 <= tokens["expires_in"] <= 15 * 60
    me = await api.get("/api/user", headers=_bearer(tokens["access_token"]))
    assert me.status == 200 and me.json["email"].startswith("sub-")
    sessions = await api.get("/api/user/sessions", headers=_bearer(tokens["access_token"]))
    [current] = [s for s in sessions.json["items"] if s["current"]]
    assert current["user_agent"] == "SplitApp/2.0 (iOS)", "the token request's, not the browser's"

    refreshed = await api.post(
        "/api/token", json={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status == 200 and refreshed.json["refresh_token"] != tokens["refresh_token"]
    again = await api.post(
        "/api/token", json={"grant_type": "refresh_token", "refresh_token": refreshed.json["refresh_token"]}
    )
    assert again.status == 200


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@store_agnostic
async def test_loopback_with_a_real_listener(api: Api, provider: Provider) -> None:
    """The app listens on 127.0.0.1 on a port it got just now; the system browser follows our
    redirect there; the app redeems the code with that port in its redirect URI."""
    received: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()

    async def app_listener(request: web.Request) -> web.Response:
        received.set_result(dict(request.query))
        return web.Response(text="Signed in: you can close this window.")

    listener = web.Application()
    listener.router.add_get("/oauth/done", app_listener)
    runner = web.AppRunner(listener)
    await runner.setup()
    port = _free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        redirect_uri = f"http://127.0.0.1:{port}/oauth/done"
        pkce = Pkce()
        target = await _authorize(api, provider, redirect_uri, pkce, state="loop")
        assert target.startswith(redirect_uri + "?")
        async with aiohttp.ClientSession() as system_browser, system_browser.get(target) as page:
            assert page.status == 200 and "close this window" in await page.text()
        query = await asyncio.wait_for(received, timeout=10)
    finally:
        await runner.cleanup()
    assert query["state"] == "loop"

    other_port = f"http://127.0.0.1:{port + 1 if port < 65535 else port - 1}/oauth/done"
    status, error = await _redeem(api, query["code"], other_port, pkce.verifier)
    assert (status, error["error"]) == (400, "invalid_grant"), "bound to the port it was sent to"
    # That attempt burned the code (a compare-and-set before any check): the right port is too late.
    status, error = await _redeem(api, query["code"], redirect_uri, pkce.verifier)
    assert (status, error["error"]) == (400, "invalid_grant")

    pkce = Pkce()
    _, parameters = _split(await _authorize(api, provider, redirect_uri, pkce))
    status, tokens = await _redeem(api, parameters["code"], redirect_uri, pkce.verifier)
    assert status == 200, tokens
    assert (await api.get("/api/user", headers=_bearer(tokens["access_token"]))).status == 200


@store_agnostic
async def test_claimed_https_link_keeps_its_query(api: Api, provider: Provider) -> None:
    pkce = Pkce()
    target = await _authorize(api, provider, CLAIMED, pkce, state="https-1")
    assert target.startswith(CLAIMED + "&code=")
    parts = urlsplit(target)
    parameters = dict(parse_qsl(parts.query))
    assert parameters["via"] == "link" and parameters["state"] == "https-1"
    assert (await _redeem(api, parameters["code"], CLAIMED, pkce.verifier))[0] == 200


async def test_wrong_verifier_burns_the_code(api: Api, provider: Provider) -> None:
    pkce, code = await _issued(api, provider)

    status, error = await _redeem(api, code, APP, Pkce().verifier)
    assert (status, error["error"]) == (400, "invalid_grant")
    assert "verifier" in error["error_description"] and error["request_id"]

    status, error = await _redeem(api, code, APP, pkce.verifier)
    assert (status, error["error"]) == (400, "invalid_grant"), "spent by the failed attempt"


@store_agnostic
async def test_malformed_verifier(api: Api, provider: Provider) -> None:
    pkce, code = await _issued(api, provider)
    status, error = await _redeem(api, code, APP, "short")
    assert (status, error["error"]) == (400, "invalid_grant")


async def test_a_reused_code_ends_the_session_it_made(api: Api, provider: Provider) -> None:
    pkce, code = await _issued(api, provider)
    status, tokens = await _redeem(api, code, APP, pkce.verifier)
    assert status == 200
    assert (await api.get("/api/user", headers=_bearer(tokens["access_token"]))).status == 200
    ticket = await api.post("/api/ws/ticket", headers=_bearer(tokens["access_token"]))
    assert ticket.status == 201, ticket.text
    ws = await api.client.ws_connect(f"/api/ws?ticket={ticket.json['ticket']}")
    assert (await WsClient(ws).receive())["type"] == "welcome"

    status, error = await _redeem(api, code, APP, pkce.verifier)

    assert (status, error["error"]) == (400, "invalid_grant")
    assert "already used" in error["error_description"]
    reply = await api.get("/api/user", headers=_bearer(tokens["access_token"]))
    assert reply.status == 401 and reply.json["error"]["code"] == "token_revoked"
    refreshed = await api.post(
        "/api/token", json={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert (refreshed.status, refreshed.json["error"]) == (400, "invalid_grant")
    for _ in range(10):
        message = await ws.receive(timeout=TIMEOUT)
        if message.type != aiohttp.WSMsgType.TEXT:
            break
    assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 4001, "its socket is closed"


async def test_other_redirect_uri(api: Api, provider: Provider) -> None:
    pkce, code = await _issued(api, provider)
    for other in (CLAIMED, APP + "/", "com.example.other:/oauth"):
        status, error = await _redeem(api, code, other, pkce.verifier)
        assert (status, error["error"]) == (400, "invalid_grant"), other


async def test_an_expired_code(api: Api, provider: Provider) -> None:
    now = datetime.now(timezone.utc)
    _set_clock(api, now)
    pkce, code = await _issued(api, provider)
    _set_clock(api, now + timedelta(seconds=60))

    status, error = await _redeem(api, code, APP, pkce.verifier)

    assert (status, error["error"]) == (400, "invalid_grant")
    assert "expired" in error["error_description"]


async def test_just_before_expiry_it_still_works(api: Api, provider: Provider) -> None:
    now = datetime.now(timezone.utc)
    _set_clock(api, now)
    pkce, code = await _issued(api, provider)
    _set_clock(api, now + timedelta(seconds=59))
    assert (await _redeem(api, code, APP, pkce.verifier))[0] == 200


@store_agnostic
async def test_unknown_and_garbage_codes(api: Api) -> None:
    verifier = Pkce().verifier
    for code in (secrets.token_urlsafe(32), "garbage", "A" * 44, "é" * 43, "a.0.b"):
        status, error = await _redeem(api, code, APP, verifier)
        assert (status, error["error"]) == (400, "invalid_grant"), code
        assert error["error_description"] and error["request_id"]


@store_agnostic
async def test_missing_parameters_and_other_grants(api: Api) -> None:
    full = {
        "grant_type": "authorization_code",
        "code": "c" * 43,
        "redirect_uri": APP,
        "code_verifier": "v" * 43,
    }
    for missing in ("code", "redirect_uri", "code_verifier"):
        for body in (
            {k: v for k, v in full.items() if k != missing},
            {**full, missing: ""},
            {**full, missing: 7},
        ):
            reply = await api.post("/api/token", json=body)
            assert (reply.status, reply.json["error"]) == (400, "invalid_request"), body
            assert missing in reply.json["error_description"]
    form = await api.post("/api/token", data={k: v for k, v in full.items() if k != "code"})
    assert (form.status, form.json["error"]) == (400, "invalid_request")
    for grant in ("password", "client_credentials", "implicit"):
        reply = await api.post("/api/token", json={**full, "grant_type": grant})
        assert (reply.status, reply.json["error"]) == (400, "unsupported_grant_type")


async def test_form_encoded_redemption(api: Api, provider: Provider) -> None:
    pkce, code = await _issued(api, provider)
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": APP,
        "code_verifier": pkce.verifier,
    }
    reply = await api.post("/api/token", data=body)
    assert reply.status == 200, reply.text


@store_agnostic
@pytest.mark.parametrize(
    "redirect_uri",
    [
        "com.example.evil:/oauth",
        "http://localhost:5555/oauth/done",
        "http://127.0.0.1:5555/other",
        "https://app.example.com/native/callback",
        "https://evil.example/",
        "",
    ],
)
async def test_an_unlisted_redirect_uri_is_never_redirected_to(api: Api, redirect_uri: str) -> None:
    reply = await api.get("/api/login", params=_login_params(redirect_uri, Pkce()))

    assert reply.status == 400
    assert reply.error["code"] == "invalid_redirect"
    assert "Location" not in reply.headers and "Set-Cookie" not in reply.headers


@store_agnostic
async def test_next_with_redirect_uri_is_refused(api: Api) -> None:
    reply = await api.get("/api/login", params=_login_params(APP, Pkce(), next="/groups"))
    assert reply.status == 400 and reply.error["code"] == "invalid_redirect"


@store_agnostic
@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"code_challenge_method": "plain"}, "S256"),
        ({"code_challenge_method": ""}, "S256"),
        ({"code_challenge": ""}, "required"),
        ({"code_challenge": "too-short"}, "43-128"),
        ({"code_challenge": "a" * 129}, "43-128"),
        ({"code_challenge": "a" * 42 + "!"}, "43-128"),
    ],
)
async def test_a_bad_pkce_request_goes_back_to_the_app(
    api: Api, change: dict[str, str], fragment: str
) -> None:
    params = {**_login_params(APP, Pkce(), state="keep-me"), **change}

    reply = await api.get("/api/login", params=params)

    base, parameters = _split(location(reply))
    assert base == APP
    assert parameters["error"] == "invalid_request" and parameters["state"] == "keep-me"
    assert fragment in parameters["error_description"]
    assert "Set-Cookie" not in reply.headers, "no attempt was started"


@store_agnostic
async def test_no_method_at_all_is_refused_too(api: Api) -> None:
    params = {k: v for k, v in _login_params(APP, Pkce()).items() if k != "code_challenge_method"}
    _, parameters = _split(location(await api.get("/api/login", params=params)))
    assert parameters["error"] == "invalid_request"


@store_agnostic
async def test_without_state_the_error_has_none(api: Api) -> None:
    params = {k: v for k, v in _login_params(APP, Pkce()).items() if k != "state"}
    params["code_challenge_method"] = "plain"
    _, parameters = _split(location(await api.get("/api/login", params=params)))
    assert parameters["error"] == "invalid_request" and "state" not in parameters


@store_agnostic
async def test_provider_denial_goes_back_to_the_app(api: Api, provider: Provider) -> None:
    """This provider leaves `state` out of its denial; with the app's attempt the only one pending,
    the app hears it (see test_native_sign_in_defects.py for a provider that sends it)."""
    reply = await api.get("/api/login", params=_login_params(APP, Pkce(), state="denied-1"))
    redirect = await provider.deny(location(reply))
    assert "state=" not in redirect

    base, parameters = _split(location(await back_to_us(api, redirect)))

    assert base == APP
    assert parameters["error"] == "access_denied" and parameters["state"] == "denied-1"
    assert parameters["error_description"] and "code" not in parameters


@store_agnostic
async def test_a_failed_exchange_goes_back_to_the_app_as_server_error(api: Api, provider: Provider) -> None:
    """The provider refuses our code exchange (a tampered code): the app hears `server_error`,
    with our own reason beside it."""
    reply = await api.get("/api/login", params=_login_params(APP, Pkce(), state="broken"))
    redirect = await provider.consent(location(reply), await provider.user())
    tampered = redirect.replace("code=", "code=x")

    _, parameters = _split(location(await back_to_us(api, tampered)))

    assert parameters["error"] == "server_error" and parameters["error_code"] == "provider_error"
    assert parameters["state"] == "broken"


@store_agnostic
async def test_an_unknown_attempt_lands_on_the_frontend(api: Api, provider: Provider) -> None:
    reply = await api.get("/api/login", params=_login_params(APP, Pkce()))
    redirect = await provider.consent(location(reply), await provider.user())

    target = location(await back_to_us(api, redirect.replace("state=", "state=x")))

    assert target.startswith(FRONTEND + "/#error=invalid_state")


@store_agnostic
async def test_native_attempts_at_their_longest_fit_the_cookie(api: Api, provider: Provider) -> None:
    """MAX_PENDING_ATTEMPTS native attempts, each with the longest redirect URI, challenge and
    state: the cookie stays under what a browser keeps, and every one of them completes."""
    longest = LONG_LOOPBACK.replace("127.0.0.1/", "127.0.0.1:65535/")
    pkce = Pkce()
    challenge = pkce.challenge + "~" * (128 - len(pkce.challenge))
    state = "s" * MAX_APP_STATE_LENGTH
    urls = []
    for _ in range(MAX_PENDING_ATTEMPTS):
        params = {**_login_params(longest, pkce, state=state), "code_challenge": challenge}
        reply = await api.get("/api/login", params=params)
        urls.append(location(reply))
        # What the browser is asked to keep (a jar may silently keep the older cookie instead).
        cookie = SimpleCookie(reply.headers["Set-Cookie"])[COOKIE_NAME]
        assert len(COOKIE_NAME) + 1 + len(cookie.value) < 4000, len(cookie.value)

    for url in urls:
        _, parameters = _split(
            location(await back_to_us(api, await provider.consent(url, await provider.user())))
        )
        assert parameters["state"] == state and "code" in parameters, "all three were kept"


@store_agnostic
async def test_a_state_beyond_the_cap_is_refused(api: Api) -> None:
    reply = await api.get(
        "/api/login", params=_login_params(APP, Pkce(), state="s" * (MAX_APP_STATE_LENGTH + 1))
    )
    assert reply.status == 422


@store_agnostic
async def test_a_state_beyond_printable_ascii_is_refused(api: Api) -> None:
    """Escaped in the cookie, a few hundred emoji would outgrow the 4 KB a browser keeps."""
    reply = await api.get("/api/login", params=_login_params(APP, Pkce(), state="😀" * 100))
    assert reply.status == 422


@store_agnostic
async def test_native_sign_in_always_asks_the_person(api: Api) -> None:
    """RFC 8252 §8.6: any local app can start one, so the provider must not approve it silently."""
    native = authorization_parameters(
        location(await api.get("/api/login", params=_login_params(APP, Pkce())))
    )
    web_flow = authorization_parameters(location(await api.get("/api/login")))
    assert native["prompt"] == "consent"
    assert "prompt" not in web_flow
