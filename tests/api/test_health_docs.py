"""Health probes, the API description (complete, valid, self-hosted) and CORS."""

from __future__ import annotations

import re

import pytest
from aiohttp.web_urldispatcher import AbstractRoute
from openapi_spec_validator import validate

from server.routing import PUBLIC_ATTRIBUTE
from tests.api.conftest import FRONTEND, Api, OpenApi, Reply, store_agnostic


@store_agnostic
async def test_healthz_needs_no_token(api: Api) -> None:
    reply = await api.get("/healthz")

    assert reply.status == 200
    assert reply.json == {"status": "ok"}


async def test_readyz_reports_the_store(api: Api) -> None:
    reply = await api.get("/readyz")

    assert reply.status == 200
    assert reply.json["status"] == "ready"
    assert reply.json["checks"]["store"] == "ok"
    assert "redis" not in reply.json["checks"]


@store_agnostic
async def test_openapi_document_is_valid_openapi_3_1(api: Api) -> None:
    reply = await api.get("/api/openapi.json")

    assert reply.status == 200
    assert reply.json["openapi"].startswith("3.1")
    validate(reply.json)


@store_agnostic
async def test_openapi_documents_exactly_the_routes(api: Api) -> None:
    document = (await api.get("/api/openapi.json")).json
    documented = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "put", "post", "delete", "patch", "head", "options", "trace")
    }
    routed = {
        (route.method, route.resource.canonical)
        for route in api.app.router.routes()
        if route.method not in ("HEAD", "OPTIONS") and route.resource is not None
    }

    assert routed
    assert documented == routed


@store_agnostic
async def test_openapi_marks_public_routes(api: Api) -> None:
    document = (await api.get("/api/openapi.json")).json
    public = {
        (route.method, _path_of(route))
        for route in api.app.router.routes()
        if route.method not in ("HEAD", "OPTIONS") and getattr(route.handler, PUBLIC_ATTRIBUTE, False)
    }

    for path, item in document["paths"].items():
        for method, operation in item.items():
            is_public = (method.upper(), path) in public
            # /metrics needs no user's token but a scraper's one of its own (issue 17).
            own: list[dict[str, list[str]]] = [{"metricsToken": []}] if path == "/metrics" else []
            assert (operation.get("security") == own) == is_public, (method, path)
            # The token endpoint is public but answers 401 `refresh_token_reused` (issue 13).
            if (method, path) != ("post", "/api/token"):
                guarded = not is_public or bool(own)
                assert ("401" in operation["responses"]) == guarded, (method, path)


@store_agnostic
async def test_docs_page_uses_only_local_assets(api: Api) -> None:
    reply = await api.get("/api/docs")

    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/html")
    referenced = re.findall(r'<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"', reply.text)
    assert len(referenced) >= 3
    for url in referenced:
        assert url.startswith("/api/docs/assets/"), url
    assert "//" not in "".join(re.findall(r'\b(?:src|href)="([^"]+)"', reply.text))
    for url in referenced:
        asset = await api.get(url)
        assert asset.status == 200, url
        assert len(asset.text) > 0
    assert '"/api/openapi.json"' in reply.text


@store_agnostic
async def test_unknown_docs_asset_is_404(api: Api) -> None:
    for name in ("nope.js", "..%2Fapi.py", "index.html"):
        reply = await api.get(f"/api/docs/assets/{name}")
        assert reply.status == 404, name


@store_agnostic
async def test_cors_preflight_from_the_frontend(api: Api) -> None:
    reply = await api.request(
        "OPTIONS",
        "/api/groups",
        headers={
            "Origin": FRONTEND,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )

    assert reply.status == 200
    assert reply.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert "POST" in reply.headers["Access-Control-Allow-Methods"]
    allowed = reply.headers["Access-Control-Allow-Headers"].upper()
    assert "AUTHORIZATION" in allowed and "CONTENT-TYPE" in allowed


@store_agnostic
async def test_cors_preflight_from_another_origin(api: Api) -> None:
    reply = await api.request(
        "OPTIONS",
        "/api/groups",
        headers={
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "POST",
        },
    )

    assert "Access-Control-Allow-Origin" not in reply.headers
    assert reply.status >= 400


@store_agnostic
async def test_cors_headers_on_a_real_request(api: Api) -> None:
    ours = await api.get("/healthz", headers={"Origin": FRONTEND})
    theirs = await api.get("/healthz", headers={"Origin": "http://evil.example"})

    assert ours.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert "X-Request-ID" in ours.headers.get("Access-Control-Expose-Headers", "")
    assert "Access-Control-Allow-Origin" not in theirs.headers


# The harness itself: a response that breaks the documentation must fail the test.

_DOCUMENT = {
    "paths": {
        "/things/{id}": {
            "get": {
                "operationId": "get_thing",
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["id"],
                                    "properties": {"id": {"type": "string"}},
                                }
                            }
                        },
                    },
                },
            }
        },
    },
    "components": {"schemas": {"Error": {"type": "object", "required": ["error"]}}},
}


@pytest.mark.parametrize(
    ("method", "path", "reply"),
    [
        pytest.param("GET", "/things/1", Reply(404, {}, "{}", {"error": {}}), id="undocumented"),
        pytest.param("GET", "/things/1", Reply(200, {}, "{}", {"id": 1}), id="schema-mismatch"),
        pytest.param("GET", "/nowhere", Reply(404, {}, "{}", {"oops": 1}), id="not-error-shape"),
    ],
)
def test_harness_rejects_drift(method: str, path: str, reply: Reply) -> None:
    with pytest.raises(pytest.fail.Exception):
        OpenApi(_DOCUMENT).check(method, path, reply)


def test_harness_accepts_documented_reply() -> None:
    OpenApi(_DOCUMENT).check("GET", "/things/1", Reply(200, {}, "{}", {"id": "1"}))


def _path_of(route: AbstractRoute) -> str:
    """The path template `route` serves (every route the app adds has a resource)."""
    assert route.resource is not None, route
    return route.resource.canonical
