"""The OpenAPI document says what the server does (issue 11, item 8): each status an operation can
answer, the formats of If-Match, cursors and dates, and which strings are trimmed. The fuzz
(test_fuzz.py) finds such gaps at random; these pin the ones it found."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Actor, Api, store_agnostic


def _strings(schema: Any) -> list[dict[str, Any]]:
    """Every sub-schema of `schema` that is a dict, depth first."""
    found: list[dict[str, Any]] = []
    if isinstance(schema, dict):
        found.append(schema)
        for value in schema.values():
            found += _strings(value)
    elif isinstance(schema, list):
        for value in schema:
            found += _strings(value)
    return found


@store_agnostic
async def test_every_operation_reading_if_match_documents_its_format_and_the_422(api: Api) -> None:
    reading = [
        (path, method, operation)
        for path, item in api.openapi.document["paths"].items()
        for method, operation in item.items()
        if any(p["name"] == "If-Match" for p in operation["parameters"])
    ]
    assert len(reading) >= 5
    for path, method, operation in reading:
        assert "422" in operation["responses"], f"{method} {path}"
        assert "If-Match" in operation["responses"]["422"]["description"], f"{method} {path}"
        header = next(p for p in operation["parameters"] if p["name"] == "If-Match")
        assert header["schema"]["pattern"] == r'^(W/)?"[0-9]+(\.[A-Za-z0-9_-]+)?"$'


@store_agnostic
async def test_an_unparseable_if_match_on_delete_is_a_documented_422(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)
    created = await api.post(
        f"/api/groups/{group['id']}/expenses", as_=alice, json={"description": "Tea", "amount": "3.00"}
    )
    assert created.status == 201

    # api.delete fails the test if the operation does not document the status it answers.
    reply = await api.delete(
        f"/api/groups/{group['id']}/expenses/{created.json['id']}", as_=alice, headers={"If-Match": "soon"}
    )

    assert reply.status == 422
    assert reply.error_fields() == {"If-Match"}


@store_agnostic
async def test_trimmed_strings_say_so_in_their_description(api: Api) -> None:
    trimmed = [
        schema
        for item in api.openapi.document["paths"].values()
        for operation in item.values()
        for schema in _strings(operation.get("requestBody"))
        if schema.get("x-trim")
    ]
    assert len(trimmed) >= 5
    for schema in trimmed:
        description = schema.get("description", "")
        assert "trimmed" in description or "whitespace" in description, schema


@store_agnostic
async def test_cursors_dates_and_amounts_state_their_format(api: Api) -> None:
    expenses = api.openapi.document["paths"]["/api/groups/{group_id}/expenses"]
    query = {p["name"]: p for p in expenses["get"]["parameters"] if p["in"] == "query"}
    assert "invalid_cursor" in query["cursor"]["schema"]["description"]
    assert "calendar date" in query["date_from"]["schema"]["description"]
    # JSON Schema's \d is ASCII digits in ECMA-262 but any Unicode digit in Python: say [0-9].
    assert query["date_from"]["schema"]["pattern"] == "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
    body = expenses["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "greater than zero" in body["properties"]["amount"]["description"]
