"""Deleting an account, and what the export needs of the user item that no record carries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain import Unavailable, User
from domain.clock import to_text
from store.dynamodb.client import _ATTEMPTS, _Cancelled
from store.dynamodb.connection import _Connection
from store.dynamodb.items import _attrs, _key, _user
from store.errors import user_not_found


class _Account(_Connection):
    """The account part of the contract, on the users table."""

    async def get_oidc_subject(self, user_id: str) -> str | None:
        item = await self._get(self._users, _key(f"USER#{user_id}"))
        if item is None:
            raise user_not_found()
        subject: str | None = item.get("oidc_subject")
        return subject

    async def erase_user(self, user_id: str, deleted_at: datetime) -> User:
        for _ in range(_ATTEMPTS):
            item = await self._get(self._users, _key(f"USER#{user_id}"))
            if item is None:
                raise user_not_found()
            if item.get("deleted_at"):
                return _user(item)
            try:
                await self._transact(self._erasure(item, to_text(deleted_at)))
            except _Cancelled:
                # A sign-in linked or changed the account meanwhile: read it again.
                continue
            return _user(
                {**item, "name": "", "email": "", "picture": None, "deleted_at": to_text(deleted_at)}
            )
        raise Unavailable("account deletion kept racing with a sign-in; try again")

    def _erasure(self, item: dict[str, Any], deleted_at: str) -> list[dict[str, Any]]:
        """The profile erased and its EMAIL#/SUB# pointers deleted, in one transaction whose
        conditions fail if the profile's e-mail or link changed since `item` was read."""
        user_id, email, subject = item["id"], item["email"], item.get("oidc_subject")
        link_unchanged = "oidc_subject = :s" if subject else "attribute_not_exists(oidc_subject)"
        values: dict[str, Any] = {":empty": "", ":d": deleted_at, ":e": email}
        if subject:
            values[":s"] = subject
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._users,
                    "Key": _key(f"USER#{user_id}"),
                    "UpdateExpression": "SET #n = :empty, email = :empty, deleted_at = :d "
                    "REMOVE picture, oidc_subject",
                    "ConditionExpression": f"attribute_exists(pk) AND email = :e AND {link_unchanged}",
                    "ExpressionAttributeNames": {"#n": "name"},
                    "ExpressionAttributeValues": _attrs(values),
                }
            }
        ]
        pointers = ([f"EMAIL#{email}"] if email else []) + ([f"SUB#{subject}"] if subject else [])
        for pointer in pointers:
            actions.append(
                {
                    "Delete": {
                        "TableName": self._users,
                        "Key": _key(pointer),
                        "ConditionExpression": "attribute_not_exists(pk) OR user_id = :u",
                        "ExpressionAttributeValues": _attrs({":u": user_id}),
                    }
                }
            )
        return actions
