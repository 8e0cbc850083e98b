"""HTTP API test harness: the real app on each store backend, users with tokens, and a client that
checks every JSON response against the app's own OpenAPI document."""

from __future__ import annotations

import json as jsonlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator

from domain.clock import Clock
from handlers.components import inlined
from server.app import create_app
from server.config import Config, load_config
from server.keys import STORE
from server.tokens import issue_token
from store import Store

SECRET_KEY = "k" * 48
ISSUER = "expense-tracker-test"
FRONTEND = "http://frontend.example"
BACKENDS = ["sqlite", "dynamodb"]

store_agnostic = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
"""For tests whose requests are settled before the store is asked anything (routing, request ids,
token checks, input validation, docs, CORS): running them on every backend would only cost time."""


@dataclass(frozen=True)
class Actor:
    """A user of the API and a token that authenticates as them."""

    id: str
    name: str
    email: str
    token: str
    jti: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Reply:
    status: int
    headers: Any
    text: str
    json: Any = None

    @property
    def error(self) -> dict[str, Any]:
        assert isinstance(self.json, dict) and "error" in self.json, self.text[:500]
        error: dict[str, Any] = self.json["error"]
        return error

    def error_fields(self) -> set[str]:
        return {problem["field"] for problem in self.error.get("details") or []}


@dataclass
class OpenApi:
    """Matches a request to its documented operation and checks a response against it."""

    published: dict[str, Any]
    """The document as served, its bodies `$ref`s to named components."""
    document: dict[str, Any] = field(init=False)
    """The same with every reference replaced by its schema: what the checks walk."""
    _paths: list[tuple[re.Pattern[str], str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.document = inlined(self.published)
        for template in self.document["paths"]:
            pattern = re.sub(r"\\{\w+\\}", "[^/]+", re.escape(template))
            self._paths.append((re.compile(pattern), template))

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        # Literal templates win over parameterised ones, as in the router.
        matches = [t for pattern, t in self._paths if pattern.fullmatch(path)]
        matches.sort(key=lambda t: t.count("{"))
        for template in matches:
            item = self.document["paths"][template]
            if method.lower() in item:
                operation: dict[str, Any] = item[method.lower()]
                return operation
        return None

    def check(self, method: str, path: str, reply: Reply) -> None:
        operation = self.operation(method, path)
        if operation is None:
            # Not a documented operation (unknown route, wrong method, preflight, test-only
            # route): only errors may come back, in the documented error shape.
            if reply.status >= 400:
                assert reply.json is not None, f"{method} {path} -> {reply.status}: not JSON"
                self._validate(self.document["components"]["schemas"]["Error"], reply, method, path)
            return
        responses = operation["responses"]
        if str(reply.status) not in responses:
            pytest.fail(
                f"{method} {path} answered {reply.status}, which its OpenAPI operation "
                f"{operation['operationId']} does not document (documented: "
                f"{', '.join(responses)}); body: {reply.text[:300]}"
            )
        documented = responses[str(reply.status)]
        for header in documented.get("headers", {}):
            assert header in reply.headers, (
                f"{method} {path} -> {reply.status}: documented header {header} missing"
            )
        schema = documented.get("content", {}).get("application/json", {}).get("schema")
        if schema is not None:
            assert reply.json is not None, (
                f"{method} {path} -> {reply.status}: documented as JSON, got {reply.text[:200]!r}"
            )
            self._validate(schema, reply, method, path)

    def _validate(self, schema: dict[str, Any], reply: Reply, method: str, path: str) -> None:
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        problems = [
            f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"
            for e in validator.iter_errors(reply.json)
        ]
        if problems:
            pytest.fail(
                f"{method} {path} -> {reply.status} does not match its documented schema:\n  "
                + "\n  ".join(problems)
            )


class Api:
    """One running app: its client, its store, and requests checked against its documentation."""

    def __init__(
        self, client: TestClient[web.Request, web.Application], config: Config, openapi: OpenApi
    ) -> None:
        self.client = client
        self.config = config
        self.openapi = openapi
        self._users: dict[str, Actor] = {}

    @property
    def app(self) -> web.Application:
        return self.client.app

    @property
    def store(self) -> Store:
        return self.app[STORE]

    async def request(
        self,
        method: str,
        path: str,
        *,
        as_: Actor | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        data: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Reply:
        all_headers = dict(as_.auth) if as_ is not None else {}
        all_headers.update(headers or {})
        # Redirects are answers to check like any other, not something to follow.
        kwargs: dict[str, Any] = {"headers": all_headers, "allow_redirects": False}
        if json is not None:
            kwargs["json"] = json
        if data is not None:
            kwargs["data"] = data
        if params is not None:
            kwargs["params"] = params
        async with self.client.request(method, path, **kwargs) as response:
            raw = await response.read()
            text = raw.decode(response.charset or "utf-8", errors="replace")
            body = jsonlib.loads(raw) if response.content_type == "application/json" else None
            reply = Reply(status=response.status, headers=response.headers, text=text, json=body)
        assert "X-Request-ID" in reply.headers, f"{method} {path}: no X-Request-ID"
        if reply.status >= 400:
            assert reply.json is not None, f"{method} {path} -> {reply.status}: error is not JSON"
            # The token endpoint answers RFC 6749 errors: `{"error": code, ..., "request_id"}`.
            shaped = reply.json if isinstance(reply.json.get("error"), str) else reply.error
            assert shaped["request_id"] == reply.headers["X-Request-ID"]
        self.openapi.check(method, path.split("?")[0], reply)
        return reply

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("DELETE", path, **kwargs)

    async def user(self, name: str) -> Actor:
        """A user named `name` (alice, bob, ...) with a fresh 1-hour token."""
        user = await self.store.ensure_user(f"{name}@example.com", name.capitalize())
        return self.actor(user.id, user.name, user.email)

    def actor(self, user_id: str, name: str = "", email: str = "", **token: Any) -> Actor:
        raw, claims = issue_token(
            secret=token.pop("secret", self.config.secret_key),
            issuer=token.pop("issuer", self.config.jwt_issuer),
            user_id=user_id,
            lifetime=token.pop("lifetime", timedelta(hours=1)),
            now=token.pop("now", None),
        )
        assert not token, token
        return Actor(id=user_id, name=name, email=email, token=raw, jti=claims.token_id)

    # shortcuts for set-up steps; the tests of these steps go through HTTP explicitly

    async def create_group(self, owner: Actor, name: str = "Trip", **fields: Any) -> dict[str, Any]:
        reply = await self.post("/api/groups", as_=owner, json={"name": name, **fields})
        assert reply.status == 201, reply.text
        group: dict[str, Any] = reply.json
        return group

    async def join(self, group_id: str, *members: Actor) -> None:
        for member in members:
            await self.store.add_member(group_id, member.id, datetime.now(timezone.utc))

    async def group(self, group_id: str, viewer: Actor) -> dict[str, Any]:
        reply = await self.get(f"/api/groups/{group_id}", as_=viewer)
        assert reply.status == 200, reply.text
        group: dict[str, Any] = reply.json
        return group


AppFactory = Callable[..., Awaitable[Api]]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def environ(request: pytest.FixtureRequest, backend: str, tmp_path: Any) -> dict[str, str]:
    """The environment the app is configured from; DynamoDB tables only for that backend."""
    env = {
        "APP_ENV": "development",
        "SECRET_KEY": SECRET_KEY,
        "DATA_DIR": str(tmp_path),
        "JWT_ISSUER": ISSUER,
        "FRONTEND_BASE_URL": FRONTEND,
        "STORE_BACKEND": backend,
        "TESSERACT_CMD": str(tmp_path / "no-tesseract"),
        "WEB_APP_DIR": "off",
    }
    if backend == "dynamodb":
        settings = request.getfixturevalue("dynamodb_settings")
        env.update(
            DYNAMODB_ENDPOINT_URL=settings.endpoint_url,
            AWS_REGION=settings.region,
            DYNAMODB_USERS_TABLE=settings.users_table,
            DYNAMODB_GROUPS_TABLE=settings.groups_table,
            DYNAMODB_EXPENSES_TABLE=settings.expenses_table,
            DYNAMODB_TRANSACTIONS_TABLE=settings.transactions_table,
            DYNAMODB_CHATS_TABLE=settings.chats_table,
        )
    return env


@pytest.fixture
def config(environ: dict[str, str]) -> Config:
    return load_config(environ, read_dotenv=False)


@pytest.fixture
def make_api(aiohttp_client: Any, config: Config) -> AppFactory:
    """Start an app (another one each call, sharing the same store) and return its Api.

    `prepare(app)` may add test-only routes before the app starts; `clock` is the app's "now"."""

    async def make(
        prepare: Callable[[web.Application], None] | None = None, clock: Clock | None = None
    ) -> Api:
        app = create_app(config) if clock is None else create_app(config, clock=clock)
        if prepare is not None:
            prepare(app)
        client = await aiohttp_client(app)
        async with client.get("/api/openapi.json") as response:
            assert response.status == 200
            document = await response.json()
        return Api(client, config, OpenApi(document))

    return make


@pytest.fixture
async def api(make_api: AppFactory) -> Api:
    return await make_api()


@pytest.fixture
async def alice(api: Api) -> Actor:
    return await api.user("alice")


@pytest.fixture
async def bob(api: Api) -> Actor:
    return await api.user("bob")


@pytest.fixture
async def carol(api: Api) -> Actor:
    return await api.user("carol")
