"""The OpenAPI document names its types (issue 18 part 1): every body a component, every operation
an operationId, examples that are valid, references that resolve."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from handlers.components import REF_PREFIX, Components, inlined, references
from tests.api.conftest import Api, store_agnostic
from tests.api.test_expenses import trio

DOMAIN_TYPES = {
    "Group",
    "GroupSummary",
    "Member",
    "NewGroup",
    "Expense",
    "NewExpense",
    "ExpenseChanges",
    "Split",
    "Payer",
    "Share",
    "Balance",
    "Balances",
    "Transfer",
    "SettleUp",
    "Transaction",
    "NewTransaction",
    "Activity",
    "Comment",
    "ChatMessage",
    "Invite",
    "Notification",
    "Receipt",
    "RecurringExpense",
    "Friend",
    "User",
    "UserNames",
    "Currency",
    "Error",
}


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


@store_agnostic
async def test_every_body_is_a_named_component(api: Api) -> None:
    document = api.openapi.published
    schemas = document["components"]["schemas"]
    bodies = 0
    for method, path, operation in _operations(document):
        contents = [("request", operation.get("requestBody", {}).get("content", {}))]
        contents += [(status, reply.get("content", {})) for status, reply in operation["responses"].items()]
        for where, content in contents:
            for media, described in content.items():
                if "schema" not in described:
                    continue
                ref = described["schema"].get("$ref", "")
                assert ref.startswith(REF_PREFIX), f"{method} {path} {where} {media}: not a component"
                assert ref.removeprefix(REF_PREFIX) in schemas
                bodies += 1
    assert bodies > 150
    assert DOMAIN_TYPES <= set(schemas), sorted(DOMAIN_TYPES - set(schemas))
    expenses = document["paths"]["/api/groups/{group_id}/expenses"]["post"]
    assert (
        expenses["requestBody"]["content"]["application/json"]["schema"]["$ref"] == REF_PREFIX + "NewExpense"
    )
    created = expenses["responses"]["201"]["content"]["application/json"]["schema"]
    assert created["$ref"] == REF_PREFIX + "Expense"
    assert (
        expenses["responses"]["404"]["content"]["application/json"]["schema"]["$ref"] == REF_PREFIX + "Error"
    )
    # Types name the types inside them too.
    assert schemas["Expense"]["properties"]["shares"]["items"]["$ref"] == REF_PREFIX + "Share"
    assert schemas["Balances"]["properties"]["balances"]["items"]["$ref"] == REF_PREFIX + "Balance"
    assert schemas["SettleUp"]["properties"]["transfers"]["items"]["$ref"] == REF_PREFIX + "Transfer"


@store_agnostic
async def test_every_reference_resolves_and_every_component_is_used(api: Api) -> None:
    document = api.openapi.published
    schemas = document["components"]["schemas"]
    refs = references(document)
    assert refs
    for ref in refs:
        assert ref.startswith(REF_PREFIX) and ref.removeprefix(REF_PREFIX) in schemas, ref
    used = {ref.removeprefix(REF_PREFIX) for ref in refs}
    assert set(schemas) - used == set(), "components nothing refers to"


@store_agnostic
async def test_operation_ids_are_unique_and_security_schemes_declared(api: Api) -> None:
    document = api.openapi.published
    ids = [operation["operationId"] for _, _, operation in _operations(document)]
    assert all(ids) and len(ids) == len(set(ids))
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    for _, _, operation in _operations(document):
        for requirement in operation.get("security", document["security"]):
            assert set(requirement) <= set(schemes)


@store_agnostic
async def test_examples_are_valid_instances_of_their_schemas(api: Api) -> None:
    schemas = inlined(api.openapi.published)["components"]["schemas"]
    checked = 0
    for name, schema in schemas.items():
        for example in schema.get("examples", []):
            problems = [error.message for error in Draft202012Validator(schema).iter_errors(example)]
            assert not problems, (name, example, problems)
            checked += 1
    assert {"NewExpense", "Split", "NewGroup", "NewTransaction"} <= {
        name for name, schema in schemas.items() if schema.get("examples")
    }
    assert checked >= 9


@store_agnostic
async def test_an_example_expense_is_accepted_as_documented(api: Api, alice, bob, carol) -> None:
    """The documented example creates the expense it describes."""
    group_id = await trio(api, alice, bob, carol)
    example = api.openapi.document["components"]["schemas"]["NewExpense"]["examples"][0]
    reply = await api.post(f"/api/groups/{group_id}/expenses", as_=alice, json=example)
    assert reply.status == 201, reply.text
    assert reply.json["amount"] == example["amount"]


def test_two_different_schemas_under_one_title_are_refused() -> None:
    components = Components()
    components.lift({"title": "Thing", "type": "string"})
    with pytest.raises(ValueError, match="Thing"):
        components.lift({"title": "Thing", "type": "integer"})


def test_a_use_may_describe_a_named_schema_in_its_own_words() -> None:
    components = Components()
    thing = {"title": "Thing", "type": "object", "properties": {"a": {"type": "string"}}}
    wrapper = {
        "type": "object",
        "properties": {"x": thing, "y": {**thing, "description": "the other thing"}},
    }
    lifted = components.lift(wrapper)
    assert lifted["properties"]["x"] == {"$ref": REF_PREFIX + "Thing"}
    assert lifted["properties"]["y"] == {"$ref": REF_PREFIX + "Thing", "description": "the other thing"}
    assert components.schemas == {"Thing": thing}


def test_a_title_that_is_not_a_type_name_is_refused() -> None:
    with pytest.raises(ValueError, match="PascalCase"):
        Components().lift({"title": "a thing", "type": "string"})


def test_a_nameless_body_is_named_after_its_operation_and_inlined_back() -> None:
    components = Components()
    body = {"type": "object", "properties": {"n": {"type": "integer"}}}
    assert components.body(body, "CountThingsResponse") == {"$ref": REF_PREFIX + "CountThingsResponse"}
    document = {
        "components": {"schemas": components.schemas},
        "x": {"$ref": REF_PREFIX + "CountThingsResponse"},
    }
    assert inlined(document)["x"] == {"title": "CountThingsResponse", **body}
