"""The built web app at /app/ (server.webapp), and signing in from it (it is a landing base)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.webapp import CONTENT_SECURITY_POLICY
from tests.api.conftest import FRONTEND, Api, store_agnostic
from tests.api.sign_in import api_for, back_to_us, begin, landing, location, sign_in_environ, sign_in_error
from tests.api.test_login import Provider, provider  # noqa: F401 - fixtures
from tests.api.test_login import browser as browser  # noqa: F401 - fixture

APP = "http://backend.example/app"
"""Where the app is served: the origin of BACKEND_CALLBACK_URL (CALLBACK), then /app."""

pytestmark = store_agnostic


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>app</title>")
    (root / "assets" / "index-3f2a.js").write_text("console.log(1)")
    (root / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("not for the web")
    return root


@pytest.fixture
def environ(environ: dict[str, str], oidc_issuer: str, dist: Path) -> dict[str, str]:
    return sign_in_environ(environ, oidc_issuer, WEB_APP_DIR=str(dist))


async def test_the_app_is_served_with_its_pages_falling_back_to_index(api: Api) -> None:
    page = await api.get("/app/groups/g1")
    assert page.status == 200 and page.text.startswith("<!doctype html>")
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["Cache-Control"] == "no-cache"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert (await api.get("/app/")).text == page.text
    assert (await api.get("/app/invite/tok-1")).text == page.text

    bundle = await api.get("/app/assets/index-3f2a.js")
    assert bundle.status == 200 and bundle.text == "console.log(1)"
    assert "immutable" in bundle.headers["Cache-Control"]
    icon = await api.get("/app/favicon.svg")
    assert icon.status == 200 and icon.headers["Cache-Control"] == "no-cache"


async def test_app_without_a_slash_and_the_root_lead_to_the_app(api: Api) -> None:
    reply = await api.get("/app")
    assert reply.status == 308 and reply.headers["Location"] == "/app/"
    root = await api.get("/")
    assert root.status == 302 and root.headers["Location"] == "/app/"


@pytest.mark.parametrize(
    "path",
    [
        "/app/assets/index-gone.js",
        "/app/../secret.txt",
        "/app/%2e%2e/secret.txt",
        "/app/assets/../../secret.txt",
    ],
)
async def test_missing_files_and_escapes_are_404(api: Api, path: str) -> None:
    reply = await api.get(path)
    assert reply.status == 404, reply.text
    assert "not for the web" not in reply.text


async def test_without_a_built_app_there_is_no_app(
    aiohttp_client: Any, environ: dict[str, str], dist: Path
) -> None:
    (dist / "index.html").unlink()

    api = await api_for(aiohttp_client, environ)

    assert api.config.web_app_dir is None and api.config.landing_bases == (FRONTEND,)
    assert (await api.get("/app/")).status == 404
    assert (await api.get("/")).status == 404
    reply = await api.get("/api/login", params={"next": f"{APP}/"})
    assert reply.status == 400 and reply.error["code"] == "invalid_redirect"


async def test_sign_in_from_the_app_lands_back_on_it(api: Api, provider: Provider) -> None:  # noqa: F811
    subject = await provider.user()
    redirect = await provider.consent(await begin(api, f"{APP}/invite/tok-1"), subject)

    target = location(await back_to_us(api, redirect))

    page, _, fragment = target.partition("#")
    assert page == f"{APP}/invite/tok-1"
    assert "access_token=" in fragment


async def test_a_failed_sign_in_from_the_app_returns_to_it(api: Api, provider: Provider) -> None:  # noqa: F811
    redirect = await provider.deny(await begin(api, f"{APP}/"))

    target = location(await back_to_us(api, redirect))

    assert target.startswith(f"{APP}/#error=access_denied"), target


async def test_the_frontend_stays_the_default_landing(api: Api, provider: Provider) -> None:  # noqa: F811
    redirect = await provider.deny(await begin(api))
    assert sign_in_error(await back_to_us(api, redirect))[0] == "access_denied"
    subject = await provider.user()
    redirect = await provider.consent(await begin(api, "/groups"), subject)
    assert landing(await back_to_us(api, redirect))[0] == FRONTEND + "/groups"


@pytest.mark.parametrize(
    "next_url",
    ["http://backend.example/api/user", "http://backend.example/application", "http://backend.example/"],
)
async def test_only_the_app_of_the_server_origin_is_a_landing(api: Api, next_url: str) -> None:
    reply = await api.get("/api/login", params={"next": next_url})
    assert reply.status == 400 and reply.error["code"] == "invalid_redirect"


async def test_the_app_may_open_the_websocket_from_its_own_origin(api: Api) -> None:
    """Its pages are same-origin, so CORS_ORIGINS does not list the server's own origin."""
    assert api.config.socket_origins == (FRONTEND, "http://backend.example")
    own = await api.client.ws_connect("/api/ws", headers={"Origin": "http://backend.example"})
    await own.send_json({"type": "auth", "token": (await api.user("ana")).token})
    welcome = await own.receive_json(timeout=10)
    assert welcome["type"] == "welcome"
    await own.close()
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await api.client.ws_connect("/api/ws", headers={"Origin": "http://elsewhere.example"})
    assert refused.value.status == 403
