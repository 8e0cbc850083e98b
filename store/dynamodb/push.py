"""Web Push subscriptions in the users table: one `PUSH#<user id>` item per user whose map `subs`
holds each subscription by id (at most MAX_PUSH_SUBSCRIPTIONS of a few hundred bytes, far below
the 400 KB item limit), so listing is one get. Writes are read-modify-write guarded by the item's
`version`, which keeps the cap exact when two browsers subscribe at once."""

from __future__ import annotations

from typing import Any

from domain import Unavailable
from domain.clock import from_text, to_text
from store.base import MAX_PUSH_SUBSCRIPTIONS, PushSubscription
from store.dynamodb.client import _ConditionFailed
from store.dynamodb.connection import _Connection
from store.dynamodb.items import _attrs, _key
from store.errors import too_many_push_subscriptions

_ATTEMPTS = 5
"""Rounds of read-modify-write before giving up to concurrent writers (each round is two calls)."""


def _subscription(user_id: str, sub_id: str, entry: dict[str, Any]) -> PushSubscription:
    expiration = entry.get("expiration_time")
    return PushSubscription(
        id=sub_id,
        user_id=user_id,
        endpoint=entry["endpoint"],
        p256dh=entry["p256dh"],
        auth=entry["auth"],
        expiration_time=None if expiration is None else int(expiration),
        created_at=from_text(entry["created_at"]),
    )


def _entry(subscription: PushSubscription) -> dict[str, Any]:
    return {
        "endpoint": subscription.endpoint,
        "p256dh": subscription.p256dh,
        "auth": subscription.auth,
        "expiration_time": subscription.expiration_time,
        "created_at": to_text(subscription.created_at),
    }


class _Push(_Connection):
    """The Web Push subscription part of the contract."""

    async def _subscriptions_item(self, user_id: str) -> tuple[dict[str, dict[str, Any]], int]:
        item = await self._get(self._users, _key(f"PUSH#{user_id}"))
        if item is None:
            return {}, 0
        return dict(item.get("subs", {})), int(item["version"])

    async def _replace(self, user_id: str, subs: dict[str, dict[str, Any]], version: int) -> bool:
        """Write `subs` as the user's map if nobody has since `version`; False when someone has."""
        try:
            if subs:
                await self._call(
                    "put_item",
                    TableName=self._users,
                    Item=_attrs({"pk": f"PUSH#{user_id}", "subs": subs, "version": version + 1}),
                    ConditionExpression="attribute_not_exists(pk) OR version = :v",
                    ExpressionAttributeValues=_attrs({":v": version}),
                )
            else:
                await self._call(
                    "delete_item",
                    TableName=self._users,
                    Key=_key(f"PUSH#{user_id}"),
                    ConditionExpression="attribute_not_exists(pk) OR version = :v",
                    ExpressionAttributeValues=_attrs({":v": version}),
                )
        except _ConditionFailed:
            return False
        return True

    async def save_push_subscription(self, subscription: PushSubscription) -> tuple[PushSubscription, bool]:
        s = subscription
        for _ in range(_ATTEMPTS):
            subs, version = await self._subscriptions_item(s.user_id)
            old = subs.get(s.id)
            if old is None and len(subs) >= MAX_PUSH_SUBSCRIPTIONS:
                raise too_many_push_subscriptions(MAX_PUSH_SUBSCRIPTIONS)
            entry = _entry(s)
            if old is not None:
                entry["created_at"] = old["created_at"]
            subs[s.id] = entry
            if await self._replace(s.user_id, subs, version):
                return _subscription(s.user_id, s.id, entry), old is None
        raise _busy()

    async def list_push_subscriptions(self, user_id: str) -> list[PushSubscription]:
        subs, _ = await self._subscriptions_item(user_id)
        found = [_subscription(user_id, sub_id, entry) for sub_id, entry in subs.items()]
        found.sort(key=lambda s: (s.created_at, s.id))
        return found

    async def delete_push_subscription(self, user_id: str, subscription_id: str) -> bool:
        for _ in range(_ATTEMPTS):
            subs, version = await self._subscriptions_item(user_id)
            if subs.pop(subscription_id, None) is None:
                return False
            if await self._replace(user_id, subs, version):
                return True
        raise _busy()

    async def delete_push_subscriptions(self, user_id: str) -> None:
        await self._call("delete_item", TableName=self._users, Key=_key(f"PUSH#{user_id}"))


def _busy() -> Unavailable:
    return Unavailable("push subscriptions kept changing; try again", code="push_subscriptions_busy")
