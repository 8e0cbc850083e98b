"""Without VAPID_PRIVATE_KEY, Web Push is off: every push route answers 503 `push_not_configured`
and `Push.send` does nothing."""

from __future__ import annotations

from server.keys import SERVICES
from tests.api.conftest import Actor, Api, store_agnostic

SUBSCRIPTION = {
    "endpoint": "https://push.example.net/send/abc",
    "expirationTime": None,
    "keys": {"p256dh": "BA" + "A" * 85, "auth": "A" * 22},
}


@store_agnostic
async def test_every_push_route_says_push_is_not_configured(api: Api, alice: Actor) -> None:
    replies = [
        await api.get("/api/push/key"),
        await api.get("/api/push/subscriptions", as_=alice),
        await api.post("/api/push/subscriptions", as_=alice, json=SUBSCRIPTION),
        await api.delete("/api/push/subscriptions", as_=alice, json={"endpoint": SUBSCRIPTION["endpoint"]}),
        await api.delete("/api/push/subscriptions/abc", as_=alice),
    ]
    assert [(r.status, r.error["code"]) for r in replies] == [(503, "push_not_configured")] * 5
    push = api.app[SERVICES].push
    assert not push.configured
    push.send(alice.id, {"n": 1})
    await push.drain()
