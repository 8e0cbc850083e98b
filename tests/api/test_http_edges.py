"""The edges of HTTP: malformed multipart uploads, the security headers on every response, the
docs page's Content-Security-Policy, and what CORS tells browsers."""

from __future__ import annotations

import logging
import re
import shutil

import pytest

from handlers.docs import DOCS_CONTENT_SECURITY_POLICY
from tests.api.conftest import FRONTEND, Actor, Api, store_agnostic

pytestmark = store_agnostic

MULTIPART_X = {"Content-Type": "multipart/form-data; boundary=x"}
needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs tesseract")


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    """The API's environment with the real tesseract, so uploads get as far as their body."""
    return {**environ, "TESSERACT_CMD": "tesseract", "OCR_WORKERS": "1", "OCR_QUEUE_SIZE": "1"}


@needs_tesseract
@pytest.mark.parametrize(
    "body",
    [
        b"--x\r\nbroken",
        b"--x\r\nbad header line\r\n\r\n--x--\r\n",
        b"no boundary anywhere",
    ],
)
async def test_a_malformed_multipart_body_is_a_400(
    api: Api, alice: Actor, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    reply = await api.post("/api/ocr/upload", as_=alice, data=body, headers=MULTIPART_X)
    assert (reply.status, reply.error["code"]) == (400, "malformed_multipart"), reply.text
    assert "\n" not in reply.error["message"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def test_every_response_says_nosniff_and_vary_origin(api: Api, alice: Actor) -> None:
    replies = [
        await api.get("/healthz"),
        await api.get("/api/openapi.json"),
        await api.get("/api/docs"),
        await api.get("/api/docs/assets/swagger-ui.css"),
        await api.get("/api/user", as_=alice),
        await api.get("/api/no/such/thing"),
        await api.get("/api/user"),
    ]
    for reply in replies:
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        assert "Origin" in reply.headers.getall("Vary", [])[-1]


async def test_answers_to_authenticated_requests_are_not_stored(api: Api, alice: Actor) -> None:
    created = await api.post("/api/groups", as_=alice, json={"name": "Trip"})
    assert created.headers["Cache-Control"] == "no-store"
    # A conditional read may be kept by the browser alone, and only used after revalidating it
    # (tests/api/test_conditional_reads.py).
    reply = await api.get(f"/api/groups/{created.json['id']}", as_=alice)
    assert reply.headers["Cache-Control"] == "private, no-cache"
    refused = await api.get("/api/user", headers={"Authorization": "Bearer nonsense"})
    assert refused.status == 401 and refused.headers["Cache-Control"] == "no-store"
    # Public assets keep their own caching.
    asset = await api.get("/api/docs/assets/swagger-ui.css")
    assert asset.headers["Cache-Control"] == "public, max-age=86400"


async def test_the_docs_page_has_a_strict_policy_and_loads_only_same_origin_files(api: Api) -> None:
    page = await api.get("/api/docs")
    policy = page.headers["Content-Security-Policy"]
    assert policy == DOCS_CONTENT_SECURITY_POLICY
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'" and directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    # No inline script (the policy would block it): every script has a src, on this server.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
    assert scripts and all(body.strip() == "" for _, body in scripts)
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/api/docs/assets/") for s in sources), sources
    for source in sources:
        asset = await api.get(source)
        assert asset.status == 200, source
    init = await api.get("/api/docs/assets/init.js")
    assert "SwaggerUIBundle(" in init.text and 'data-openapi-url="/api/openapi.json"' in page.text


async def test_cors_exposes_what_a_browser_client_reads(api: Api, alice: Actor) -> None:
    reply = await api.get("/api/user", as_=alice, headers={"Origin": FRONTEND})
    assert reply.headers["Access-Control-Allow-Origin"] == FRONTEND
    exposed = {h.strip().lower() for h in reply.headers["Access-Control-Expose-Headers"].split(",")}
    for header in ("Idempotent-Replayed", "Content-Disposition", "ETag", "Retry-After", "X-Request-ID"):
        assert header.lower() in exposed, (header, exposed)
    assert "Origin" in reply.headers.getall("Vary", [])[-1]
