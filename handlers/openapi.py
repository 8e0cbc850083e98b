"""The OpenAPI 3.1 document, built from the same declarations that validate requests."""

from __future__ import annotations

import re
from typing import Any

from domain.client_json import MAX_DEPTH
from handlers.components import Components, pascal
from handlers.schemas import ERROR
from server.ratelimit import UNLIMITED_PATHS
from server.routing import Operation, Reply

METRICS_SCHEME = "metricsToken"
_PATH_PARAMETER = re.compile(r"{(\w+)}")
_NOT_READABLE = f"the body is not JSON (`malformed_json`) or nests over {MAX_DEPTH} deep (`json_too_deep`)"


def openapi_document(operations: list[Operation], *, version: str) -> dict[str, Any]:
    """Every operation, its bodies as named components (`handlers.components`)."""
    components = Components()
    components.lift(ERROR)
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(operation, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Expense Tracker API",
            "version": version,
            "description": (
                "Shared expenses: groups, members, invites (more with each release). Every error "
                'is `{"error": {"code", "message", "details", "request_id"}}`. Send '
                "`Authorization: Bearer <token>` except where a route says otherwise."
            ),
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                METRICS_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the server's METRICS_TOKEN setting, for a Prometheus scraper",
                },
            },
            "schemas": dict(sorted(components.schemas.items())),
        },
        "security": [{"bearerAuth": []}],
    }


IF_MATCH: dict[str, Any] = {
    "type": "string",
    "pattern": r'^(W/)?"[0-9]+(\.[A-Za-z0-9_-]+)?"$',
    "examples": ['"3"', '"3.Qm9vZm9vZm9vZm9v"'],
}
IF_NONE_MATCH = (
    "the ETag of the answer you hold (or several, comma-separated, or `*`): if the answer would be "
    "the same, it is a 304 without a body (weak comparison, RFC 9110 §13.1.2)"
)
_NOT_MODIFIED = Reply(
    "not modified: If-None-Match names the current ETag; no body, the same ETag and caching headers",
    headers=("ETag",),
)
_TRIMMED = "Surrounding whitespace is trimmed first; the length limits apply to what remains."


def _operation(operation: Operation, components: Components) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAMETER.findall(operation.path)
    ]
    if operation.query is not None:
        required = set(operation.query.get("required", []))
        parameters += [
            {"name": name, "in": "query", "required": name in required, "schema": _documented(schema)}
            for name, schema in operation.query.get("properties", {}).items()
        ]
    parameters += [
        {
            "name": name,
            "in": "header",
            "required": False,
            "description": text,
            "schema": IF_MATCH if name == "If-Match" else {"type": "string"},
        }
        for name, text in operation.headers.items()
    ]
    if operation.conditional:
        parameters.append(
            {
                "name": "If-None-Match",
                "in": "header",
                "required": False,
                "description": IF_NONE_MATCH,
                "schema": {"type": "string"},
            }
        )
    return _with_replies(operation, parameters, components)


def _with_replies(
    operation: Operation, parameters: list[dict[str, Any]], components: Components
) -> dict[str, Any]:
    """The operation's own replies, and those every route of its kind can answer: an ETag and 304
    on a conditional GET (server/conditional.py), 401 without a valid token, 400/413/415 for a
    body that is not JSON, too large or not JSON at all, and 422 for a body or query that breaks
    a rule or an If-Match that is not one of our ETags."""
    replies = dict(operation.replies)
    if operation.conditional:
        success = replies[200]
        if "ETag" not in success.headers:
            replies[200] = Reply(success.description, success.schema, (*success.headers, "ETag"))
        replies.setdefault(304, _NOT_MODIFIED)
    if not operation.public:
        replies.setdefault(401, Reply("missing, invalid, expired or revoked token", ERROR))
    if operation.path not in UNLIMITED_PATHS:
        replies.setdefault(
            429, Reply("rate limit used up; retry after `Retry-After` s", ERROR, ("Retry-After",))
        )
    if operation.body is not None:
        replies.setdefault(400, Reply(_NOT_READABLE, ERROR))
        replies.setdefault(413, Reply("the body is larger than 1 MiB", ERROR))
        replies.setdefault(415, Reply("the body is not application/json", ERROR))
    invalid = []
    if operation.body is not None or operation.query is not None:
        invalid.append("the input breaks a rule; `details` names each field")
    if "If-Match" in operation.headers:
        invalid.append('If-Match is not an ETag this server issued, like `"3"` (field `If-Match`)')
    if invalid:
        replies.setdefault(422, Reply("; or ".join(invalid), ERROR))
    document: dict[str, Any] = {
        "operationId": operation.name,
        "summary": operation.summary,
        "tags": [operation.tag],
        "parameters": parameters,
        "responses": _responses(operation, replies, components),
    }
    if operation.description:
        document["description"] = operation.description
    if operation.body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {
                    "schema": components.body(_documented(operation.body), f"{pascal(operation.name)}Request")
                }
            },
        }
    if operation.upload is not None:
        document["requestBody"] = {"required": True, "content": _upload(operation, components)}
    if operation.public:
        document["security"] = [{operation.scheme: []}] if operation.scheme else []
    return document


def _documented(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` as published: each string that `x-trim` marks says so in its description too, for
    readers and generators that ignore extension keywords."""
    if not isinstance(schema, dict):
        return schema
    published: dict[str, Any] = {}
    for key, value in schema.items():
        if isinstance(value, dict):
            value = _documented(value) if key in _SUBSCHEMA else {k: _documented(v) for k, v in value.items()}
        elif isinstance(value, list) and key in _SCHEMA_LISTS:
            value = [_documented(item) for item in value]
        published[key] = value
    said = schema.get("description", "")
    if schema.get("x-trim") and "trimmed" not in said and "whitespace" not in said:
        published["description"] = f"{said}. {_TRIMMED}" if said else _TRIMMED
    return published


_SUBSCHEMA = {"items", "additionalProperties", "not", "contains", "propertyNames"}
"""Keywords whose value is one schema; `properties` and the like map names to schemas."""
_SCHEMA_LISTS = {"anyOf", "oneOf", "allOf", "prefixItems"}


def _upload(operation: Operation, components: Components) -> dict[str, Any]:
    """A body the handler reads itself, each media type's schema a component: `<Operation>Upload`,
    with the media type's subtype (`ImportFileUploadCsv`) when there are several."""
    assert operation.upload is not None
    several = len(operation.upload) > 1
    content: dict[str, Any] = {}
    for media, described in operation.upload.items():
        if "schema" in described:
            suffix = pascal(re.sub(r"[^A-Za-z0-9]+", "_", media.partition("/")[2])) if several else ""
            name = f"{pascal(operation.name)}Upload{suffix}"
            described = {**described, "schema": components.body(_documented(described["schema"]), name)}
        content[media] = described
    return content


def _responses(operation: Operation, replies: dict[int, Reply], components: Components) -> dict[str, Any]:
    """Each reply, its body a component: its own, or `<Operation>Response` (with the status when
    the operation has more than one body without a name)."""
    nameless = [
        s for s, r in replies.items() if r.schema is not None and not isinstance(r.schema.get("title"), str)
    ]
    documented: dict[str, Any] = {}
    for status, reply in sorted(replies.items()):
        fallback = f"{pascal(operation.name)}Response" + (str(status) if len(nameless) > 1 else "")
        documented[str(status)] = _reply(reply, components, fallback)
    return documented


def _reply(reply: Reply, components: Components, fallback: str) -> dict[str, Any]:
    document: dict[str, Any] = {"description": reply.description}
    if reply.schema is not None:
        document["content"] = {
            "application/json": {"schema": components.body(_documented(reply.schema), fallback)}
        }
    if reply.headers:
        document["headers"] = {name: {"schema": {"type": "string"}} for name in reply.headers}
    return document
