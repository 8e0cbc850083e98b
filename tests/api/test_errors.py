"""Every failure leaves as the same JSON error shape, with the request id that logged it."""

from __future__ import annotations

from aiohttp import web

from tests.api.conftest import Actor, Api, store_agnostic

pytestmark = store_agnostic


async def test_unknown_route_is_a_json_404(api: Api) -> None:
    reply = await api.get("/api/no-such-thing")

    assert reply.status == 404
    assert set(reply.json) == {"error"}
    assert reply.error["code"] == "not_found"
    assert isinstance(reply.error["message"], str) and reply.error["message"]
    assert reply.error["request_id"] == reply.headers["X-Request-ID"]


async def test_wrong_method_is_a_json_405_with_allow(api: Api, alice: Actor) -> None:
    reply = await api.request("PATCH", "/api/groups", as_=alice)

    assert reply.status == 405
    assert reply.error["code"] == "method_not_allowed"
    allowed = {method.strip() for method in reply.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert "PATCH" not in allowed


async def test_malformed_json_is_400(api: Api, alice: Actor) -> None:
    reply = await api.post(
        "/api/groups",
        as_=alice,
        data=b'{"name": "Trip"',
        headers={"Content-Type": "application/json"},
    )

    assert reply.status == 400
    assert reply.error["code"] == "malformed_json"


async def test_wrong_content_type_is_415(api: Api, alice: Actor) -> None:
    reply = await api.post(
        "/api/groups", as_=alice, data=b'{"name": "Trip"}', headers={"Content-Type": "text/plain"}
    )

    assert reply.status == 415
    assert reply.error["code"] == "unsupported_media_type"


async def test_body_over_one_mebibyte_is_a_json_413(api: Api, alice: Actor) -> None:
    body = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'

    reply = await api.post("/api/groups", as_=alice, data=body, headers={"Content-Type": "application/json"})

    assert reply.status == 413
    assert reply.error["code"] == "payload_too_large"
    listing = await api.get("/api/groups", as_=alice)
    assert listing.json["items"] == []


async def test_sane_request_id_is_echoed(api: Api) -> None:
    reply = await api.get("/healthz", headers={"X-Request-ID": "abc-123"})

    assert reply.status == 200
    assert reply.headers["X-Request-ID"] == "abc-123"


async def test_sane_request_id_is_echoed_on_errors(api: Api) -> None:
    reply = await api.get("/api/user", headers={"X-Request-ID": "abc-123"})

    assert reply.status == 401
    assert reply.headers["X-Request-ID"] == "abc-123"
    assert reply.error["request_id"] == "abc-123"


async def test_overlong_request_id_is_replaced(api: Api) -> None:
    offered = "a" * 300

    reply = await api.get("/api/no-such-thing", headers={"X-Request-ID": offered})

    assert reply.status == 404
    assert reply.headers["X-Request-ID"] not in ("", offered)
    assert reply.error["request_id"] == reply.headers["X-Request-ID"]


async def test_request_id_with_spaces_is_replaced(api: Api) -> None:
    offered = "abc 123"

    reply = await api.get("/healthz", headers={"X-Request-ID": offered})

    assert reply.headers["X-Request-ID"] not in ("", offered)
    assert " " not in reply.headers["X-Request-ID"]


async def test_each_request_gets_its_own_id(api: Api) -> None:
    first = await api.get("/healthz")
    second = await api.get("/healthz")

    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


async def _explode(request: web.Request) -> web.Response:
    raise RuntimeError("secret detail")


_explode.__public_route__ = True  # type: ignore[attr-defined]


async def test_unhandled_exception_is_a_500_without_internals(make_api) -> None:
    api = await make_api(lambda app: app.router.add_get("/test/explode", _explode))

    reply = await api.get("/test/explode", headers={"X-Request-ID": "boom-1"})

    assert reply.status == 500
    assert reply.error["code"] == "internal_error"
    assert reply.error["request_id"] == "boom-1"
    assert "secret detail" not in reply.text
    assert "Traceback" not in reply.text
    assert "RuntimeError" not in reply.text
