"""Native apps' authorization codes in the users table: `CODE#<sha256 of the code>` items, whose TTL
falls AUTHORIZATION_CODE_RETENTION after the code's expiry, burned by one conditional update."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.clock import from_text, to_text
from store.base import (
    AUTHORIZATION_CODE_RETENTION,
    AuthorizationCode,
    Redemption,
    RedemptionResult,
)
from store.dynamodb.client import _ConditionFailed
from store.dynamodb.connection import _Connection
from store.dynamodb.items import _attrs, _key, _plain, _ttl
from store.dynamodb.tables import TTL_ATTRIBUTE


def _code(item: dict[str, Any]) -> AuthorizationCode:
    return AuthorizationCode(
        user_id=item["user_id"],
        redirect_uri=item["redirect_uri"],
        code_challenge=item["code_challenge"],
        expires_at=from_text(item["expires_at"]),
        session_id=item.get("session_id"),
    )


class _AuthorizationCodes(_Connection):
    """The authorization-code part of the contract."""

    async def create_authorization_code(self, code_hash: str, code: AuthorizationCode, now: datetime) -> None:
        item = {
            "pk": f"CODE#{code_hash}",
            "user_id": code.user_id,
            "redirect_uri": code.redirect_uri,
            "code_challenge": code.code_challenge,
            "expires_at": to_text(code.expires_at),
            TTL_ATTRIBUTE: _ttl(code.expires_at + AUTHORIZATION_CODE_RETENTION),
        }
        await self._call(
            "put_item",
            TableName=self._users,
            Item=_attrs(item),
            ConditionExpression="attribute_not_exists(pk)",
        )

    async def redeem_authorization_code(
        self, code_hash: str, now: datetime, session_id: str
    ) -> RedemptionResult:
        moment = to_text(now)
        try:
            response = await self._call(
                "update_item",
                TableName=self._users,
                Key=_key(f"CODE#{code_hash}"),
                UpdateExpression="SET used_at = :now, session_id = :sid",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(used_at) AND "
                "expires_at > :now",
                ExpressionAttributeValues=_attrs({":now": moment, ":sid": session_id}),
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except _ConditionFailed as exc:
            if exc.item is not None and exc.item.get("used_at"):
                return RedemptionResult(Redemption.REUSED, _code(exc.item))
            return RedemptionResult(Redemption.UNKNOWN, None)
        return RedemptionResult(Redemption.REDEEMED, _code(_plain(response["Attributes"])))
