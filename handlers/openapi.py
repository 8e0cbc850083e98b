"""The OpenAPI 3.1 document, built from the same declarations that validate requests."""

from __future__ import annotations

import re
from typing import Any

from domain.client_json import MAX_DEPTH
from handlers.schemas import ERROR
from server.ratelimit import UNLIMITED_PATHS
from server.routing import Operation, Reply

_PATH_PARAMETER = re.compile(r"{(\w+)}")
_NOT_READABLE = f"the body is not JSON (`malformed_json`) or nests over {MAX_DEPTH} deep (`json_too_deep`)"


def openapi_document(operations: list[Operation], *, version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(operation)
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
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {"Error": ERROR},
        },
        "security": [{"bearerAuth": []}],
    }


def _operation(operation: Operation) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAMETER.findall(operation.path)
    ]
    if operation.query is not None:
        required = set(operation.query.get("required", []))
        parameters += [
            {"name": name, "in": "query", "required": name in required, "schema": schema}
            for name, schema in operation.query.get("properties", {}).items()
        ]
    parameters += [
        {"name": name, "in": "header", "required": False, "description": text, "schema": {"type": "string"}}
        for name, text in operation.headers.items()
    ]
    replies = dict(operation.replies)
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
    if operation.body is not None or operation.query is not None:
        replies.setdefault(422, Reply("the input breaks a rule; `details` names each field", ERROR))
    if "If-Match" in operation.headers:
        replies.setdefault(422, Reply("If-Match is not a version this server issued", ERROR))
    document: dict[str, Any] = {
        "operationId": operation.name,
        "summary": operation.summary,
        "tags": [operation.tag],
        "parameters": parameters,
        "responses": {str(status): _reply(reply) for status, reply in sorted(replies.items())},
    }
    if operation.description:
        document["description"] = operation.description
    if operation.body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": operation.body}},
        }
    if operation.public:
        document["security"] = []
    return document


def _reply(reply: Reply) -> dict[str, Any]:
    document: dict[str, Any] = {"description": reply.description}
    if reply.schema is not None:
        document["content"] = {"application/json": {"schema": reply.schema}}
    if reply.headers:
        document["headers"] = {name: {"schema": {"type": "string"}} for name in reply.headers}
    return document
