"""Issue 13 part 4: the caller's sessions, ending one, logout of the current one or of all."""

from __future__ import annotations

from server.keys import SESSIONS
from services.sessions import TokenResponse
from tests.api.conftest import Actor, Api


async def _session(api: Api, user: Actor, agent: str) -> TokenResponse:
    return await api.app[SESSIONS].start(user.id, agent)


def _bearer(tokens: TokenResponse) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.access_token}"}


async def _ok(api: Api, tokens: TokenResponse) -> bool:
    return (await api.get("/api/user", headers=_bearer(tokens))).status == 200


async def test_list_and_end_one(api: Api, alice: Actor) -> None:
    phone = await _session(api, alice, "Phone/1")
    laptop = await _session(api, alice, "Laptop/2")
    reply = await api.get("/api/user/sessions", headers=_bearer(laptop))
    assert reply.status == 200
    items = reply.json["items"]
    assert [(s["user_agent"], s["current"]) for s in items] == [("Laptop/2", True), ("Phone/1", False)]
    assert {s["id"] for s in items} == {phone.session_id, laptop.session_id}

    assert (await api.delete(f"/api/user/sessions/{phone.session_id}", headers=_bearer(laptop))).status == 204
    assert not await _ok(api, phone), "the ended session's access token stops at once"
    refreshed = await api.post(
        "/api/token", json={"grant_type": "refresh_token", "refresh_token": phone.refresh_token}
    )
    assert (refreshed.status, refreshed.json["error"]) == (400, "invalid_grant")
    assert await _ok(api, laptop)
    again = await api.delete(f"/api/user/sessions/{phone.session_id}", headers=_bearer(laptop))
    assert again.status == 404


async def test_other_users_and_unknown_sessions_are_404(api: Api, alice: Actor, bob: Actor) -> None:
    alices = await _session(api, alice, "A")
    bobs = await _session(api, bob, "B")
    for session_id in (bobs.session_id, "no-such-session"):
        reply = await api.delete(f"/api/user/sessions/{session_id}", as_=alice)
        assert reply.status == 404
    assert await _ok(api, bobs) and await _ok(api, alices)
    listed = await api.get("/api/user/sessions", as_=alice)
    assert [s["current"] for s in listed.json["items"]] == [False], "a standalone token has no session"


async def test_logout_ends_the_current_session_only(api: Api, alice: Actor) -> None:
    one = await _session(api, alice, "one")
    two = await _session(api, alice, "two")
    assert (await api.post("/api/logout", headers=_bearer(one))).status == 204
    assert not await _ok(api, one)
    assert await _ok(api, two)
    assert (await api.get("/api/user", as_=alice)).status == 200, "standalone tokens are untouched"


async def test_logout_all(api: Api, alice: Actor) -> None:
    sessions = [await _session(api, alice, f"d{i}") for i in range(3)]
    assert (await api.post("/api/logout?all=true", headers=_bearer(sessions[0]))).status == 204
    for tokens in sessions:
        assert not await _ok(api, tokens)
    assert (await api.get("/api/user/sessions", as_=alice)).json["items"] == []


async def test_legacy_logout_revokes_the_token(api: Api, alice: Actor) -> None:
    tokens = await _session(api, alice, "kept")
    assert (await api.post("/api/logout", as_=alice)).status == 204
    assert (await api.get("/api/user", as_=alice)).status == 401
    assert await _ok(api, tokens), "a legacy token's logout leaves the sessions alone"
