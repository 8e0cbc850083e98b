"""Groups: their META item, a member's view of them, the groups of a user (GSI `by_user`) and
edits (deletion is `group_deletion`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain import Conflict, Group, GroupMembership, Member, Page, PreconditionFailed, Unavailable
from domain.clock import from_text, to_text
from domain.models import GroupKind
from store.base import NewGroup
from store.cursor import encode_cursor, timed_pair
from store.dynamodb.changelog import Logged, UserLogged
from store.dynamodb.client import _ATTEMPTS, _backoff, _Cancelled
from store.dynamodb.connection import _Connection
from store.dynamodb.items import (
    _attrs,
    _group,
    _group_meta,
    _key,
    _member,
    _member_order,
    _membership_item,
    _person_put,
    _plain,
    categories_item,
    rates_item,
)
from store.dynamodb.tables import USER_GROUPS_INDEX
from store.errors import group_not_found, user_not_found

_EDITABLE = ("name", "description", "default_currency", "categories", "rates")
_AS_ITEM: dict[str, Callable[[Any], list[dict[str, Any]]]] = {
    "categories": categories_item,
    "rates": rates_item,
}
_LIST_PAGES = 5
"""Bound on the `by_user` Queries one page of groups makes when filtering by kind leaves a Query's
page short (each stops at `Limit` items read or 1 MB); a page then ends early, with a cursor."""


class _Groups(_Connection):
    """The groups part of the contract."""

    async def create_group(self, group: NewGroup) -> Group:
        created = to_text(group.created_at)
        meta = _group_meta(group, 1)
        try:
            await self._transact_logged(
                group.id,
                [
                    {
                        "ConditionCheck": {
                            "TableName": self._users,
                            "Key": _key(f"USER#{group.owner_id}"),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._groups,
                            "Item": _attrs(meta),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._groups,
                            "Item": _membership_item(group.id, group.owner_id, "owner", created),
                        }
                    },
                    _person_put(self._groups, group.id, group.owner_id, created),
                ],
                [Logged("group", group.id, "upsert", 1), Logged("member", group.owner_id, "upsert")],
                known={},
                users=[UserLogged(group.owner_id, "group", group.id, "upsert")],
            )
        except _Cancelled as exc:
            if exc.failed(0):
                raise user_not_found() from None
            raise Conflict("group already exists", code="group_exists") from None
        return _group(meta)

    async def get_group(self, group_id: str) -> Group:
        item = await self._get(self._groups, _key(f"GROUP#{group_id}", "META"))
        if item is None:
            raise group_not_found()
        return _group(item)

    async def get_group_as_member(self, group_id: str, user_id: str) -> tuple[Group, Member]:
        meta, membership = await self._meta_and_membership(group_id, user_id)
        if meta is None or membership is None:
            raise group_not_found()
        return _group(meta), _member(membership)

    async def get_group_with_member_ids(self, group_id: str, user_id: str) -> tuple[Group, Member, list[str]]:
        items = await self._partition(group_id)
        meta = next((item for item in items if item["sk"] == "META"), None)
        memberships = [item for item in items if item["sk"].startswith("MEMBER#")]
        mine = next((m for m in memberships if m["user_id"] == user_id), None)
        if meta is None or mine is None:
            raise group_not_found()
        memberships.sort(key=_member_order)
        return _group(meta), _member(mine), [m["user_id"] for m in memberships]

    async def list_user_groups(
        self, user_id: str, *, limit: int, cursor: str | None = None, kind: GroupKind | None = None
    ) -> Page[GroupMembership]:
        params: dict[str, Any] = {
            "TableName": self._groups,
            "IndexName": USER_GROUPS_INDEX,
            "KeyConditionExpression": "gsi1pk = :user",
            "ExpressionAttributeValues": _attrs({":user": f"USER#{user_id}"}),
            "ScanIndexForward": False,
        }
        if kind is not None:
            # Only direct ledgers' memberships carry `kind`; a missing one is an ordinary group.
            params["FilterExpression"] = (
                "#kind = :kind" if kind == "direct" else "attribute_not_exists(#kind) OR #kind = :kind"
            )
            params["ExpressionAttributeNames"] = {"#kind": "kind"}
            params["ExpressionAttributeValues"] = _attrs({":user": f"USER#{user_id}", ":kind": kind})
        if cursor is not None:
            joined_at, group_id = timed_pair("user_groups", cursor)
            params["ExclusiveStartKey"] = _attrs(
                {
                    "gsi1pk": f"USER#{user_id}",
                    "gsi1sk": f"{joined_at}#{group_id}",
                    "pk": f"GROUP#{group_id}",
                    "sk": f"MEMBER#{user_id}",
                }
            )
        memberships: list[dict[str, Any]] = []
        evaluated: dict[str, Any] | None = None
        for _ in range(_LIST_PAGES):
            # One extra item tells whether another page exists, as the SQLite backend does.
            params["Limit"] = limit + 1 - len(memberships)
            response = await self._call("query", **params)
            memberships += [_plain(item) for item in response.get("Items", [])]
            evaluated = response.get("LastEvaluatedKey")
            if len(memberships) > limit or evaluated is None:
                break
            params["ExclusiveStartKey"] = evaluated
        page = memberships[:limit]
        metas = {
            item["id"]: item
            for item in await self._batch_get(
                self._groups, [_key(f"GROUP#{m['group_id']}", "META") for m in page]
            )
        }
        items = [
            GroupMembership(
                group=_group(metas[m["group_id"]]),
                role=m["role"],
                joined_at=from_text(m["joined_at"]),
            )
            for m in page
            if m["group_id"] in metas
        ]
        next_cursor = None
        if len(memberships) > limit:
            last = page[-1]
            next_cursor = encode_cursor("user_groups", [last["joined_at"], last["group_id"]])
        elif evaluated is not None:
            # The filter left this stretch of the index short: go on from where the Query stopped.
            joined_at, _, group_id = _plain(evaluated)["gsi1sk"].rpartition("#")
            next_cursor = encode_cursor("user_groups", [joined_at, group_id])
        return Page(items=items, next_cursor=next_cursor)

    async def update_group(
        self, group_id: str, *, expected_version: int, changes: dict[str, Any], updated_at: datetime
    ) -> Group:
        fields = [column for column in _EDITABLE if column in changes]
        names = {"#version": "version", "#updated": "updated_at"}
        values: dict[str, Any] = {
            ":expected": expected_version,
            ":one": 1,
            ":updated": to_text(updated_at),
        }
        assignments = []
        stored = {
            column: _AS_ITEM[column](changes[column]) if column in _AS_ITEM else changes[column]
            for column in fields
        }
        for number, column in enumerate(fields):
            names[f"#f{number}"] = column
            values[f":f{number}"] = stored[column]
            assignments.append(f"#f{number} = :f{number}")
        assignments += ["#version = #version + :one", "#updated = :updated"]
        action = {
            "Update": {
                "TableName": self._groups,
                "Key": _key(f"GROUP#{group_id}", "META"),
                "UpdateExpression": "SET " + ", ".join(assignments),
                "ConditionExpression": "attribute_exists(pk) AND #version = :expected",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": _attrs(values),
            }
        }
        for attempt in range(_ATTEMPTS):
            meta = await self._get(self._groups, _key(f"GROUP#{group_id}", "META"))
            if meta is None:
                raise group_not_found()
            current = int(meta["version"])
            if current != expected_version:
                raise PreconditionFailed(
                    f"group was changed meanwhile: you sent version {expected_version}, it is now {current}",
                    details={"current_version": current},
                )
            logged = [Logged("group", group_id, "upsert", expected_version + 1)]
            try:
                await self._transact_logged(group_id, [action], logged, known=meta)
            except _Cancelled:
                await _backoff(attempt)  # changed since the read: judge it again
                continue
            return _group(
                {**meta, **stored, "version": expected_version + 1, "updated_at": to_text(updated_at)}
            )
        raise Unavailable("group kept changing while being updated; try again")
