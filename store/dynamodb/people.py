"""People: a user's own profile settings, who may look whom up (the `PERSON#` items of a group,
one per person who ever belonged to it, written with every membership and kept after leaving),
and users by id in one batch read."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from domain import Page, Unavailable, User
from store.cursor import decode_cursor, encode_cursor, foreign_cursor
from store.dynamodb.changelog import UserLogged
from store.dynamodb.client import _Cancelled
from store.dynamodb.connection import _Connection
from store.dynamodb.items import _attrs, _key, _plain, _user
from store.dynamodb.tables import USER_GROUPS_INDEX
from store.errors import user_not_found

_PROFILE_ATTRIBUTES = ("name", "default_currency", "locale")
_MEMBERSHIP_PAGES = 5
"""Bound on the `by_user` pages read to find the viewer's groups (a page stops at 1 MB; only the
group ids are projected, so one page holds thousands of memberships)."""


class _People(_Connection):
    """The people part of the contract."""

    async def list_groups_ever(self, user_id: str, *, limit: int, cursor: str | None = None) -> Page[str]:
        params: dict[str, Any] = {
            "TableName": self._groups,
            "IndexName": USER_GROUPS_INDEX,
            "KeyConditionExpression": "gsi1pk = :person",
            "ExpressionAttributeValues": _attrs({":person": f"PERSON#{user_id}"}),
            "ProjectionExpression": "group_id",
            "Limit": limit,
        }
        if cursor is not None:
            after = decode_cursor("groups_ever", cursor)
            if not isinstance(after, str) or not after:
                raise foreign_cursor()
            params["ExclusiveStartKey"] = _attrs(
                {
                    "gsi1pk": f"PERSON#{user_id}",
                    "gsi1sk": after,
                    "pk": f"GROUP#{after}",
                    "sk": f"PERSON#{user_id}",
                }
            )
        response = await self._call("query", **params)
        ids = [_plain(item)["group_id"] for item in response.get("Items", [])]
        more = response.get("LastEvaluatedKey") is not None and bool(ids)
        return Page(items=ids, next_cursor=encode_cursor("groups_ever", ids[-1]) if more else None)

    async def update_profile(self, user_id: str, *, changes: dict[str, Any]) -> User:
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        assignments = []
        for number, attribute in enumerate(a for a in _PROFILE_ATTRIBUTES if a in changes):
            names[f"#a{number}"] = attribute
            values[f":a{number}"] = changes[attribute]
            assignments.append(f"#a{number} = :a{number}")
        if "name" in changes:
            assignments.append("name_set = :set")
            values[":set"] = True
        if not assignments:
            return await self.get_user(user_id)
        update = {
            "Update": {
                "TableName": self._users,
                "Key": _key(f"USER#{user_id}"),
                "UpdateExpression": "SET " + ", ".join(assignments),
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": _attrs(values),
            }
        }
        try:
            # A transaction (to log the change in the user's own log) returns no item: read it
            # back after, as it now stands.
            await self._transact_logged(
                None, [update], users=[UserLogged(user_id, "profile", user_id, "upsert")]
            )
        except _Cancelled:
            raise user_not_found() from None
        return await self.get_user(user_id)

    async def can_see_user(self, viewer_id: str, user_id: str) -> bool:
        if viewer_id == user_id:
            return await self._get(self._users, _key(f"USER#{user_id}")) is not None
        group_ids = await self._group_ids(viewer_id)
        if not group_ids:
            return False
        found = await self._batch_get(
            self._groups, [_key(f"GROUP#{group_id}", f"PERSON#{user_id}") for group_id in group_ids]
        )
        return bool(found)

    async def _group_ids(self, user_id: str) -> list[str]:
        """The ids of every group the user is a member of now (GSI `by_user`)."""
        params: dict[str, Any] = {
            "TableName": self._groups,
            "IndexName": USER_GROUPS_INDEX,
            "KeyConditionExpression": "gsi1pk = :user",
            "ExpressionAttributeValues": _attrs({":user": f"USER#{user_id}"}),
            "ProjectionExpression": "group_id",
        }
        group_ids: list[str] = []
        for _ in range(_MEMBERSHIP_PAGES):
            response = await self._call("query", **params)
            group_ids += [_plain(item)["group_id"] for item in response.get("Items", [])]
            evaluated = response.get("LastEvaluatedKey")
            if evaluated is None:
                return group_ids
            params["ExclusiveStartKey"] = evaluated
        raise Unavailable("the user belongs to more groups than a lookup reads")

    async def get_users(self, user_ids: Collection[str]) -> dict[str, User]:
        wanted = sorted(set(user_ids))
        if not wanted:
            return {}
        items = await self._batch_get(self._users, [_key(f"USER#{user_id}") for user_id in wanted])
        return {user.id: user for user in map(_user, items)}
