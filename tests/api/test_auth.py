"""Bearer tokens: every way a token can be wrong is a 401 with a challenge; logout revokes."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt
import pytest

from server.tokens import ALGORITHM, AUDIENCE
from tests.api.conftest import ISSUER, SECRET_KEY, Actor, Api, store_agnostic


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(user_id: str, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": user_id,
        "iat": now,
        "exp": now + 3600,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


async def _unauthorized(api: Api, headers: dict[str, str], code: str) -> str:
    reply = await api.get("/api/user", headers=headers)
    assert reply.status == 401, reply.text
    assert reply.headers["WWW-Authenticate"].startswith("Bearer ")
    assert reply.error["code"] == code
    challenge: str = reply.headers["WWW-Authenticate"]
    return challenge


async def test_hand_made_token_is_accepted(api: Api, alice: Actor) -> None:
    """The hand-made tokens below differ from this one in one way each."""
    token = jwt.encode(_claims(alice.id), SECRET_KEY, algorithm=ALGORITHM)

    reply = await api.get("/api/user", headers={"Authorization": f"Bearer {token}"})

    assert reply.status == 200


@store_agnostic
async def test_missing_header(api: Api) -> None:
    challenge = await _unauthorized(api, {}, "missing_token")
    assert "error=" not in challenge


@store_agnostic
async def test_basic_scheme(api: Api) -> None:
    challenge = await _unauthorized(api, {"Authorization": "Basic xyz"}, "invalid_token")
    assert 'error="invalid_token"' in challenge


@store_agnostic
async def test_bearer_without_token(api: Api) -> None:
    await _unauthorized(api, {"Authorization": "Bearer"}, "invalid_token")
    await _unauthorized(api, {"Authorization": "Bearer    "}, "invalid_token")


@store_agnostic
async def test_garbage_token(api: Api) -> None:
    await _unauthorized(api, {"Authorization": "Bearer not.a.jwt"}, "invalid_token")


@store_agnostic
async def test_expired_token(api: Api, alice: Actor) -> None:
    expired = api.actor(
        alice.id, now=datetime.now(timezone.utc) - timedelta(days=2), lifetime=timedelta(hours=1)
    )

    challenge = await _unauthorized(api, expired.auth, "token_expired")
    assert 'error="invalid_token"' in challenge


@store_agnostic
async def test_tampered_payload(api: Api, alice: Actor, bob: Actor) -> None:
    header, _, signature = alice.token.split(".")
    forged = _b64({**jwt.decode(alice.token, options={"verify_signature": False}), "sub": bob.id})

    await _unauthorized(api, {"Authorization": f"Bearer {header}.{forged}.{signature}"}, "invalid_token")


@store_agnostic
async def test_alg_none(api: Api, alice: Actor) -> None:
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(alice.id))}."

    await _unauthorized(api, {"Authorization": f"Bearer {token}"}, "invalid_token")


@store_agnostic
async def test_signed_with_another_key(api: Api, alice: Actor) -> None:
    other = api.actor(alice.id, secret="another-key-" + "z" * 40)

    await _unauthorized(api, other.auth, "invalid_token")


@store_agnostic
async def test_wrong_issuer(api: Api, alice: Actor) -> None:
    other = api.actor(alice.id, issuer="someone-else")

    await _unauthorized(api, other.auth, "invalid_token")


@store_agnostic
async def test_wrong_audience(api: Api, alice: Actor) -> None:
    token = jwt.encode(_claims(alice.id, aud="another-api"), SECRET_KEY, algorithm=ALGORITHM)

    await _unauthorized(api, {"Authorization": f"Bearer {token}"}, "invalid_token")


@store_agnostic
@pytest.mark.parametrize("claim", ["jti", "sub", "exp"])
async def test_missing_claim(api: Api, alice: Actor, claim: str) -> None:
    token = jwt.encode(_claims(alice.id, **{claim: None}), SECRET_KEY, algorithm=ALGORITHM)

    await _unauthorized(api, {"Authorization": f"Bearer {token}"}, "invalid_token")


async def test_logout_revokes_only_that_token(api: Api, alice: Actor) -> None:
    second = api.actor(alice.id)

    reply = await api.post("/api/logout", as_=alice)
    assert reply.status == 204

    await _unauthorized(api, alice.auth, "token_revoked")
    assert (await api.get("/api/groups", as_=alice)).status == 401
    assert (await api.get("/api/user", as_=second)).status == 200


async def test_revocation_is_seen_by_another_instance(make_api, api: Api, alice: Actor) -> None:
    other = await make_api()
    assert (await other.get("/api/user", as_=alice)).status == 200

    assert (await api.post("/api/logout", as_=alice)).status == 204

    await _unauthorized(other, alice.auth, "token_revoked")


async def test_user_profile(api: Api, alice: Actor) -> None:
    reply = await api.get("/api/user", as_=alice)

    assert reply.status == 200
    assert reply.json["id"] == alice.id
    assert reply.json["email"] == "alice@example.com"
    assert reply.json["name"] == "Alice"


async def test_token_of_a_user_that_does_not_exist(api: Api) -> None:
    ghost = api.actor("no-such-user")

    await _unauthorized(api, ghost.auth, "invalid_token")


@store_agnostic
async def test_protected_routes_need_a_token(api: Api, alice: Actor) -> None:
    group = await api.create_group(alice)
    for method, path in [
        ("GET", "/api/groups"),
        ("POST", "/api/groups"),
        ("GET", f"/api/groups/{group['id']}"),
        ("POST", "/api/logout"),
        ("GET", "/api/invites/whatever"),
    ]:
        reply = await api.request(method, path)
        assert reply.status == 401, (method, path)
        assert reply.headers["WWW-Authenticate"] == 'Bearer realm="expense-tracker"'
