"""Route declarations that validate requests and describe themselves.

Each handler module declares its routes on an `Api` with the JSON Schemas of its query, body and
responses. The same schemas validate every request (before the handler runs) and make up the OpenAPI
document (`handlers.docs`), so what is documented is what is enforced. Schemas are JSON Schema
2020-12, which OpenAPI 3.1 uses as is.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import fastjsonschema
from aiohttp import web
from jsonschema import Draft202012Validator, ValidationError

from domain import Invalid, UnsupportedMediaType
from domain.client_json import SURROGATE_MESSAGE, has_lone_surrogate, read_json, refuse_lone_surrogates
from server.conditional import conditional

Handler = Callable[..., Awaitable[web.StreamResponse]]

PUBLIC_ATTRIBUTE = "__public_route__"


@dataclass(frozen=True, slots=True)
class Reply:
    """One documented response: a description and, for JSON bodies, their schema."""

    description: str
    schema: dict[str, Any] | None = None
    headers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    name: str
    summary: str
    tag: str
    replies: dict[int, Reply]
    query: dict[str, Any] | None = None
    body: dict[str, Any] | None = None
    public: bool = False
    scheme: str | None = None
    """For a public route guarded by a token of its own: its security scheme's name."""
    description: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    upload: dict[str, Any] | None = None
    """A body the handler reads itself (a file): its `requestBody.content`, as documented."""

    @property
    def conditional(self) -> bool:
        """Whether answers carry an ETag and honour If-None-Match (`server.conditional`): every GET
        whose 200 is a JSON document."""
        success = self.replies.get(200)
        return self.method == "GET" and success is not None and success.schema is not None


class Api:
    """The routes of one handler module."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.routes: list[tuple[Operation, Handler]] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        replies: dict[int, Reply],
        query: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        public: bool = False,
        scheme: str | None = None,
        description: str = "",
        headers: dict[str, str] | None = None,
        upload: dict[str, Any] | None = None,
    ) -> Callable[[Handler], Handler]:
        """Declare a handler. `replies` documents its answers; 401, 400/413/415 and 422 (a body or
        query that breaks a rule, an If-Match that is not one of our ETags) are added where they
        apply. `headers` documents request headers it reads (name → description)."""

        def register(handler: Handler) -> Handler:
            operation = Operation(
                method=method.upper(),
                path=path,
                name=handler.__name__,
                summary=summary,
                tag=self.tag,
                replies=replies,
                query=query,
                body=body,
                public=public,
                scheme=scheme,
                description=description or (handler.__doc__ or "").strip(),
                headers=headers or {},
                upload=upload,
            )
            self.routes.append((operation, _validating(operation, handler)))
            return handler

        return register

    def get(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **kwargs)


_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def json_text(value: Any) -> str:
    """`value` as compact JSON text: what a reply sends, encoded once when an event sends it too."""
    return _compact(value)


def json_reply(text: str, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response whose body (`json_text`) is already encoded."""
    return web.Response(text=text, status=status, headers=headers, content_type="application/json")


def _validating(operation: Operation, handler: Handler) -> Handler:
    query_validator = _validator(operation.query)
    body_validator = _validator(operation.body)

    async def parse_and_handle(request: web.Request) -> web.StreamResponse:
        arguments: dict[str, Any] = {}
        if operation.query is not None:
            arguments["query"] = _parse_query(request, operation.query, query_validator)
        if operation.body is not None:
            arguments["body"] = await _parse_body(request, operation.body, body_validator)
        response = await handler(request, **arguments)
        if operation.conditional:
            return conditional(request, response, personal=not operation.public)
        return response

    parse_and_handle.__name__ = handler.__name__
    parse_and_handle.__doc__ = handler.__doc__
    setattr(parse_and_handle, PUBLIC_ATTRIBUTE, operation.public)
    return parse_and_handle


@dataclass(frozen=True, slots=True)
class _Validator:
    """A schema compiled twice: fastjsonschema answers "valid?" in microseconds on the common path;
    jsonschema, the reference implementation, explains what is wrong when it is not."""

    accepts: Callable[[Any], Any]
    explainer: Draft202012Validator

    def problems(self, value: Any) -> list[ValidationError]:
        try:
            self.accepts(value)
        except fastjsonschema.JsonSchemaException:
            return list(self.explainer.iter_errors(value))
        return []


def _validator(schema: dict[str, Any] | None) -> _Validator | None:
    if schema is None:
        return None
    Draft202012Validator.check_schema(schema)
    return _Validator(
        accepts=fastjsonschema.compile(schema, use_default=False),
        explainer=Draft202012Validator(schema),
    )


def _parse_query(
    request: web.Request, schema: dict[str, Any], validator: _Validator | None
) -> dict[str, Any]:
    """Known query parameters, converted to their declared types; unknown ones are ignored.

    (yarl turns percent-encoded bytes that are not UTF-8 into U+FFFD, so no lone surrogate should
    get this far; refusing one here keeps it that way whatever the URL parser does.)"""
    properties: dict[str, Any] = schema.get("properties", {})
    values: dict[str, Any] = {}
    for name, spec in properties.items():
        if name not in request.query:
            continue
        raw = request.query[name]
        if has_lone_surrogate(raw):
            raise Invalid("invalid query parameter", details=[{"field": name, "message": SURROGATE_MESSAGE}])
        if spec.get("type") == "integer":
            try:
                values[name] = int(raw)
            except ValueError:
                raise Invalid(
                    "invalid query parameter",
                    details=[{"field": name, "message": "must be a whole number"}],
                ) from None
        else:
            values[name] = raw
    _check(values, validator, "invalid query parameter")
    return {
        name: values.get(name, spec.get("default"))
        for name, spec in properties.items()
        if name in values or "default" in spec
    }


async def _parse_body(request: web.Request, schema: dict[str, Any], validator: _Validator | None) -> Any:
    if request.content_type != "application/json":
        raise UnsupportedMediaType("request body must be JSON (Content-Type: application/json)")
    body = read_json(await request.read(), what="request body")
    refuse_lone_surrogates(body, what="request body")
    body = _trimmed(body, schema)
    _check(body, validator, "request body is invalid")
    return body


def _trimmed(value: Any, schema: dict[str, Any]) -> Any:
    """Strip surrounding whitespace from strings whose schema says `x-trim`, before validation, so
    that length limits apply to what will be stored."""
    if isinstance(value, str) and schema.get("x-trim"):
        return value.strip()
    if isinstance(value, dict) and "properties" in schema:
        properties = schema["properties"]
        return {
            key: _trimmed(item, properties[key]) if key in properties else item for key, item in value.items()
        }
    return value


def _check(value: Any, validator: _Validator | None, message: str) -> None:
    if validator is None:
        return
    problems = [_describe(error) for error in validator.problems(value)]
    if problems:
        problems.sort(key=lambda problem: problem["field"])
        raise Invalid(message, details=problems)


def _describe(error: ValidationError) -> dict[str, str]:
    field = ".".join(str(part) for part in error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    match error.validator:
        case "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            return {"field": _join(field, missing), "message": "is required"}
        case "additionalProperties":
            instance: Any = error.instance
            extras = sorted(set(instance) - set(schema.get("properties", {})))
            return {"field": _join(field, ",".join(extras)), "message": "is not a known field"}
        case "type":
            return {"field": field or "(body)", "message": f"must be of type {error.validator_value}"}
        case "minLength" | "maxLength":
            low, high = schema.get("minLength", 0), schema.get("maxLength")
            bounds = f"{low}-{high}" if high is not None else f"at least {low}"
            return {"field": field, "message": f"must be {bounds} characters long"}
        case "minimum" | "maximum":
            low, high = schema.get("minimum"), schema.get("maximum")
            return {"field": field, "message": f"must be between {low} and {high}"}
        case "enum":
            allowed: Any = error.validator_value
            options = ", ".join(map(str, allowed))
            return {"field": field, "message": f"must be one of {options}"}
        case _:
            return {"field": field or "(body)", "message": schema.get("x-message", error.message)}


def _join(parent: str, child: str) -> str:
    return f"{parent}.{child}" if parent and child else parent or child
