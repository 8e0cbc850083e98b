"""Sessions in the users table: `SESSION#<id>` items (hashes of refresh tokens only, TTL at the
session's expiry) and a `SESSIONS#<user id>` item whose string set `ids` names the user's sessions
(at most MAX_LIVE_SESSIONS + 1 of them), so listing is a get and one batch get."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain.clock import from_text, to_text
from store.base import MAX_LIVE_SESSIONS, Rotation, RotationResult, Session
from store.dynamodb.client import _ConditionFailed
from store.dynamodb.connection import _Connection
from store.dynamodb.items import _attrs, _key, _plain, _ttl
from store.dynamodb.tables import TTL_ATTRIBUTE
from store.errors import session_not_found


def _session(item: dict[str, Any]) -> Session:
    return Session(
        id=item["id"],
        user_id=item["user_id"],
        created_at=from_text(item["created_at"]),
        last_used_at=from_text(item["last_used_at"]),
        user_agent=item["user_agent"],
        generation=int(item["generation"]),
        expires_at=from_text(item["expires_at"]),
    )


def _live(item: dict[str, Any], now: datetime) -> bool:
    return not item.get("revoked_at") and from_text(item["expires_at"]) > now


class _Sessions(_Connection):
    """The session part of the contract."""

    async def _user_sessions(self, user_id: str) -> list[dict[str, Any]]:
        """Every session item the user's index names (two round trips)."""
        index = await self._get(self._users, _key(f"SESSIONS#{user_id}"))
        ids = sorted(index.get("ids", set())) if index else []
        if not ids:
            return []
        return await self._batch_get(self._users, [_key(f"SESSION#{sid}") for sid in ids])

    async def create_session(self, session: Session, refresh_hash: str, now: datetime) -> None:
        index = await self._get(self._users, _key(f"SESSIONS#{session.user_id}"))
        if index and len(index.get("ids", set())) >= MAX_LIVE_SESSIONS:
            await self._prune(session.user_id, set(index["ids"]), now)
        item = {
            "pk": f"SESSION#{session.id}",
            "id": session.id,
            "user_id": session.user_id,
            "created_at": to_text(session.created_at),
            "last_used_at": to_text(session.last_used_at),
            "user_agent": session.user_agent,
            "refresh_hash": refresh_hash,
            "generation": session.generation,
            "expires_at": to_text(session.expires_at),
            TTL_ATTRIBUTE: _ttl(session.expires_at),
        }
        await self._transact(
            [
                {
                    "Put": {
                        "TableName": self._users,
                        "Item": _attrs(item),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": self._users,
                        "Key": _key(f"SESSIONS#{session.user_id}"),
                        "UpdateExpression": "ADD ids :id",
                        "ExpressionAttributeValues": _attrs({":id": {session.id}}),
                    }
                },
            ]
        )

    async def _prune(self, user_id: str, ids: set[str], now: datetime) -> None:
        """Drop ended sessions from the index and end the least recently used live ones, so that
        the new one makes at most MAX_LIVE_SESSIONS."""
        items = await self._batch_get(self._users, [_key(f"SESSION#{sid}") for sid in sorted(ids)])
        live = sorted(
            (item for item in items if _live(item, now)), key=lambda item: item["last_used_at"], reverse=True
        )
        evicted = live[MAX_LIVE_SESSIONS - 1 :]
        for item in evicted:
            await self._end(item["id"], user_id, now)
        keep = {item["id"] for item in live[: MAX_LIVE_SESSIONS - 1]}
        gone = ids - keep
        if gone:
            await self._call(
                "update_item",
                TableName=self._users,
                Key=_key(f"SESSIONS#{user_id}"),
                UpdateExpression="DELETE ids :gone",
                ExpressionAttributeValues=_attrs({":gone": gone}),
            )

    async def _end(self, session_id: str, user_id: str, now: datetime) -> bool:
        """Revoke a live session of the user; False when it is not one."""
        try:
            await self._call(
                "update_item",
                TableName=self._users,
                Key=_key(f"SESSION#{session_id}"),
                UpdateExpression="SET revoked_at = :now",
                ConditionExpression="attribute_exists(pk) AND user_id = :u AND "
                "attribute_not_exists(revoked_at) AND expires_at > :now",
                ExpressionAttributeValues=_attrs({":now": to_text(now), ":u": user_id}),
            )
        except _ConditionFailed:
            return False
        return True

    async def rotate_refresh(
        self,
        session_id: str,
        presented_hash: str,
        new_hash: str,
        *,
        now: datetime,
        expires_at: datetime,
        grace: timedelta,
    ) -> RotationResult:
        moment = to_text(now)
        try:
            response = await self._call(
                "update_item",
                TableName=self._users,
                Key=_key(f"SESSION#{session_id}"),
                UpdateExpression="SET previous_hash = refresh_hash, refresh_hash = :new, "
                "generation = generation + :one, rotated_at = :now, last_used_at = :now, "
                "expires_at = :exp, #ttl = :ttl",
                ConditionExpression="attribute_exists(pk) AND refresh_hash = :old AND "
                "attribute_not_exists(revoked_at) AND expires_at > :now",
                ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
                ExpressionAttributeValues=_attrs(
                    {
                        ":new": new_hash,
                        ":old": presented_hash,
                        ":one": 1,
                        ":now": moment,
                        ":exp": to_text(expires_at),
                        ":ttl": _ttl(expires_at),
                    }
                ),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except _ConditionFailed as exc:
            item = exc.item
            if item is None or not _live(item, now):
                return RotationResult(Rotation.UNKNOWN, None)
            rotated_at = item.get("rotated_at")
            if (
                item.get("previous_hash") == presented_hash
                and rotated_at is not None
                and now < from_text(rotated_at) + grace
            ):
                return RotationResult(Rotation.GRACE_REPLAY, _session(item))
            await self._end(session_id, item["user_id"], now)
            return RotationResult(Rotation.REUSED, _session(item))
        return RotationResult(Rotation.ROTATED, _session(_plain(response["Attributes"])))

    async def list_sessions(self, user_id: str, now: datetime) -> list[Session]:
        items = [item for item in await self._user_sessions(user_id) if _live(item, now)]
        items.sort(key=lambda item: (item["last_used_at"], item["id"]), reverse=True)
        return [_session(item) for item in items[:MAX_LIVE_SESSIONS]]

    async def revoke_session(self, user_id: str, session_id: str, now: datetime) -> None:
        if not await self._end(session_id, user_id, now):
            raise session_not_found()

    async def revoke_sessions(self, user_id: str, now: datetime) -> list[str]:
        ended = []
        for item in await self._user_sessions(user_id):
            if _live(item, now) and await self._end(item["id"], user_id, now):
                ended.append(item["id"])
        return ended
