"""Headless Chromium (Debian's `chromium`) driven by Playwright, one browser context per person.

Each person's steps are photographed as they go; when a test fails, every step's screenshot is
written to the artefacts directory (`TEST_ARTIFACTS_DIR`, default `test-artifacts/` at the
repository's root), named by test, step and person, with the pages' console messages beside them.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, Page, async_playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", ROOT / "test-artifacts"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
TIMEOUT_MS = 15_000
"""How long a step waits for what it expects: long enough for a loaded machine, and a failure
still ends well within the test's timeout."""


@dataclass
class Person:
    """One person's browser context and page."""

    name: str
    context: BrowserContext
    page: Page
    console: list[str] = field(default_factory=list)


@dataclass
class Album:
    """The steps' screenshots, kept in memory and written out only when the test fails."""

    test: str
    shots: list[tuple[str, bytes]] = field(default_factory=list)

    async def take(self, step: str, *people: Person) -> None:
        for person in people:
            image = await person.page.screenshot(full_page=True)
            self.shots.append((f"{len(self.shots) + 1:02d}-{_slug(step)}-{person.name}", image))

    def write(self, people: list[Person]) -> Path:
        folder = ARTIFACTS / _slug(self.test)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for name, image in self.shots:
            (folder / f"{name}.png").write_bytes(image)
        for person in people:
            (folder / f"console-{person.name}.txt").write_text("\n".join(person.console))
        return folder


@asynccontextmanager
async def photographed(album: Album, *people: Person) -> AsyncIterator[None]:
    """On failure inside the block: a last screenshot of everyone, then every step's written out
    (with `WEB_APP_SCREENSHOTS` set, on success too)."""
    try:
        yield
    except BaseException:
        try:
            await album.take("failed", *people)
        finally:
            print(f"screenshots of each step: {album.write(list(people))}")
        raise
    if os.environ.get("WEB_APP_SCREENSHOTS"):
        print(f"screenshots of each step: {album.write(list(people))}")


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield browser
        finally:
            await browser.close()


async def person(browser: Browser, name: str) -> Person:
    """A fresh context (its own cookies and storage): a second person, not a second tab."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    someone = Person(name, context, page)
    page.on("console", lambda message: someone.console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: someone.console.append(f"pageerror: {error}"))
    return someone


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:80]
