"""A property-based fuzz of the whole API, generated from the served OpenAPI document.

Every documented operation gets requests drawn by Hypothesis (hypothesis-jsonschema for the bodies
and query values the document declares), sent to the real app as real users with real groups,
expenses, settlements and invites, so that path parameters are often ids that exist and the
interesting paths run. `Api.request` checks each answer against the document (status documented,
headers present, body matching its schema); the fuzz adds: no 5xx. The test (tests/api/test_fuzz.py)
and the longer bench (bench/fuzz_bench.py) share this module.

What the fuzz leaves to dedicated tests, because the HTTP client here cannot send it or it is no
JSON request: header bytes outside printable ASCII (tests/server/test_bad_headers.py, raw sockets),
multipart bodies on `POST /api/ocr/upload` (tests/api/test_http_edges.py, tests/api/test_ocr.py),
JSON nested deeper than a few levels (tests/api/test_hostile_json.py), and `GET /api/ws`, the
WebSocket (tests/realtime/). Integers are drawn unbounded wherever the document sets no bound, and
strings sometimes carry a lone UTF-16 surrogate: both must get a documented 4xx, never a 5xx.
"""

from __future__ import annotations

import asyncio
import copy
import json
import string
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator

from services.verify import verify_group
from tests.api.conftest import Actor, Api, Reply

LONE_SURROGATE = st.text(max_size=5).map(lambda text: f"{text}\ud800")
"""Not a character: the server must refuse it (422) wherever a string goes."""
HEADER_TEXT = st.text(alphabet=string.ascii_letters + string.digits + ' -_.:/"=,;', max_size=40)
"""Header values the HTTP client can send (other bytes: tests/server/test_bad_headers.py)."""

SKIPPED = {("GET", "/api/ws")}
LAST = ("DELETE /api/groups/{group_id}/members/{user_id}", "POST /api/groups/{group_id}/leave")
"""Operations that shrink the world, run after the others so that those meet real members."""


@dataclass
class World:
    """What exists: real ids to put in path parameters and bodies, and what the fuzz has seen."""

    actors: dict[str, Actor | None]
    ids: dict[str, list[str]]
    versions: dict[str, int] = field(default_factory=dict)
    groups_of: dict[str, str] = field(default_factory=dict)
    """expense or settlement id → its group's id, so that paths pair them as they exist."""
    cursors: list[str] = field(default_factory=list)
    idempotency_keys: list[str] = field(default_factory=lambda: ["key-1", "key-2"])

    def learn(self, method: str, template: str, path_values: dict[str, str], reply: Reply) -> None:
        """Remember the ids, versions and cursors a successful reply hands out."""
        body = reply.json
        if not isinstance(body, dict) or reply.status >= 300:
            return
        if isinstance(body.get("next_cursor"), str):
            self.cursors.append(body["next_cursor"])
            del self.cursors[:-20]
        kind = {
            "/api/groups": "group_id",
            "/api/groups/{group_id}": "group_id",
            "/api/groups/{group_id}/expenses": "expense_id",
            "/api/groups/{group_id}/expenses/{expense_id}": "expense_id",
            "/api/groups/{group_id}/transactions": "transaction_id",
            "/api/groups/{group_id}/transactions/{transaction_id}": "transaction_id",
            "/api/groups/{group_id}/invites": "token",
        }.get(template)
        if kind is None or method not in ("POST", "PUT"):
            return
        if kind == "token":
            self.ids["token"].append(body["token"])
            return
        if body["id"] not in self.ids[kind]:
            self.ids[kind].append(body["id"])
        if kind != "group_id" and "group_id" in path_values:
            self.groups_of[body["id"]] = path_values["group_id"]
        if isinstance(body.get("version"), int):
            self.versions[body["id"]] = body["version"]


@dataclass
class Tally:
    """Examples run per operation and the statuses they got; failures when collecting them."""

    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    refused_valid: Counter[str] = field(default_factory=Counter)
    """422s to requests whose body and query the schemas accept: each should be a rule the
    document states (the bench prints them to read)."""

    @property
    def examples(self) -> int:
        return sum(sum(counts.values()) for counts in self.statuses.values())


async def build_world(api: Api) -> World:
    """Two groups with members, expenses, a settlement, chat and an invite, made through the API."""
    alice, bob, carol, dave = [await api.user(name) for name in ("alice", "bob", "carol", "dave")]
    trip = await api.create_group(alice, "Trip", default_currency="EUR")
    flat = await api.create_group(bob, "Flat", default_currency="JPY")
    await api.join(trip["id"], bob, dave)
    await api.join(flat["id"], alice)
    world = World(
        actors={"alice": alice, "bob": bob, "carol": carol, "dave": dave, "anonymous": None},
        ids={
            "group_id": [trip["id"], flat["id"]],
            "expense_id": [],
            "transaction_id": [],
            "user_id": [alice.id, bob.id, carol.id, dave.id],
            "token": [],
            "receipt_id": [],
            "name": ["swagger-ui.css", "favicon-32x32.png"],
        },
    )
    requests: list[tuple[str, Actor, dict[str, Any]]] = [
        (f"/api/groups/{trip['id']}/expenses", alice, {"description": "Dinner", "amount": "90.00"}),
        (
            f"/api/groups/{trip['id']}/expenses",
            bob,
            {
                "description": "Taxi",
                "amount": "31.00",
                "split": {"kind": "exact", "amounts": {alice.id: "10.00", bob.id: "21.00"}},
            },
        ),
        (f"/api/groups/{flat['id']}/expenses", bob, {"description": "Rent", "amount": "1000"}),
        (f"/api/groups/{trip['id']}/transactions", bob, {"to_user": alice.id, "amount": "5.00"}),
        (f"/api/groups/{trip['id']}/invites", alice, {}),
        (f"/api/groups/{trip['id']}/chats", dave, {"text": "hello"}),
    ]
    for path, actor, body in requests:
        reply = await api.post(path, as_=actor, json=body)
        assert reply.status == 201, reply.text
        group_id, resource = path.split("/")[3:5]
        world.learn("POST", f"/api/groups/{{group_id}}/{resource}", {"group_id": group_id}, reply)
    return world


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path template, operation) for every documented operation the fuzz sends."""
    found = [
        (method.upper(), template, operation)
        for template, item in document["paths"].items()
        for method, operation in item.items()
        if (method.upper(), template) not in SKIPPED
    ]
    return sorted(found, key=lambda op: (f"{op[0]} {op[1]}" in LAST, op[0] == "DELETE"))


def bounded(schema: Any) -> Any:
    """`schema` as the document states it: integers keep only the bounds it declares, so values
    beyond 64 bits are drawn wherever it declares none."""
    return copy.deepcopy(schema)


_JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | LONE_SURROGATE
)
ANY_JSON = st.recursive(
    _JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
"""Arbitrary JSON, a few levels deep (deeper nesting: tests/api/test_hostile_json.py)."""


def pick(items: list[str], fallback: str = "none") -> st.SearchStrategy[str]:
    """One of `items` as they are when drawn. Always one integer draw, however long the list has
    grown: Hypothesis refuses strategies whose shape changes with outside state."""
    return st.integers(0, 1023).map(lambda i: items[i % len(items)] if items else fallback)


DECIMALS = st.one_of(
    st.from_regex(r"\A[1-9][0-9]{0,4}(\.[0-9]{2})?\Z"),
    st.from_regex(r"\A[1-9][0-9]{0,4}(\.[0-9]{2})?\Z"),
    st.from_regex(r"\A-?[0-9]{1,7}(\.[0-9]{1,3})?\Z"),
    st.sampled_from(["12.34", "0.01", "0", "100", "1e3", " 1.00", "1,00"]),
)
"""Amounts: mostly ones any currency with cents takes, then odder ones the server must refuse."""
DATES = st.dates(date(1900, 1, 1), date(2200, 12, 31)).map(date.isoformat)


class Strategies:
    """Strategies for one operation's parts; world-dependent pieces are drawn when sent."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._cache: dict[str, st.SearchStrategy[Any]] = {}

    def user_ids(self) -> st.SearchStrategy[str]:
        return pick(self.world.ids["user_id"])

    def value(self, schema: dict[str, Any], name: str = "", hinted: bool = True) -> st.SearchStrategy[Any]:
        """Values for `schema`, biased (when `hinted`) to ones the server takes: real member ids,
        decimal amounts, calendar dates, with anything else the schema allows mixed in.

        Objects and arrays are built here, leaves by hypothesis-jsonschema: its object strategy
        (0.23) calls a Hypothesis internal that recent Hypothesis no longer has."""
        hint = self._hint(name, schema) if hinted else None
        if schema.get("type") == "object" and "properties" in schema:
            properties: dict[str, Any] = schema["properties"]
            required = set(schema.get("required", []))
            shaped: st.SearchStrategy[Any] = st.fixed_dictionaries(
                {key: self.value(sub, key, hinted) for key, sub in properties.items() if key in required},
                optional={
                    key: self.value(sub, key, hinted)
                    for key, sub in properties.items()
                    if key not in required
                },
            )
        elif schema.get("type") == "object" and isinstance(schema.get("additionalProperties"), dict):
            keys = self.user_ids() if hinted else st.text(max_size=10)
            shaped = st.dictionaries(keys, self.value(schema["additionalProperties"], "", hinted), max_size=4)
        elif schema.get("type") == "object":
            shaped = st.dictionaries(st.text(max_size=10), _JSON_LEAVES, max_size=3)
        elif schema.get("type") == "array" and isinstance(schema.get("items"), dict):
            shaped = st.lists(self.value(schema["items"], name, hinted), max_size=4)
        else:
            shaped = self._raw(schema)
        return shaped if hint is None else st.one_of(hint, shaped)

    def _hint(self, name: str, schema: dict[str, Any]) -> st.SearchStrategy[Any] | None:
        if name in ("user_id", "to_user", "from_user", "members", "member"):
            return self.user_ids()
        if name in ("amount",) or "decimal string" in schema.get("description", ""):
            return DECIMALS
        if name in ("date", "date_from", "date_to"):
            return DATES
        if name == "version":
            return st.integers(1, 4)
        if name == "percents":
            return st.dictionaries(self.user_ids(), DECIMALS, max_size=3)
        if name == "shares":
            return st.dictionaries(self.user_ids(), st.integers(0, 5), max_size=3)
        if name == "cursor":
            return pick(self.world.cursors, "no-cursor-yet")
        if name in ("currency", "default_currency"):
            return st.sampled_from(["EUR", "JPY", "USD", "KWD"])
        return None

    def _raw(self, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._cache:
            self._cache[key] = from_schema(bounded(schema))
        return self._cache[key]

    def body(self, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
        """Mostly shaped bodies; sometimes anything the schema allows, sometimes any JSON."""
        shaped = self.value(schema)
        properties: dict[str, Any] = schema.get("properties", {})
        required = {key: properties[key] for key in schema.get("required", [])}
        if required:
            essential = self.value({**schema, "properties": required})
        elif properties:  # an edit: change one thing
            essential = st.one_of(
                [st.fixed_dictionaries({key: self.value(sub, key)}) for key, sub in properties.items()]
            )
        else:
            essential = shaped
        return st.one_of(essential, essential, shaped, shaped, self.value(schema, hinted=False), ANY_JSON)

    def query_value(self, name: str, schema: dict[str, Any]) -> st.SearchStrategy[str]:
        typed = self.value(schema, name).map(lambda v: str(v) if not isinstance(v, str) else v)
        return st.one_of(typed, typed, typed, st.text(max_size=12))

    def if_match(self, resource_id: str | None) -> st.SearchStrategy[str]:
        versions = self.world.versions
        right = st.sampled_from(['"{}"', '"{}"', 'W/"{}"', "{}"]).map(
            lambda form: form.format(versions.get(resource_id or "", 1))
        )
        return st.one_of(right, right, right, st.integers(0, 6).map(lambda v: f'"{v}"'), HEADER_TEXT)


@dataclass(frozen=True)
class Sent:
    method: str
    path: str
    actor: str
    headers: dict[str, str]
    params: dict[str, str]
    body: Any

    def __str__(self) -> str:
        return (
            f"{self.method} {self.path} as {self.actor} headers={self.headers} params={self.params} "
            f"body={json.dumps(self.body)[:600] if self.body is not None else None}"
        )


def draw_request(
    data: st.DataObject, strategies: Strategies, method: str, template: str, operation: dict[str, Any]
) -> tuple[Sent, dict[str, str]]:
    world = strategies.world
    path_values: dict[str, str] = {}
    names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
    made_up = st.text(min_size=1, max_size=70).filter(lambda s: s not in (".", ".."))
    # Children first: a real expense or settlement mostly comes with the group it is in.
    for name in sorted(names, key=lambda name: name == "group_id"):
        real = world.ids.get(name, [])
        mode = data.draw(st.integers(0, 9), label=f"{name}: 0-1 made up, 2-3 seeded, 4-5 any, 6-9 its own")
        made = data.draw(made_up, label=f"{name} made up")
        seeded = data.draw(pick(real[:2]), label=f"{name} seeded")
        known = data.draw(pick(real), label=f"{name} known")
        parent = next((world.groups_of[v] for v in path_values.values() if v in world.groups_of), None)
        if mode < 2 or not real:
            path_values[name] = made
        elif parent is not None and mode >= 6:
            path_values[name] = parent
        else:
            path_values[name] = seeded if mode < 4 else known
    path = template
    for name, value in path_values.items():
        path = path.replace("{" + name + "}", quote(value, safe=""))
    params: dict[str, str] = {}
    headers: dict[str, str] = {}
    for parameter in operation.get("parameters", []):
        name, where = parameter["name"], parameter["in"]
        if where == "query" and (parameter["required"] or data.draw(st.booleans())):
            params[name] = data.draw(strategies.query_value(name, parameter["schema"]), label=name)
        elif where == "header" and data.draw(st.integers(0, 3), label=f"{name}?") > 0:
            if name == "If-Match":
                resource = next(
                    (path_values[n] for n in names if n != "group_id"), path_values.get("group_id")
                )
                headers[name] = data.draw(strategies.if_match(resource), label=name)
            else:
                keys = pick(world.idempotency_keys)
                headers[name] = data.draw(keys | HEADER_TEXT.filter(str.strip), label=name)
    body = None
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if schema is not None:
        body = data.draw(strategies.body(schema), label="body")
    actor = data.draw(st.sampled_from(["alice", "alice", "bob", "bob", "dave", "carol", "anonymous"]))
    return Sent(method, path, actor, headers, params, body), path_values


def schema_valid(operation: dict[str, Any], sent: Sent) -> bool:
    """Whether the documented schemas accept the request's body, query and header values."""
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if schema is not None and not Draft202012Validator(schema).is_valid(sent.body):
        return False
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "header" and parameter["name"] in sent.headers:
            if not Draft202012Validator(parameter["schema"]).is_valid(sent.headers[parameter["name"]]):
                return False
        if parameter["in"] == "query" and parameter["name"] in sent.params:
            raw = sent.params[parameter["name"]]
            value: Any = raw
            if parameter["schema"].get("type") == "integer":
                try:
                    value = int(raw)
                except ValueError:
                    return False
            if not Draft202012Validator(parameter["schema"]).is_valid(value):
                return False
    return True


async def send(api: Api, world: World, sent: Sent) -> Reply:
    """Send one request as the drawn actor; `Api.request` checks the reply against the document."""
    actor = world.actors[sent.actor]
    if sent.path == "/api/logout" and actor is not None:
        # A token of its own, so that signing out does not revoke the one the others use.
        actor = api.actor(actor.id, actor.name, actor.email)
    if (sent.method, sent.path) == ("DELETE", "/api/user") and actor is not None:
        # Someone of their own, so that deleting an account does not take one the others use.
        leaver = await api.store.ensure_user(f"leaver-{uuid.uuid4().hex}@example.com", "Leaver")
        actor = api.actor(leaver.id, leaver.name, leaver.email)
    return await api.request(
        sent.method,
        sent.path,
        as_=actor,
        json=sent.body,
        headers=sent.headers,
        params=sent.params or None,
    )


@dataclass(frozen=True)
class Run:
    """What every operation's run shares: the app, its loop, the world and the tally."""

    api: Api
    world: World
    loop: asyncio.AbstractEventLoop
    tally: Tally
    strategies: Strategies
    examples: int
    collect: bool
    derandomize: bool

    def call(self, coroutine: Coroutine[Any, Any, Reply]) -> Reply:
        """Run `coroutine` on the app's loop and wait for it (from the fuzz's thread)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)


def fuzz(
    api: Api,
    world: World,
    loop: asyncio.AbstractEventLoop,
    *,
    examples: int,
    collect: bool = False,
    derandomize: bool = False,
    only: Callable[[str], bool] = lambda name: True,
) -> Tally:
    """Run `examples` drawn requests per operation (in a worker thread: each request is handed to
    the app's loop). The first failure raises unless `collect`, which records each and goes on.
    `derandomize` draws the same requests every run (the suite's gate: a failure reproduces, and
    its "reached past the front door" counts cannot flake); the bench draws afresh each time."""
    run = Run(api, world, loop, Tally(), Strategies(world), examples, collect, derandomize)
    for method, template, operation in operations(api.openapi.document):
        if only(f"{method} {template}"):
            fuzz_operation(run, method, template, operation)
    return run.tally


def fuzz_operation(run: Run, method: str, template: str, operation: dict[str, Any]) -> None:
    name = f"{method} {template}"
    counts = run.tally.statuses.setdefault(name, Counter())

    @settings(
        max_examples=run.examples,
        derandomize=run.derandomize,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def one(data: st.DataObject) -> None:
        sent, path_values = draw_request(data, run.strategies, method, template, operation)
        try:
            reply = run.call(send(run.api, run.world, sent))
            assert reply.status < 500, f"{reply.status}: {reply.text[:400]}"
        except (AssertionError, pytest.fail.Exception) as failure:
            message = f"{sent}\n  -> {failure}"
            if not run.collect:
                raise AssertionError(message) from None
            run.tally.failures.append(message)
            return
        counts[reply.status] += 1
        run.world.learn(method, template, path_values, reply)
        if reply.status == 422 and schema_valid(operation, sent):
            problem = reply.error.get("details") or reply.error["message"]
            run.tally.refused_valid[f"{name}: {json.dumps(problem)[:200]}"] += 1

    one()


async def verify_every_group(api: Api, world: World) -> dict[str, Any]:
    """verify-balances for every group the fuzz knew: (group → differences) where any."""
    wrong = {}
    for group_id in world.ids["group_id"]:
        verification = await verify_group(api.store, group_id)
        if verification.differences:
            wrong[group_id] = verification.differences
    return wrong
