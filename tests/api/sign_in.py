"""Driving the sign-in flow the way a browser would: our app, then the provider, then back."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.config import load_config
from tests.api.conftest import FRONTEND, Api, OpenApi, Reply

CLIENT_ID = "expense-tracker-test-client"
CLIENT_SECRET = "expense-tracker-test-secret"
CALLBACK = "http://backend.example/api/callback"
"""What the provider is told to redirect to; the tests carry the browser there themselves."""


def sign_in_environ(environ: dict[str, str], issuer: str, **extra: str) -> dict[str, str]:
    return {
        **environ,
        "GOOGLE_CLIENT_ID": CLIENT_ID,
        "GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_ISSUER": issuer,
        "BACKEND_CALLBACK_URL": CALLBACK,
        **extra,
    }


async def api_for(aiohttp_client: Any, environ: dict[str, str]) -> Api:
    """Another app on the same store, configured from `environ`, checked like the `api` fixture."""
    config = load_config(environ, read_dotenv=False)
    client: TestClient[web.Request, web.Application] = await aiohttp_client(create_app(config))
    async with client.get("/api/openapi.json") as response:
        assert response.status == 200
        document = await response.json()
    return Api(client, config, OpenApi(document))


def location(reply: Reply) -> str:
    assert reply.status == 302, f"expected a redirect, got {reply.status}: {reply.text[:300]}"
    assert reply.headers["Referrer-Policy"] == "no-referrer"
    assert reply.headers["Cache-Control"] == "no-store"
    target: str = reply.headers["Location"]
    return target


def landing(reply: Reply) -> tuple[str, dict[str, str]]:
    """Where in the frontend a redirect lands, and its fragment's parameters."""
    target = location(reply)
    assert target.startswith(FRONTEND + "/"), target
    page, _, fragment = target.partition("#")
    return page, dict(parse_qsl(fragment))


def sign_in_error(reply: Reply) -> tuple[str, str]:
    """The `#error` and `#error_description` a failed sign-in lands with."""
    page, fragment = landing(reply)
    assert page == FRONTEND + "/"
    assert "token" not in fragment, fragment
    return fragment["error"], fragment.get("error_description", "")


async def begin(api: Api, next_path: str | None = None) -> str:
    """`GET /api/login`; the provider's authorization URL it sends the browser to."""
    reply = await api.get("/api/login", params={"next": next_path} if next_path else None)
    return location(reply)


def authorization_parameters(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


async def back_to_us(api: Api, redirect: str) -> Reply:
    """Carry the provider's redirect to our callback."""
    assert redirect.startswith(CALLBACK + "?"), redirect
    return await api.get("/api/callback?" + urlsplit(redirect).query)


async def redirect_of(browser: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> str:
    async with browser.request(method, url, allow_redirects=False, **kwargs) as response:
        body = await response.text()
        assert response.status in (302, 303), f"{method} {url} -> {response.status}: {body[:300]}"
        return response.headers["Location"]
