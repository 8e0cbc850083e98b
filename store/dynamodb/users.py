"""Users (found by email or by sign-in identity) and revoked tokens: the users table."""

from __future__ import annotations

from datetime import datetime

from domain import Unavailable, User
from domain.clock import to_text, utc_now
from domain.ids import new_id
from store.base import TokenStanding
from store.dynamodb.changelog import UserLogged
from store.dynamodb.client import _ATTEMPTS, _Cancelled
from store.dynamodb.connection import _Connection
from store.dynamodb.items import _attrs, _key, _ttl, _user
from store.dynamodb.tables import TTL_ATTRIBUTE
from store.errors import linked_elsewhere, user_not_found


class _Users(_Connection):
    """The users and tokens part of the contract."""

    async def ensure_user(self, email: str, name: str, picture: str | None = None) -> User:
        email = email.strip().lower()
        existing = await self.find_user_by_email(email)
        if existing is not None:
            return existing
        user = User(id=new_id(), email=email, name=name, picture=picture, created_at=utc_now())
        profile = {
            "pk": f"USER#{user.id}",
            "id": user.id,
            "email": email,
            "name": name,
            "picture": picture,
            "created_at": to_text(user.created_at),
        }
        try:
            await self._transact(
                [
                    {
                        "Put": {
                            "TableName": self._users,
                            "Item": _attrs(profile),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._users,
                            "Item": _attrs({"pk": f"EMAIL#{email}", "user_id": user.id}),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except _Cancelled:
            winner = await self.find_user_by_email(email)
            if winner is None:
                raise Unavailable("user creation raced and the winner is not visible") from None
            return winner
        return user

    async def get_user(self, user_id: str) -> User:
        item = await self._get(self._users, _key(f"USER#{user_id}"))
        if item is None:
            raise user_not_found()
        return _user(item)

    async def find_user_by_email(self, email: str) -> User | None:
        pointer = await self._get(self._users, _key(f"EMAIL#{email.strip().lower()}"))
        if pointer is None:
            return None
        item = await self._get(self._users, _key(f"USER#{pointer['user_id']}"))
        return None if item is None else _user(item)

    async def ensure_oidc_user(self, subject: str, email: str, name: str, picture: str | None) -> User:
        email = email.strip().lower()
        for _ in range(_ATTEMPTS):
            pointer = await self._get(self._users, _key(f"SUB#{subject}"))
            if pointer is not None:
                return await self._refresh_profile(pointer["user_id"], name, picture)
            existing = await self._get(self._users, _key(f"EMAIL#{email}"))
            try:
                if existing is None:
                    return await self._create_oidc_user(subject, email, name, picture)
                await self._link_subject(existing["user_id"], subject)
                return await self._refresh_profile(existing["user_id"], name, picture)
            except _Cancelled as exc:
                if existing is not None and exc.failed(1):
                    raise linked_elsewhere() from None
                # Lost a race with a concurrent first sign-in: read the winner's links again.
        raise Unavailable("sign-in kept racing with another; try again")

    async def _create_oidc_user(self, subject: str, email: str, name: str, picture: str | None) -> User:
        user = User(id=new_id(), email=email, name=name, picture=picture, created_at=utc_now())
        profile = {
            "pk": f"USER#{user.id}",
            "id": user.id,
            "email": email,
            "name": name,
            "picture": picture,
            "created_at": to_text(user.created_at),
            "oidc_subject": subject,
        }
        await self._transact(
            [
                {
                    "Put": {
                        "TableName": self._users,
                        "Item": _attrs(profile),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": self._users,
                        "Item": _attrs({"pk": f"EMAIL#{email}", "user_id": user.id}),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": self._users,
                        "Item": _attrs({"pk": f"SUB#{subject}", "user_id": user.id}),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
        return user

    async def _link_subject(self, user_id: str, subject: str) -> None:
        """Point `subject` at the user, if they are not linked to another subject yet (action 1)."""
        await self._transact(
            [
                {
                    "Put": {
                        "TableName": self._users,
                        "Item": _attrs({"pk": f"SUB#{subject}", "user_id": user_id}),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": self._users,
                        "Key": _key(f"USER#{user_id}"),
                        "UpdateExpression": "SET oidc_subject = :s",
                        "ConditionExpression": "attribute_exists(pk) AND "
                        "(attribute_not_exists(oidc_subject) OR oidc_subject = :s)",
                        "ExpressionAttributeValues": _attrs({":s": subject}),
                    }
                },
            ]
        )

    async def _refresh_profile(self, user_id: str, name: str, picture: str | None) -> User:
        """Take the provider's name and picture, unless the user has named themselves. A change
        is logged in the user's own changes log, in the same transaction; a sign-in that changes
        nothing writes nothing."""
        item = await self._get(self._users, _key(f"USER#{user_id}"))
        if item is None:
            raise user_not_found()
        current = _user(item)
        if item.get("name_set") or (current.name, current.picture) == (name, picture):
            return current
        update = {
            "Update": {
                "TableName": self._users,
                "Key": _key(f"USER#{user_id}"),
                "UpdateExpression": "SET #n = :n, picture = :p",
                "ConditionExpression": "attribute_exists(pk) AND "
                "(attribute_not_exists(name_set) OR name_set = :unset)",
                "ExpressionAttributeNames": {"#n": "name"},
                "ExpressionAttributeValues": _attrs({":n": name, ":p": picture, ":unset": False}),
            }
        }
        try:
            await self._transact_logged(
                None, [update], users=[UserLogged(user_id, "profile", user_id, "upsert")]
            )
        except _Cancelled:
            pass  # they named themselves (or were erased) meanwhile: as it now stands
        return await self.get_user(user_id)

    async def revoke_token(self, jti: str, expires_at: datetime) -> None:
        await self._call(
            "put_item",
            TableName=self._users,
            Item=_attrs(
                {
                    "pk": f"REVOKED#{jti}",
                    "expires_at": to_text(expires_at),
                    TTL_ATTRIBUTE: _ttl(expires_at),
                }
            ),
        )

    async def token_standing(self, user_id: str, jti: str, session_id: str | None = None) -> TokenStanding:
        keys = [_key(f"USER#{user_id}"), _key(f"REVOKED#{jti}")]
        if session_id is not None:
            keys.append(_key(f"SESSION#{session_id}"))
        found = {item["pk"]: item for item in await self._batch_get(self._users, keys)}
        user = found.get(f"USER#{user_id}")
        # A deleted account's tokens are all dead at once: it counts as no user at all.
        if user is None or user.get("deleted_at"):
            return TokenStanding.UNKNOWN_USER
        if f"REVOKED#{jti}" in found:
            return TokenStanding.REVOKED
        if session_id is not None:
            session = found.get(f"SESSION#{session_id}")
            if session is None or session.get("user_id") != user_id or session.get("revoked_at"):
                return TokenStanding.REVOKED
        return TokenStanding.ACTIVE
