"""Signing in against a real OpenID Connect provider: oidc-provider-mock in its own process.

The test plays the browser: `GET /api/login`, the provider's authorization form (driven over HTTP),
then our callback with whatever the provider redirected to. The mock signs whatever claims a user is
given, so most defective ID tokens come from it too: a user whose claims override `aud`, `iss` or
`exp` gets a properly signed token with exactly that defect.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp
import pytest

from server.sessions import COOKIE_NAME
from tests.api.conftest import FRONTEND, Api, AppFactory, store_agnostic
from tests.api.sign_in import (
    CALLBACK,
    CLIENT_ID,
    api_for,
    authorization_parameters,
    back_to_us,
    begin,
    landing,
    location,
    redirect_of,
    sign_in_environ,
    sign_in_error,
)


@pytest.fixture
def environ(environ: dict[str, str], oidc_issuer: str) -> dict[str, str]:
    return sign_in_environ(environ, oidc_issuer)


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    """The browser's side of talking to the provider."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
        yield session


class Provider:
    """The running oidc-provider-mock, as a test sees it."""

    def __init__(self, issuer: str, browser: aiohttp.ClientSession) -> None:
        self.issuer = issuer
        self.browser = browser

    async def user(self, **claims: Any) -> str:
        """A new user at the provider (a fresh subject), with a verified e-mail unless told."""
        subject = f"sub-{uuid.uuid4().hex[:12]}"
        claims = {
            "email": f"{subject}@example.org",
            "email_verified": True,
            "name": "Pat Provider",
            "picture": "https://example.org/pat.png",
            **claims,
        }
        await self.set_claims(subject, claims)
        return subject

    async def set_claims(self, subject: str, claims: dict[str, Any]) -> None:
        async with self.browser.put(f"{self.issuer}/users/{subject}", json=claims) as response:
            assert response.status == 204, await response.text()

    async def consent(self, authorization_url: str, subject: str) -> str:
        """Show the authorization form, sign in as `subject`; the redirect back to us."""
        async with self.browser.get(authorization_url) as response:
            page = await response.text()
            assert response.status == 200, page[:500]
            assert 'name="sub"' in page
        return await redirect_of(self.browser, "POST", authorization_url, data={"sub": subject})

    async def deny(self, authorization_url: str) -> str:
        return await redirect_of(self.browser, "POST", authorization_url, data={"action": "deny"})


@pytest.fixture
def provider(oidc_issuer: str, browser: aiohttp.ClientSession) -> Provider:
    return Provider(oidc_issuer, browser)


async def sign_in(api: Api, provider: Provider, subject: str, next_path: str | None = None) -> str:
    """The whole flow; the token the frontend receives."""
    redirect = await provider.consent(await begin(api, next_path), subject)
    page, fragment = landing(await back_to_us(api, redirect))
    assert "error" not in fragment, fragment
    return fragment["token"]


async def test_sign_in_end_to_end(api: Api, provider: Provider) -> None:
    subject = await provider.user(name="Robin Example", picture="https://example.org/robin.png")

    reply = await api.get("/api/login")

    authorization_url = location(reply)
    assert authorization_url.startswith(f"{provider.issuer}/oauth2/authorize?")
    parameters = authorization_parameters(authorization_url)
    assert parameters["response_type"] == "code"
    assert parameters["client_id"] == CLIENT_ID
    assert parameters["redirect_uri"] == CALLBACK
    assert parameters["scope"] == "openid email profile"
    assert parameters["code_challenge_method"] == "S256"
    assert len(parameters["code_challenge"]) == 43
    assert len(parameters["state"]) >= 32 and len(parameters["nonce"]) >= 32
    cookie = SimpleCookie(reply.headers["Set-Cookie"])[COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/api/"
    assert not cookie["secure"]  # development; see tests/server/test_sessions.py for production
    assert parameters["state"] not in cookie.value and parameters["nonce"] not in cookie.value

    redirect = await provider.consent(authorization_url, subject)
    callback = await back_to_us(api, redirect)

    page, fragment = landing(callback)
    assert page == FRONTEND + "/"
    assert set(fragment) == {"access_token", "refresh_token", "expires_in", "token"}
    auth = {"Authorization": f"Bearer {fragment['token']}"}
    me = await api.get("/api/user", headers=auth)
    assert me.status == 200
    assert me.json["email"] == f"{subject}@example.org"
    assert me.json["name"] == "Robin Example"
    assert me.json["picture"] == "https://example.org/robin.png"
    assert (await api.post("/api/logout", headers=auth)).status == 204
    assert (await api.get("/api/user", headers=auth)).status == 401


@store_agnostic
async def test_every_attempt_has_its_own_secrets(api: Api) -> None:
    first = authorization_parameters(await begin(api))
    second = authorization_parameters(await begin(api))

    for name in ("state", "nonce", "code_challenge"):
        assert first[name] != second[name]


async def test_signing_in_again_finds_the_same_user_and_refreshes_the_profile(
    api: Api, provider: Provider
) -> None:
    subject = await provider.user(name="Old Name")
    first = await sign_in(api, provider, subject)
    await provider.set_claims(
        subject,
        {
            "email": f"{subject}@example.org",
            "email_verified": True,
            "name": "New Name",
        },
    )

    second = await sign_in(api, provider, subject)

    one = await api.get("/api/user", headers={"Authorization": f"Bearer {first}"})
    two = await api.get("/api/user", headers={"Authorization": f"Bearer {second}"})
    assert one.json["id"] == two.json["id"]
    assert two.json["name"] == "New Name"


async def test_an_account_made_earlier_by_email_is_linked(api: Api, provider: Provider) -> None:
    """E.g. by `expense-tracker token EMAIL` or an invite, before its owner ever signed in."""
    existing = await api.store.ensure_user("linked@example.org", "Linked Person")
    subject = await provider.user(email="Linked@Example.org")

    token = await sign_in(api, provider, subject)

    me = await api.get("/api/user", headers={"Authorization": f"Bearer {token}"})
    assert me.json["id"] == existing.id
    again = await sign_in(api, provider, subject)
    me = await api.get("/api/user", headers={"Authorization": f"Bearer {again}"})
    assert me.json["id"] == existing.id


@store_agnostic
async def test_the_post_login_path_is_where_the_frontend_lands(api: Api, provider: Provider) -> None:
    subject = await provider.user()
    redirect = await provider.consent(await begin(api, "/groups/g1?tab=balances"), subject)

    page, fragment = landing(await back_to_us(api, redirect))

    assert page == FRONTEND + "/groups/g1?tab=balances"
    assert set(fragment) == {"access_token", "refresh_token", "expires_in", "token"}


@store_agnostic
@pytest.mark.parametrize(
    "next_path",
    [
        "https://evil.example/",
        "//evil.example/groups",
        "/\\evil.example",
        "\\\\evil.example",
        "http://frontend.example@evil.example/",
        "http://frontend.example.evil.example/",
        "https://frontend.example/",
        "javascript:alert(1)",
        "/%2e%2e/elsewhere",
        "/groups#token=planted",
        "/groups\r\nSet-Cookie: x=1",
    ],
)
async def test_a_post_login_path_outside_the_frontend_is_refused(api: Api, next_path: str) -> None:
    reply = await api.get("/api/login", params={"next": next_path})

    assert reply.status == 400
    assert reply.error["code"] == "invalid_redirect"
    assert "Set-Cookie" not in reply.headers


@store_agnostic
async def test_consent_denied(api: Api, provider: Provider) -> None:
    redirect = await provider.deny(await begin(api))

    assert sign_in_error(await back_to_us(api, redirect))[0] == "access_denied"


@store_agnostic
async def test_missing_state(api: Api, provider: Provider) -> None:
    redirect = await provider.consent(await begin(api), await provider.user())
    parts = urlsplit(redirect)
    without_state = "&".join(p for p in parts.query.split("&") if not p.startswith("state="))

    reply = await back_to_us(api, urlunsplit(parts._replace(query=without_state)))

    assert sign_in_error(reply)[0] == "invalid_state"


@store_agnostic
async def test_mismatched_state(api: Api, provider: Provider) -> None:
    redirect = await provider.consent(await begin(api), await provider.user())

    reply = await back_to_us(api, redirect.replace("state=", "state=x"))

    assert sign_in_error(reply)[0] == "invalid_state"


@store_agnostic
async def test_replayed_state(api: Api, provider: Provider) -> None:
    redirect = await provider.consent(await begin(api), await provider.user())
    assert "token" in landing(await back_to_us(api, redirect))[1]

    replay = await back_to_us(api, redirect)

    assert sign_in_error(replay)[0] == "invalid_state"


@store_agnostic
async def test_state_from_another_browser(api: Api, make_api: AppFactory, provider: Provider) -> None:
    """Login CSRF: a victim's browser is sent to our callback with the attacker's code and state."""
    attacker_redirect = await provider.consent(await begin(api), await provider.user())
    victim = await make_api()

    reply = await back_to_us(victim, attacker_redirect)

    assert sign_in_error(reply)[0] == "invalid_state"


@store_agnostic
async def test_replayed_code(api: Api, provider: Provider) -> None:
    """A used code, carried in with a fresh, valid state: the provider refuses it."""
    used = await provider.consent(await begin(api), await provider.user())
    assert "token" in landing(await back_to_us(api, used))[1]
    fresh_state = authorization_parameters(await begin(api))["state"]
    code = dict(p.split("=", 1) for p in urlsplit(used).query.split("&"))["code"]

    reply = await back_to_us(api, f"{CALLBACK}?{urlencode({'code': code, 'state': fresh_state})}")

    error, description = sign_in_error(reply)
    assert error == "provider_error"
    assert "invalid_grant" in description


@store_agnostic
async def test_wrong_nonce(api: Api, provider: Provider) -> None:
    """The provider is asked for a nonce other than the one this attempt keeps."""
    authorization_url = await begin(api)
    parameters = authorization_parameters(authorization_url)
    parameters["nonce"] = "planted-" + parameters["nonce"][8:]
    tampered = authorization_url.split("?")[0] + "?" + urlencode(parameters)

    reply = await back_to_us(api, await provider.consent(tampered, await provider.user()))

    error, description = sign_in_error(reply)
    assert error == "invalid_id_token"
    assert "nonce" in description


@store_agnostic
@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "another-client"}, "another audience"),
        ({"aud": ["another-client"]}, "another audience"),
        ({"aud": [CLIENT_ID, "another-client"], "azp": "another-client"}, "another party"),
        ({"iss": "https://evil.example"}, "another issuer"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired"),
        ({"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200}, "not yet valid"),
    ],
    ids=[
        "wrong-audience",
        "wrong-audience-list",
        "wrong-azp",
        "wrong-issuer",
        "expired",
        "issued-in-the-future",
    ],
)
async def test_defective_id_token(api: Api, provider: Provider, claims: dict[str, Any], reason: str) -> None:
    subject = await provider.user(**claims)

    reply = await back_to_us(api, await provider.consent(await begin(api), subject))

    error, description = sign_in_error(reply)
    assert error == "invalid_id_token"
    assert reason in description


@store_agnostic
@pytest.mark.parametrize("verified", [False, "false", None])
async def test_unverified_email(api: Api, provider: Provider, verified: object) -> None:
    subject = await provider.user(email_verified=verified)

    reply = await back_to_us(api, await provider.consent(await begin(api), subject))

    assert sign_in_error(reply)[0] == "email_not_verified"
    assert await api.store.find_user_by_email(f"{subject}@example.org") is None


@store_agnostic
async def test_not_configured(aiohttp_client: Any, environ: dict[str, str]) -> None:
    unconfigured = await api_for(aiohttp_client, {**environ, "GOOGLE_CLIENT_ID": ""})

    for path in ("/api/login", "/api/callback?code=c&state=s"):
        reply = await unconfigured.get(path)
        assert reply.status == 503
        assert reply.error["code"] == "sign_in_not_configured"


@store_agnostic
async def test_user_and_logout_still_need_a_token(api: Api) -> None:
    assert (await api.get("/api/user")).status == 401
    assert (await api.post("/api/logout")).status == 401


@store_agnostic
async def test_a_few_attempts_can_be_pending_side_by_side(api: Api, provider: Provider) -> None:
    """Two tabs signing in at once: both complete, each with its own landing page; the cookie
    stays small enough for a browser even with long `next` paths."""
    long_path = "/groups/" + "g" * 490
    first = await begin(api, "/first")
    second = await begin(api, long_path)
    await begin(api, long_path)
    cookie = api.client.session.cookie_jar.filter_cookies(api.client.make_url("/api/"))
    assert len(cookie[COOKIE_NAME].value) < 4000

    for url, page in [(second, long_path), (first, "/first")]:
        redirect = await provider.consent(url, await provider.user())
        assert landing(await back_to_us(api, redirect))[0] == FRONTEND + page


async def test_an_email_already_linked_to_another_account_at_the_provider(
    api: Api, provider: Provider
) -> None:
    """Two provider accounts claiming one address: the first keeps it, the second is refused."""
    first = await provider.user(email="shared@example.org")
    second = await provider.user(email="shared@example.org")
    await sign_in(api, provider, first)

    reply = await back_to_us(api, await provider.consent(await begin(api), second))

    assert sign_in_error(reply)[0] == "account_conflict"
