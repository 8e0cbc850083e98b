"""Idempotency keys: claimed before a write, answered inside its transaction, released when it
fails."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain import IdempotentReply, StoredReply, Unavailable
from domain.clock import to_text
from store.base import IDEMPOTENCY_LEASE, IDEMPOTENCY_RETENTION
from store.dynamodb.client import _ATTEMPTS, _ConditionFailed
from store.dynamodb.connection import _Connection
from store.dynamodb.items import _attrs, _key, _ttl
from store.dynamodb.tables import TTL_ATTRIBUTE
from store.errors import in_progress, key_reused


def _record_reply(users_table: str, reply: IdempotentReply) -> dict[str, Any]:
    """The Update that stores the reply of the write it is an action of, and marks the key done
    (conditioned on it being still pending, that is claimed by this request)."""
    return {
        "Update": {
            "TableName": users_table,
            "Key": _key(f"IDEM#{reply.user_id}#{reply.key}"),
            "UpdateExpression": "SET #state = :done, #status = :status, body = :body",
            "ConditionExpression": "#state = :pending",
            "ExpressionAttributeNames": {"#state": "state", "#status": "status"},
            "ExpressionAttributeValues": _attrs(
                {
                    ":done": "done",
                    ":pending": "pending",
                    ":status": reply.status,
                    ":body": reply.body,
                }
            ),
        }
    }


class _Idempotency(_Connection):
    """The idempotency part of the contract."""

    async def claim_idempotency_key(
        self, user_id: str, key: str, fingerprint: str, now: datetime
    ) -> StoredReply | None:
        pk = f"IDEM#{user_id}#{key}"
        expires = now + IDEMPOTENCY_RETENTION
        item = {
            "pk": pk,
            "user_id": user_id,
            "key": key,
            "fingerprint": fingerprint,
            "state": "pending",
            "claimed_at": to_text(now),
            "expires_at": to_text(expires),
            TTL_ATTRIBUTE: _ttl(expires),
        }
        for _ in range(_ATTEMPTS):
            try:
                # Free, past its retention (TTL deletes lazily), or an abandoned claim of the
                # same request whose lease ran out.
                await self._call(
                    "put_item",
                    TableName=self._users,
                    Item=_attrs(item),
                    ConditionExpression=(
                        "attribute_not_exists(pk) OR expires_at < :now OR "
                        "(#state = :pending AND claimed_at <= :cutoff AND fingerprint = :fp)"
                    ),
                    ExpressionAttributeNames={"#state": "state"},
                    ExpressionAttributeValues=_attrs(
                        {
                            ":now": to_text(now),
                            ":pending": "pending",
                            ":cutoff": to_text(now - IDEMPOTENCY_LEASE),
                            ":fp": fingerprint,
                        }
                    ),
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return None
            except _ConditionFailed as exc:
                stored = exc.item or await self._get(self._users, _key(pk))
            if stored is None:
                continue  # released or expired in between: claim again
            if stored["fingerprint"] != fingerprint:
                raise key_reused()
            if stored["state"] == "done":
                return StoredReply(status=int(stored["status"]), body=stored["body"])
            raise in_progress()
        raise Unavailable("idempotency key kept changing while being claimed; try again")

    async def release_idempotency_key(self, user_id: str, key: str) -> None:
        try:
            await self._call(
                "delete_item",
                TableName=self._users,
                Key=_key(f"IDEM#{user_id}#{key}"),
                ConditionExpression="#state = :pending",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=_attrs({":pending": "pending"}),
            )
        except _ConditionFailed:
            pass  # completed (its reply stays) or already gone
