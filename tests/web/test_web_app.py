"""The reference web app (web/, served at /app/) in headless Chromium, as two people use it.

The server is configured as `make run` leaves it, on its SQLite default: FRONTEND_BASE_URL at its
default (a Vite dev server that is not running), so signing in from /app/ lands back on /app/ because
the server serves the app. Sign-in goes through the oidc-provider-mock process, in the browser:
its form, then its redirect to our callback, then ours to the app with the tokens in the fragment.
Nothing is reloaded after signing in: what the other person does arrives over the WebSocket.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, WebSocketRoute, expect

from server.app import create_app
from server.config import load_config
from tests.ocr.samples import rendered_receipt
from tests.server.processes import command_env, run_command
from tests.services import free_port, vite_dev_server
from tests.web.browser import ROOT, TIMEOUT_MS, Album, Person, chromium, person, photographed

WEB_DIST = ROOT / "web" / "dist"
CLIENT_ID = "web-app-test"
CLIENT_SECRET = "web-app-test-secret"
SECRET_KEY = "web-app-test-secret-key-of-enough-length"

pytestmark = pytest.mark.timeout(180)
expect.set_options(timeout=TIMEOUT_MS)


async def serve(aiohttp_server: Any, oidc_issuer: str, tmp_path: Path, **environ: str) -> str:
    """The server on a free port, on its SQLite default; its origin."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    config = load_config(
        {
            "APP_ENV": "development",
            "SECRET_KEY": SECRET_KEY,
            "DATA_DIR": str(tmp_path),
            "GOOGLE_CLIENT_ID": CLIENT_ID,
            "GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_ISSUER": oidc_issuer,
            "BACKEND_CALLBACK_URL": f"{origin}/api/callback",
            "OCR_WORKERS": "1",
            **environ,
        },
        read_dotenv=False,
    )
    await aiohttp_server(create_app(config), host="127.0.0.1", port=port)
    return origin


@pytest.fixture
async def origin(aiohttp_server: Any, oidc_issuer: str, tmp_path: Path) -> str:
    """The server as `make run` leaves it, serving the built app at /app/; its origin."""
    assert (WEB_DIST / "index.html").is_file(), "the web app is not built: run `make web`"
    return await serve(aiohttp_server, oidc_issuer, tmp_path, WEB_APP_DIR=str(WEB_DIST))


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as browser:
        yield browser


class SocketRelay:
    """Ana's WebSocket, routed through the test (Playwright's WebSocket routing) so the test can
    cut it, hold her reconnection back while things happen, and read what the server sent."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.open.set()
        self.sockets: list[tuple[WebSocketRoute, WebSocketRoute]] = []
        self.frames: list[dict[str, Any]] = []
        """What the server sent, in order, over every connection."""

    async def route(self, page_side: WebSocketRoute) -> None:
        await self.open.wait()
        server_side = page_side.connect_to_server()

        def relay(message: str | bytes) -> None:
            self.frames.append(json.loads(message))
            page_side.send(message)

        server_side.on_message(relay)
        self.sockets.append((page_side, server_side))

    async def cut(self) -> None:
        """Drop the connection (as a network would) and keep the next one waiting."""
        self.open.clear()
        page_side, server_side = self.sockets[-1]
        await server_side.close()
        await page_side.close(code=4000, reason="cut by the test")


async def provider_user(issuer: str, name: str) -> str:
    """A person at the provider; the subject to sign in as."""
    subject = f"{name.lower()}-{uuid.uuid4().hex[:8]}"
    claims = {"email": f"{subject}@example.org", "email_verified": True, "name": name}
    async with aiohttp.ClientSession() as session:
        async with session.put(f"{issuer}/users/{subject}", json=claims) as response:
            assert response.status == 204, await response.text()
    return subject


async def sign_in(someone: Person, subject: str, name: str) -> None:
    """From the page the person is on: our sign-in link, the provider's form, and back."""
    page = someone.page
    await page.get_by_test_id("sign-in").click()
    await page.locator("input[name=sub]").fill(subject)
    await page.get_by_role("button", name="Authorize").click()
    await expect(page.get_by_test_id("user-name")).to_have_text(name)
    assert "access_token" not in page.url, "the tokens must not stay in the address bar"


async def test_two_people_share_a_group_live(
    request: pytest.FixtureRequest, origin: str, browser: Browser, oidc_issuer: str, tmp_path: Path
) -> None:
    ana, ben = await person(browser, "ana"), await person(browser, "ben")
    album = Album(request.node.name)
    async with photographed(album, ana, ben):
        await _story(origin, oidc_issuer, ana, ben, album, tmp_path)
    errors = [line for someone in (ana, ben) for line in someone.console if line.startswith("pageerror")]
    assert errors == [], errors


async def _story(origin: str, issuer: str, ana: Person, ben: Person, album: Album, tmp_path: Path) -> None:
    a, b = ana.page, ben.page
    relay = SocketRelay()
    await a.route_web_socket(re.compile(r"/api/ws"), relay.route)
    ana_subject, ben_subject = await provider_user(issuer, "Ana"), await provider_user(issuer, "Ben")

    await a.goto(f"{origin}/app/")
    await album.take("signed out", ana)
    await sign_in(ana, ana_subject, "Ana")
    await album.take("signed in", ana)

    await a.get_by_test_id("new-group-name").fill("Lisbon trip")
    await a.get_by_test_id("new-group-currency").fill("EUR")
    await a.get_by_test_id("create-group").click()
    await expect(a.get_by_test_id("group-name")).to_have_text("Lisbon trip")
    await a.get_by_test_id("create-invite").click()
    link = a.get_by_test_id("invite-link")
    await expect(link).to_be_visible()
    invite = await link.get_attribute("href") or await link.input_value()
    assert invite.startswith(f"{origin}/app/invite/"), invite
    await album.take("group and invite", ana)

    await b.goto(invite)
    await sign_in(ben, ben_subject, "Ben")
    await expect(b.get_by_test_id("invite-group-name")).to_have_text("Lisbon trip")
    await b.get_by_test_id("accept-invite").click()
    await expect(b.get_by_test_id("group-name")).to_have_text("Lisbon trip")
    await expect(b.get_by_test_id("live-status")).to_have_text("live")
    await album.take("joined", ben)

    # Ana never reloads: Ben's arrival reaches her page as an event.
    await expect(a.get_by_test_id("split-row").filter(has_text="Ben")).to_have_count(1)
    await expect(a.get_by_test_id("live-status")).to_have_text("live")
    await a.get_by_test_id("expense-description").fill("Dinner")
    await a.get_by_test_id("expense-amount").fill("30.00")
    await a.get_by_test_id("split-kind").select_option("equal")
    await a.get_by_test_id("add-expense").click()
    await expect(a.get_by_test_id("expense-item").filter(has_text="Dinner")).to_have_count(1)

    dinner = b.get_by_test_id("expense-item").filter(has_text="Dinner")
    await expect(dinner).to_contain_text("30.00")
    transfer = b.get_by_test_id("settle-up").get_by_test_id("transfer")
    await expect(transfer).to_contain_text("Ben pays Ana 15.00 EUR")
    await album.take("expense arrives live", ana, ben)

    await b.get_by_test_id("chat-input").fill("Thanks Ana, paying you now")
    await expect(a.get_by_test_id("typing")).to_have_text("Ben is typing…")
    await b.get_by_test_id("chat-send").click()
    await expect(
        a.get_by_test_id("chat-message").filter(has_text="Thanks Ana, paying you now")
    ).to_contain_text("Ben")
    await expect(a.get_by_test_id("typing")).to_have_text("")
    await album.take("chat", ana, ben)

    # Ana's connection drops; while she is away Ben adds an expense. When she is back, the server
    # replays what she missed (recovered: true) and her page shows it, without a reload.
    await a.evaluate("window.stillTheSamePage = true")
    await relay.cut()
    await expect(a.get_by_test_id("live-status")).not_to_have_text("live")
    await b.get_by_test_id("expense-description").fill("Museum")
    await b.get_by_test_id("expense-amount").fill("10.00")
    await b.get_by_test_id("add-expense").click()
    await expect(b.get_by_test_id("expense-item").filter(has_text="Museum")).to_have_count(1)
    await expect(a.get_by_test_id("expense-item").filter(has_text="Museum")).to_have_count(0)
    await album.take("away while Ben adds one", ana, ben)
    replayed_from = len(relay.frames)
    relay.open.set()
    await expect(a.get_by_test_id("expense-item").filter(has_text="Museum")).to_contain_text("10.00")
    await expect(a.get_by_test_id("live-status")).to_have_text("live")
    assert await a.evaluate("window.stillTheSamePage") is True
    after = relay.frames[replayed_from:]
    resumed = [
        f for f in after if f.get("type") == "reply" and str(f.get("channel", "")).startswith("group:")
    ]
    assert resumed and resumed[0]["recovered"] is True, after
    assert any(f.get("type") == "expense.created" and f["data"]["description"] == "Museum" for f in after), (
        after
    )
    await expect(transfer).to_contain_text("Ben pays Ana 10.00 EUR")
    await album.take("back, with what she missed", ana, ben)

    await transfer.get_by_test_id("record-transfer").click()
    await expect(b.get_by_test_id("settle-up")).to_contain_text("All settled up")
    await expect(a.get_by_test_id("settle-up")).to_contain_text("All settled up")
    await expect(a.get_by_test_id("payment-item")).to_contain_text("Ben paid Ana 10.00 EUR")
    await album.take("settled up", ana, ben)

    # Two payers and exact shares: Ana paid 12.00 and owes 5.00, Ben paid 8.00 and owes 15.00.
    await a.get_by_test_id("expense-description").fill("Taxi")
    await a.get_by_test_id("expense-amount").fill("20.00")
    await a.get_by_test_id("add-payer").click()
    await a.get_by_test_id("add-payer").click()
    payers = a.get_by_test_id("payer-row")
    await payers.nth(0).locator("select").select_option(label="Ana")
    await payers.nth(0).locator("input").fill("12.00")
    await payers.nth(1).locator("select").select_option(label="Ben")
    await payers.nth(1).locator("input").fill("8.00")
    await a.get_by_test_id("split-kind").select_option("exact")
    await a.get_by_test_id("split-row").filter(has_text="Ana").locator("input").fill("5.00")
    await a.get_by_test_id("split-row").filter(has_text="Ben").locator("input").fill("15.00")
    await a.get_by_test_id("add-expense").click()
    await expect(b.get_by_test_id("expense-item").filter(has_text="Taxi")).to_contain_text("20.00")
    await expect(b.get_by_test_id("transfer")).to_contain_text("Ben pays Ana 7.00 EUR")
    await album.take("two payers, exact split", ana, ben)

    receipt = tmp_path / "receipt.png"
    receipt.write_bytes(rendered_receipt())
    await a.get_by_test_id("receipt-file").set_input_files(receipt)
    await expect(a.get_by_test_id("receipt-status")).to_contain_text("filled", timeout=60_000)
    await expect(a.get_by_test_id("expense-amount")).to_have_value("5.00")
    await expect(a.get_by_test_id("expense-description")).to_have_value(re.compile("CORNER GROCERY"))
    await expect(a.get_by_test_id("expense-date")).to_have_value("2024-03-14")
    await album.take("receipt fills the draft", ana)
    await a.get_by_test_id("add-expense").click()
    await expect(b.get_by_test_id("expense-item").filter(has_text="CORNER GROCERY")).to_contain_text(
        "5.00 GBP"
    )
    await expect(b.get_by_test_id("transfer").filter(has_text="GBP")).to_contain_text("Ben pays Ana 2.50 GBP")
    await album.take("the scanned expense, saved", ana, ben)

    # Friends: Ana adds Ben by e-mail and lands on their direct ledger. A split that does not add
    # up is refused with the server's message, and nothing is saved; shares of 1 and 2 are.
    await a.get_by_role("link", name="Expense Tracker").click()
    await a.get_by_test_id("friend-email").fill(f"{ben_subject}@example.org")
    await a.get_by_test_id("add-friend").click()
    await expect(a.get_by_test_id("group-name")).to_have_text("You and Ben")
    await a.get_by_test_id("expense-description").fill("Coffee")
    await a.get_by_test_id("expense-amount").fill("6.00")
    await a.get_by_test_id("split-kind").select_option("exact")
    await a.get_by_test_id("split-row").filter(has_text="Ana").locator("input").fill("1.00")
    await a.get_by_test_id("split-row").filter(has_text="Ben").locator("input").fill("2.00")
    await a.get_by_test_id("add-expense").click()
    await expect(a.get_by_test_id("error")).to_be_visible()
    await expect(a.get_by_test_id("expense-description")).to_have_value("Coffee")
    await album.take("a split that does not add up", ana)
    await a.get_by_test_id("split-kind").select_option("shares")
    await a.get_by_test_id("split-row").filter(has_text="Ben").locator("input").fill("2")
    await a.get_by_test_id("add-expense").click()
    await expect(a.get_by_test_id("expense-item").filter(has_text="Coffee")).to_contain_text("6.00 USD")
    await expect(a.get_by_test_id("transfer")).to_contain_text("Ben pays Ana 4.00 USD")
    await expect(a.get_by_test_id("error")).to_have_count(0)
    await b.get_by_role("link", name="Expense Tracker").click()
    ana_for_ben = b.get_by_test_id("friend-list").locator("li").filter(has_text="Ana")
    for owed in ("you owe 7.00 EUR", "you owe 2.50 GBP", "you owe 4.00 USD"):  # the group's, then theirs
        await expect(ana_for_ben).to_contain_text(owed)
    await album.take("friends", ana, ben)

    # Ana (the owner) removes Ben from the group while he has it open: his page says so, and
    # his socket stays live for the rest.
    await b.get_by_test_id("group-link").filter(has_text="Lisbon trip").click()
    await expect(b.get_by_test_id("live-status")).to_have_text("live")
    for left in (1, 0):  # members with a balance cannot be removed: Ben settles both currencies
        await b.get_by_test_id("record-transfer").first.click()
        await expect(b.get_by_test_id("transfer")).to_have_count(left)
    await expect(b.get_by_test_id("settle-up")).to_contain_text("All settled up")
    group_id = b.url.rsplit("/", 1)[-1]
    ana_token = await a.evaluate("JSON.parse(localStorage.getItem('expense-tracker.session')).access_token")
    ben_token = await b.evaluate("JSON.parse(localStorage.getItem('expense-tracker.session')).access_token")
    async with aiohttp.ClientSession(base_url=origin) as session:
        async with session.get("/api/user", headers={"Authorization": f"Bearer {ben_token}"}) as response:
            ben_id = (await response.json())["id"]
        removal = f"/api/groups/{group_id}/members/{ben_id}"
        async with session.delete(removal, headers={"Authorization": f"Bearer {ana_token}"}) as response:
            assert response.status == 204, await response.text()
    await expect(b.get_by_test_id("group-gone")).to_have_text("You are no longer a member of this group.")
    await expect(b.get_by_test_id("live-status")).to_have_text("live")
    await album.take("removed", ben)


async def test_the_dev_server_works_against_the_backend(
    aiohttp_server: Any, oidc_issuer: str, tmp_path: Path, browser: Browser
) -> None:
    """`npm run dev` on its own origin: sign-in lands there (FRONTEND_BASE_URL), the API answers it
    across origins (CORS_ORIGINS follows FRONTEND_BASE_URL) and so does the WebSocket."""
    port = free_port()
    dev = f"http://127.0.0.1:{port}"
    api = await serve(aiohttp_server, oidc_issuer, tmp_path, FRONTEND_BASE_URL=dev, WEB_APP_DIR="off")
    with vite_dev_server(ROOT / "web", api, port=port) as dev_origin:
        assert dev_origin == dev
        cleo = await person(browser, "cleo")
        album = Album("dev server")
        async with photographed(album, cleo):
            await cleo.page.goto(f"{dev}/")
            await sign_in(cleo, await provider_user(oidc_issuer, "Cleo"), "Cleo")
            await cleo.page.get_by_test_id("new-group-name").fill("Flat 3B")
            await cleo.page.get_by_test_id("create-group").click()
            await expect(cleo.page.get_by_test_id("group-name")).to_have_text("Flat 3B")
            await expect(cleo.page.get_by_test_id("live-status")).to_have_text("live")


async def test_without_google_a_session_from_the_command_line_signs_in(
    origin: str, browser: Browser, tmp_path: Path
) -> None:
    """A local try-out before any OAuth client exists: `expense-tracker token --refresh` prints a
    session, pasted into the signed-out page (the server here is the same store and key)."""
    env = command_env(tmp_path, SECRET_KEY=SECRET_KEY, APP_ENV="development")
    printed = run_command("token", "dee@example.org", "--name", "Dee", "--refresh", env=env, cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    dee = await person(browser, "dee")
    page = dee.page
    await page.goto(f"{origin}/")
    await page.get_by_text("No Google sign-in on this server yet?").click()
    await page.get_by_test_id("dev-token").fill("not it")
    await page.get_by_test_id("dev-sign-in").click()
    await expect(page.get_by_text("That is not the JSON")).to_be_visible()
    await page.get_by_test_id("dev-token").fill(printed.stdout.strip())
    await page.get_by_test_id("dev-sign-in").click()
    await expect(page.get_by_test_id("user-name")).to_have_text("Dee")
    await expect(page.get_by_test_id("live-status")).to_have_text("live")
    assert page.url == f"{origin}/app/"
