"""Hostile JSON over REST (issue 11, defects 1-3): nesting deep enough to crash a recursive parser,
lone UTF-16 surrogates, and whole numbers no store can hold. Each must end in our JSON error with a
4xx, nothing written, and no ERROR in the log; the store-facing ones on both backends."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from domain.client_json import MAX_DEPTH, MAX_INTEGER
from tests.api.conftest import Actor, Api, store_agnostic

JSON = {"Content-Type": "application/json"}
TOO_BIG = 10_000_000_000_000_000_000
"""Beyond 64 bits: SQLite raised OverflowError on it."""


@pytest.fixture(autouse=True)
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A client's mistake is no server error: nothing at ERROR (a traceback) in the log."""
    caplog.set_level(logging.INFO)
    yield
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert not errors, [record.getMessage() for record in errors]


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


async def expense(api: Api, group: dict[str, Any], actor: Actor) -> dict[str, Any]:
    reply = await api.post(
        f"/api/groups/{group['id']}/expenses", as_=actor, json={"description": "Pizza", "amount": "10.00"}
    )
    assert reply.status == 201, reply.text
    created: dict[str, Any] = reply.json
    return created


# 1. nesting


@store_agnostic
async def test_every_json_route_refuses_deep_nesting_before_parsing(api: Api, alice: Actor) -> None:
    """Every operation with a JSON body, with placeholder ids: the body is read before the handler
    looks anything up."""
    operations = [
        (method.upper(), path.replace("{", "").replace("}", ""))
        for path, item in api.openapi.document["paths"].items()
        for method, operation in item.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
        # (a file upload is read by its handler, after the caller is known: tests/api/test_import.py)
        and "multipart/form-data" not in operation["requestBody"]["content"]
    ]
    assert len(operations) >= 7
    for method, path in operations:
        for body in (nested(5000), '{"name": ' + nested(1000) + "}", "[" * 100_000):
            reply = await api.request(method, path, as_=alice, data=body.encode(), headers=JSON)
            assert reply.status == 400, (method, path, reply.text)
            assert reply.error["code"] == "json_too_deep", (method, path)


@store_agnostic
async def test_the_depth_limit_is_exact_and_ignores_brackets_in_strings(api: Api, alice: Actor) -> None:
    at_limit = '{"name": "Trip", "description": ' + nested(MAX_DEPTH - 1) + "}"
    reply = await api.post("/api/groups", as_=alice, data=at_limit.encode(), headers=JSON)
    assert reply.status == 422 and reply.error_fields() == {"description"}, reply.text
    beyond = '{"name": "Trip", "description": ' + nested(MAX_DEPTH) + "}"
    reply = await api.post("/api/groups", as_=alice, data=beyond.encode(), headers=JSON)
    assert reply.status == 400 and reply.error["code"] == "json_too_deep"

    bracketed = "[{" * 40 + '\\"' + "}]" * 10
    reply = await api.post("/api/groups", as_=alice, json={"name": bracketed[:100]})
    assert reply.status == 201, reply.text
    assert reply.json["name"] == bracketed[:100]


@store_agnostic
async def test_unterminated_strings_do_not_make_the_scan_quadratic(api: Api, alice: Actor) -> None:
    body = '{"name": "' + '\\"' * 400_000 + "[" * 100
    started = time.monotonic()
    reply = await api.post("/api/groups", as_=alice, data=body.encode(), headers=JSON)
    assert reply.status == 400 and reply.error["code"] == "malformed_json"
    assert time.monotonic() - started < 5


@store_agnostic
async def test_nan_and_infinity_are_not_json(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)
    for constant in ("NaN", "Infinity", "-Infinity"):
        body = '{"name": "Trip", "version": ' + constant + "}"
        reply = await api.put(f"/api/groups/{group['id']}", as_=alice, data=body.encode(), headers=JSON)
        assert reply.status == 400 and reply.error["code"] == "malformed_json", reply.text


# 2. lone surrogates


async def test_a_lone_surrogate_is_refused_naming_the_field(api: Api, alice: Actor) -> None:
    reply = await api.post("/api/groups", as_=alice, json={"name": "a\ud800"})
    assert reply.status == 422, reply.text
    assert reply.error["details"] == [
        {"field": "name", "message": "contains a lone UTF-16 surrogate, which is not Unicode text"}
    ]
    # The same surrogate as UTF-8-looking bytes (which json.loads decodes alike).
    reply = await api.post(
        "/api/groups", as_=alice, data='{"name": "b\udc00"}'.encode("utf-8", "surrogatepass"), headers=JSON
    )
    assert reply.status == 422 and reply.error_fields() == {"name"}, reply.text
    assert (await api.get("/api/groups", as_=alice)).json["items"] == []

    group = await api.create_group(alice, "\U0001f355 night")  # a surrogate *pair* is fine
    assert group["name"] == "\U0001f355 night"
    assert (await api.group(group["id"], alice))["name"] == "\U0001f355 night"


async def test_lone_surrogates_deep_in_a_body_and_in_keys(api: Api, alice: Actor, bob: Actor) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)
    path = f"/api/groups/{group['id']}/expenses"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"description": "Pizza", "amount": "10.00", "notes": "\udfff"}, "notes"),
        (
            {"description": "Pizza", "amount": "10.00", "payers": [{"user_id": "\ud800", "amount": "10.00"}]},
            "payers.0.user_id",
        ),
        (
            {
                "description": "Pizza",
                "amount": "10.00",
                "split": {"kind": "exact", "amounts": {"x\ud800": "1"}},
            },
            "split.amounts.x\\ud800",
        ),
    ]
    for body, field in cases:
        reply = await api.post(path, as_=alice, json=body)
        assert reply.status == 422, reply.text
        assert reply.error_fields() == {field}
    reply = await api.post(f"/api/groups/{group['id']}/chats", as_=bob, json={"text": "hi \ud83d"})
    assert reply.status == 422 and reply.error_fields() == {"text"}
    reply = await api.post(
        f"/api/groups/{group['id']}/transactions",
        as_=bob,
        json={"to_user": alice.id, "amount": "1", "note": "\ud800"},
    )
    assert reply.status == 422 and reply.error_fields() == {"note"}
    assert (await api.get(path, as_=alice)).json["items"] == []
    assert (await api.get(f"/api/groups/{group['id']}/chats", as_=alice)).json["items"] == []


async def test_a_query_string_cannot_carry_a_lone_surrogate(api: Api, alice: Actor) -> None:
    """Percent-encoded surrogate bytes reach us as U+FFFD (yarl), so a query filter is plain text."""
    group = await api.create_group(alice)
    await expense(api, group, alice)
    reply = await api.get(f"/api/groups/{group['id']}/expenses?category=%ED%A0%80", as_=alice)
    assert reply.status == 200 and reply.json["items"] == []
    reply = await api.get(f"/api/groups/{group['id']}/expenses?cursor=%ED%A0%80", as_=alice)
    assert reply.status == 400, reply.text


# 3. whole numbers beyond 64 bits


@store_agnostic
async def test_every_integer_a_request_may_carry_is_bounded_in_the_document(api: Api) -> None:
    unbounded = [
        where
        for path, item in api.openapi.document["paths"].items()
        for method, operation in item.items()
        for where, schema in _request_schemas(f"{method.upper()} {path}", operation)
        if "integer" in (schema["type"] if isinstance(schema["type"], list) else [schema["type"]])
        and not ("minimum" in schema and schema.get("maximum", MAX_INTEGER + 1) <= MAX_INTEGER)
    ]
    assert not unbounded


async def test_a_version_beyond_64_bits_is_a_422(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)
    reply = await api.put(f"/api/groups/{group['id']}", as_=alice, json={"name": "X", "version": TOO_BIG})
    assert reply.status == 422 and reply.error_fields() == {"version"}, reply.text
    assert reply.error["details"][0]["message"] == f"must be between 1 and {MAX_INTEGER}"
    reply = await api.put(f"/api/groups/{group['id']}", as_=alice, json={"name": "X", "version": 1e300})
    assert reply.status == 422 and reply.error_fields() == {"version"}, reply.text
    created = await expense(api, group, alice)
    reply = await api.put(
        f"/api/groups/{group['id']}/expenses/{created['id']}",
        as_=alice,
        json={"notes": "n", "version": TOO_BIG},
    )
    assert reply.status == 422 and reply.error_fields() == {"version"}, reply.text
    # The largest version accepted is one the store can compare: a plain mismatch.
    reply = await api.put(f"/api/groups/{group['id']}", as_=alice, json={"name": "X", "version": MAX_INTEGER})
    assert reply.status == 412, reply.text
    assert (await api.group(group["id"], alice))["name"] == "Trip"


async def test_if_match_beyond_64_bits_is_a_422_everywhere_it_is_read(
    api: Api, alice: Actor, bob: Actor
) -> None:
    group = await api.create_group(alice)
    await api.join(group["id"], bob)
    created = await expense(api, group, alice)
    settled = await api.post(
        f"/api/groups/{group['id']}/transactions", as_=bob, json={"to_user": alice.id, "amount": "5.00"}
    )
    assert settled.status == 201, settled.text
    expense_path = f"/api/groups/{group['id']}/expenses/{created['id']}"
    writes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("PUT", f"/api/groups/{group['id']}", {"name": "X"}),
        ("PUT", expense_path, {"notes": "n"}),
        ("DELETE", expense_path, None),
        ("DELETE", f"/api/groups/{group['id']}/transactions/{settled.json['id']}", None),
        ("DELETE", f"/api/groups/{group['id']}", None),
    ]
    for tag in (f'"{TOO_BIG}"', str(TOO_BIG), f'W/"{TOO_BIG}"', '"0"', '"-1"', '"1_0"', '"+3"', '"x"'):
        for method, path, body in writes:
            reply = await api.request(method, path, as_=alice, json=body, headers={"If-Match": tag})
            assert reply.status == 422, (tag, method, path, reply.text)
            assert reply.error_fields() == {"If-Match"}
    reply = await api.put(
        f"/api/groups/{group['id']}",
        as_=alice,
        json={"name": "X"},
        headers={"If-Match": f'W/"{MAX_INTEGER}"'},
    )
    assert reply.status == 412, reply.text
    assert (await api.get(expense_path, as_=alice)).json["version"] == 1
    assert (await api.group(group["id"], alice))["name"] == "Trip"


def _request_schemas(where: str, operation: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for parameter in operation.get("parameters", []):
        yield from _subschemas(f"{where} {parameter['in']} {parameter['name']}", parameter["schema"])
    for media in operation.get("requestBody", {}).get("content", {}).values():
        yield from _subschemas(f"{where} body", media["schema"])


def _subschemas(where: str, schema: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    if not isinstance(schema, dict):
        return
    if "type" in schema:
        yield where, schema
    for key, value in schema.items():
        if key in ("properties", "patternProperties", "$defs"):
            for name, sub in value.items():
                yield from _subschemas(f"{where}.{name}", sub)
        elif key in ("items", "additionalProperties", "not", "contains", "propertyNames"):
            yield from _subschemas(f"{where}.{key}", value)
        elif key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            for index, sub in enumerate(value):
                yield from _subschemas(f"{where}.{key}[{index}]", sub)
