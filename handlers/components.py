"""Named schema components for the OpenAPI document: what a code generator turns into named types.

A schema is named by its JSON Schema `title`, set where the schema is declared (an annotation:
validation ignores it, so the schemas that validate requests carry it as they are). When the
document is built, every titled schema, at any depth, moves to `components.schemas` under its
title and is replaced by a `$ref` to it; a request or response body without a title of its own is
named after its operation (`CreateExpenseRequest`, `GetBalancesResponse`). Two different schemas
under one title are refused, so a schema derived from a named one (by spreading it) is `untitled`
or titled anew."""

from __future__ import annotations

import re
from typing import Any

Schema = dict[str, Any]

REF_PREFIX = "#/components/schemas/"
_NAME = re.compile(r"[A-Z][A-Za-z0-9]*")

_ONE_SCHEMA = {"items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else"}
"""Keywords whose value is one schema."""
_SCHEMA_LISTS = {"anyOf", "oneOf", "allOf", "prefixItems"}
_SCHEMA_MAPS = {"properties", "patternProperties", "$defs", "dependentSchemas"}
"""Keywords whose value maps names to schemas."""
_OWN_WORDS = ("description", "examples")
"""What a use of a named schema may say of it beside its `$ref` (JSON Schema 2020-12 allows it)."""


def untitled(schema: Schema) -> Schema:
    """`schema` without its title: for a schema derived from a named one that is not the same type."""
    return {key: value for key, value in schema.items() if key != "title"}


def pascal(operation_id: str) -> str:
    """`create_expense` → `CreateExpense`."""
    return "".join(part[:1].upper() + part[1:] for part in operation_id.split("_") if part)


class Components:
    """The document's `components.schemas`, filled as bodies are lifted into it."""

    def __init__(self) -> None:
        self.schemas: dict[str, Schema] = {}

    def body(self, schema: Schema, fallback: str) -> Schema:
        """A top-level body: a `$ref` to its component, named `fallback` when it has no title."""
        if not isinstance(schema.get("title"), str):
            schema = {"title": fallback, **schema}
        reference: Schema = self.lift(schema)
        return reference

    def lift(self, schema: Any) -> Any:
        """`schema` with every titled subschema (itself included) moved to a component."""
        if not isinstance(schema, dict):
            return schema
        lifted: Schema = {}
        for key, value in schema.items():
            if key in _ONE_SCHEMA:
                value = self.lift(value)
            elif key in _SCHEMA_LISTS and isinstance(value, list):
                value = [self.lift(item) for item in value]
            elif key in _SCHEMA_MAPS and isinstance(value, dict):
                value = {name: self.lift(item) for name, item in value.items()}
            lifted[key] = value
        title = lifted.get("title")
        if not isinstance(title, str):
            return lifted
        if not _NAME.fullmatch(title):
            raise ValueError(f"a schema's title names its component, in PascalCase: {title!r}")
        reference: Schema = {"$ref": REF_PREFIX + title}
        known = self.schemas.setdefault(title, lifted)
        if known == lifted:
            return reference
        # The same type, said of differently where it is used: a reference with its own words.
        if _without_words(known) == _without_words(lifted):
            return {**reference, **{key: lifted[key] for key in _OWN_WORDS if key in lifted}}
        where = _first_difference(_without_words(known), _without_words(lifted))
        raise ValueError(f"two different schemas are titled {title!r} (they differ at {where}); rename one")


def _without_words(schema: Schema) -> Schema:
    return {key: value for key, value in schema.items() if key not in _OWN_WORDS}


def _first_difference(one: Any, other: Any, where: str = "") -> str:
    if isinstance(one, dict) and isinstance(other, dict):
        for key in sorted(one.keys() | other.keys()):
            if one.get(key) != other.get(key):
                return _first_difference(one.get(key), other.get(key), f"{where}/{key}")
    return where or "/"


def references(document: Any) -> list[str]:
    """Every `$ref` in `document`, in order."""
    if isinstance(document, dict):
        found = [document["$ref"]] if isinstance(document.get("$ref"), str) else []
        return found + [ref for value in document.values() for ref in references(value)]
    if isinstance(document, list):
        return [ref for item in document for ref in references(item)]
    return []


def inlined(document: Any, root: Any = None) -> Any:
    """`document` with every `$ref` into `#/components/schemas` replaced by a copy of its schema:
    for readers that walk schemas rather than resolve references."""
    root = document if root is None else root
    if isinstance(document, list):
        return [inlined(item, root) for item in document]
    if not isinstance(document, dict):
        return document
    ref = document.get("$ref")
    if isinstance(ref, str) and ref.startswith(REF_PREFIX):
        return inlined(root["components"]["schemas"][ref.removeprefix(REF_PREFIX)], root)
    return {key: inlined(value, root) for key, value in document.items()}
