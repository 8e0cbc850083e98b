"""Web Push (issue 14 part 6): the application server key, and the caller's browser subscriptions.
Without VAPID configuration every route here answers 503 `push_not_configured`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from domain.clock import to_text
from handlers.schemas import ERROR, ID, TIMESTAMP, Schema
from server.keys import CLAIMS, SERVICES
from server.routing import Api, Reply
from services.push import MAX_ENDPOINT_LENGTH
from store import MAX_PUSH_SUBSCRIPTIONS, PushSubscription

api = Api("push")

_BASE64URL: Schema = {"type": "string", "pattern": "^[A-Za-z0-9_-]+={0,2}$", "maxLength": 256}
_ENDPOINT: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_ENDPOINT_LENGTH,
    "description": "the push service URL the browser was given (https)",
}
_EXPIRATION: Schema = {
    "type": ["integer", "null"],
    "minimum": 0,
    "maximum": 2**53 - 1,
    "description": "when the browser says the subscription ends, ms since the epoch (usually null)",
}

SUBSCRIBE_BODY: Schema = {
    "title": "PushSubscribe",
    "type": "object",
    "description": "a browser PushSubscription as `JSON.stringify(subscription)` gives it",
    "required": ["endpoint", "keys"],
    "additionalProperties": False,
    "properties": {
        "endpoint": _ENDPOINT,
        "expirationTime": _EXPIRATION,
        "keys": {
            "type": "object",
            "required": ["p256dh", "auth"],
            "additionalProperties": False,
            "properties": {
                "p256dh": {**_BASE64URL, "description": "the browser's P-256 public key (65 bytes)"},
                "auth": {**_BASE64URL, "description": "the browser's auth secret (16 bytes)"},
            },
        },
    },
}

UNSUBSCRIBE_BODY: Schema = {
    "title": "PushUnsubscribe",
    "type": "object",
    "required": ["endpoint"],
    "additionalProperties": False,
    "properties": {"endpoint": _ENDPOINT},
}

SUBSCRIPTION: Schema = {
    "title": "PushSubscription",
    "type": "object",
    "required": ["id", "endpoint", "expirationTime", "created_at"],
    "properties": {
        "id": {**ID, "description": "derived from the endpoint: the same endpoint always has this id"},
        "endpoint": {"type": "string"},
        "expirationTime": {"type": ["integer", "null"]},
        "created_at": TIMESTAMP,
    },
}

_NOT_CONFIGURED = Reply("`push_not_configured`: this server has no VAPID key", ERROR)


def subscription_json(subscription: PushSubscription) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "endpoint": subscription.endpoint,
        "expirationTime": subscription.expiration_time,
        "created_at": to_text(subscription.created_at),
    }


@api.get(
    "/api/push/key",
    summary="The application server key to pass to `pushManager.subscribe`",
    public=True,
    description=(
        "`public_key` is the VAPID public key, an uncompressed P-256 point in base64url: pass it "
        "(decoded to bytes) as `applicationServerKey`."
    ),
    replies={
        200: Reply(
            "the key",
            {
                "type": "object",
                "required": ["public_key"],
                "properties": {"public_key": {"type": "string", "description": "base64url, 65 bytes"}},
            },
        ),
        503: _NOT_CONFIGURED,
    },
)
async def push_key(request: web.Request) -> web.Response:
    return web.json_response({"public_key": request.app[SERVICES].push.public_key()})


@api.get(
    "/api/push/subscriptions",
    summary="The caller's Web Push subscriptions, oldest first",
    replies={
        200: Reply(
            f"at most {MAX_PUSH_SUBSCRIPTIONS}",
            {
                "type": "object",
                "required": ["items"],
                "properties": {"items": {"type": "array", "items": SUBSCRIPTION}},
            },
        ),
        503: _NOT_CONFIGURED,
    },
)
async def list_subscriptions(request: web.Request) -> web.Response:
    found = await request.app[SERVICES].push.subscriptions(request[CLAIMS].user_id)
    return web.json_response({"items": [subscription_json(s) for s in found]})


@api.post(
    "/api/push/subscriptions",
    summary="Have this browser notified: keep its PushSubscription for the caller",
    body=SUBSCRIBE_BODY,
    description=(
        "Send the PushSubscription the browser gave `pushManager.subscribe` as is. Subscribing the "
        "same endpoint again is the same subscription (its keys are replaced): 200 instead of 201. "
        "The endpoint must be https; `keys.p256dh` a 65-byte P-256 point and `keys.auth` 16 bytes, "
        f"both base64url. At most {MAX_PUSH_SUBSCRIPTIONS} per user."
    ),
    replies={
        201: Reply("kept", SUBSCRIPTION),
        200: Reply("already kept; keys updated", SUBSCRIPTION),
        409: Reply(f"`too_many_push_subscriptions`: already {MAX_PUSH_SUBSCRIPTIONS}", ERROR),
        503: _NOT_CONFIGURED,
    },
)
async def subscribe(request: web.Request, body: dict[str, Any]) -> web.Response:
    subscription, created = await request.app[SERVICES].push.subscribe(request[CLAIMS].user_id, body)
    return web.json_response(subscription_json(subscription), status=201 if created else 200)


@api.delete(
    "/api/push/subscriptions",
    summary="Stop notifying a browser: forget the caller's subscription with this endpoint",
    body=UNSUBSCRIBE_BODY,
    replies={
        204: Reply("forgotten"),
        404: Reply("`push_subscription_not_found`: none of yours has this endpoint", ERROR),
        503: _NOT_CONFIGURED,
    },
)
async def unsubscribe(request: web.Request, body: dict[str, Any]) -> web.Response:
    await request.app[SERVICES].push.unsubscribe(request[CLAIMS].user_id, endpoint=body["endpoint"])
    return web.Response(status=204)


@api.delete(
    "/api/push/subscriptions/{subscription_id}",
    summary="Forget one of the caller's subscriptions by id",
    replies={
        204: Reply("forgotten"),
        404: Reply("`push_subscription_not_found`: none of yours has this id", ERROR),
        503: _NOT_CONFIGURED,
    },
)
async def delete_subscription(request: web.Request) -> web.Response:
    await request.app[SERVICES].push.unsubscribe(
        request[CLAIMS].user_id, sub_id=request.match_info["subscription_id"]
    )
    return web.Response(status=204)
