"""Memberships: the roster of a group, joining (bounded by MAX_GROUP_MEMBERS) and leaving (only
with settled balances)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain import ActivityEntry, Conflict, Member, NotFound, Unavailable
from domain.clock import to_text, utc_now
from domain.models import MAX_GROUP_MEMBERS
from store.dynamodb.changelog import Logged, UserLogged, membership_kind
from store.dynamodb.client import _ATTEMPTS, _backoff, _Cancelled
from store.dynamodb.connection import _Connection
from store.dynamodb.items import (
    DELETING,
    NOT_DELETING,
    _attrs,
    _key,
    _member,
    _member_order,
    _membership_item,
    _person_put,
    _removal_put,
    _settled_condition,
    _unsettled_balances,
)
from store.dynamodb.lease import IMPORT_UNTIL, lease_refusal
from store.errors import group_not_found, owner_cannot_leave, unsettled, user_not_found


class _Members(_Connection):
    """The membership part of the contract."""

    async def list_members(self, group_id: str) -> list[Member]:
        memberships = await self._partition(group_id, "MEMBER#")
        if not memberships:
            return []
        profiles = {
            item["id"]: item
            for item in await self._batch_get(
                self._users, [_key(f"USER#{m['user_id']}") for m in memberships]
            )
        }
        memberships.sort(key=_member_order)
        return [_member(m, profiles[m["user_id"]]) for m in memberships if m["user_id"] in profiles]

    async def add_member(
        self,
        group_id: str,
        user_id: str,
        joined_at: datetime,
        activity: ActivityEntry | None = None,
    ) -> tuple[Member, bool]:
        joined = to_text(joined_at)
        meta_values: dict[str, Any] = {":one": 1, ":max": MAX_GROUP_MEMBERS}
        meta_update = "SET member_count = member_count + :one"
        if activity is not None:
            meta_update += ", last_activity_at = :at"
            meta_values[":at"] = to_text(activity.at)
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._groups,
                    "Key": _key(f"GROUP#{group_id}", "META"),
                    "UpdateExpression": meta_update,
                    "ConditionExpression": f"attribute_exists(pk) AND member_count < :max AND {NOT_DELETING}",
                    "ExpressionAttributeValues": _attrs(meta_values),
                }
            },
            {
                "Put": {
                    "TableName": self._groups,
                    "Item": _membership_item(group_id, user_id, "member", joined),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "ConditionCheck": {
                    "TableName": self._users,
                    "Key": _key(f"USER#{user_id}"),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
            _person_put(self._groups, group_id, user_id, joined),
        ]
        if activity is not None:
            # Cancelled with the rest when the user already belongs: nothing is logged then.
            actions.append(self._log(activity))
        for attempt in range(_ATTEMPTS):
            try:
                await self._transact_logged(
                    group_id,
                    actions,
                    [Logged("member", user_id, "upsert")],
                    # The membership it writes carries no `kind`: the user's view counts it a group.
                    users=[UserLogged(user_id, "group", group_id, "upsert")],
                )
                return Member(user_id=user_id, role="member", joined_at=joined_at), True
            except _Cancelled as exc:
                meta, membership = await self._meta_and_membership(group_id, user_id)
                if meta is None or DELETING in meta:
                    raise group_not_found() from None
                if membership is not None:
                    return _member(membership), False
                if int(meta["member_count"]) >= MAX_GROUP_MEMBERS:
                    raise Conflict(
                        f"group is full: at most {MAX_GROUP_MEMBERS} members", code="group_full"
                    ) from None
                if exc.failed(2):
                    raise user_not_found() from None
            # The state that failed the transaction is gone (say, a member left); try again.
            await _backoff(attempt)
        raise Unavailable("group kept changing while adding a member; try again")

    async def remove_member(
        self,
        group_id: str,
        user_id: str,
        activity: ActivityEntry | None = None,
        *,
        barred_at: datetime | None = None,
    ) -> None:
        for attempt in range(_ATTEMPTS):
            membership = await self._get(self._groups, _key(f"GROUP#{group_id}", f"MEMBER#{user_id}"))
            if membership is None:
                raise NotFound("member not found")
            if _unsettled_balances(membership):
                raise unsettled("this member still has an unsettled balance; settle up first")
            # The owner may only go as the last member (account deletion); the group then stays,
            # memberless, with its history.
            owner = membership["role"] == "owner"
            # Not while an import holds the group: taking its records back needs every member
            # it moved (`store.dynamodb.imports`).
            at = activity.at if activity is not None else utc_now()
            meta_values: dict[str, Any] = {":one": 1, ":at": to_text(at)}
            meta_update = "SET member_count = member_count - :one"
            meta_condition = (
                f"attribute_exists(pk) AND (attribute_not_exists({IMPORT_UNTIL}) OR {IMPORT_UNTIL} < :at)"
            )
            if owner:
                meta_condition += " AND member_count = :one"
            if activity is not None:
                meta_update += ", last_activity_at = :at"
            actions: list[dict[str, Any]] = [
                {
                    "Delete": {
                        "TableName": self._groups,
                        "Key": _key(f"GROUP#{group_id}", f"MEMBER#{user_id}"),
                        # Race-free: fails if an expense moved the balances since the read, or
                        # a handover made them the owner.
                        **(
                            _settled_condition(membership)
                            if owner
                            else _not_the_owner(_settled_condition(membership))
                        ),
                    }
                },
                {
                    "Update": {
                        "TableName": self._groups,
                        "Key": _key(f"GROUP#{group_id}", "META"),
                        "UpdateExpression": meta_update,
                        "ConditionExpression": meta_condition,
                        "ExpressionAttributeValues": _attrs(meta_values),
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
            # The invites they made need no write: each names the membership it was made in,
            # which this deletes. A removal is recorded, to keep them out through older links.
            if barred_at is not None:
                actions.append(_removal_put(self._groups, group_id, user_id, barred_at))
            if activity is not None:
                actions.append(self._log(activity))
            try:
                await self._transact_logged(
                    group_id,
                    actions,
                    [Logged("member", user_id, "delete")],
                    users=[UserLogged(user_id, membership_kind(membership), group_id, "delete")],
                )
                return
            except _Cancelled as exc:
                if exc.failed(1):
                    meta = exc.old_item(1)
                    if meta is None:
                        raise group_not_found() from None
                    if refusal := lease_refusal(meta, at):
                        raise refusal from None
                    if owner:
                        raise owner_cannot_leave() from None
            # The membership changed since it was read (or left meanwhile); judge it again.
            await _backoff(attempt)
        raise Unavailable("membership kept changing while being removed; try again")


def _not_the_owner(condition: dict[str, Any]) -> dict[str, Any]:
    """`condition` (a ConditionExpression with its names and values), and that the membership is
    not the owner's."""
    return {
        "ConditionExpression": f"({condition['ConditionExpression']}) AND #role <> :owner",
        "ExpressionAttributeNames": {**condition.get("ExpressionAttributeNames", {}), "#role": "role"},
        "ExpressionAttributeValues": {
            **condition.get("ExpressionAttributeValues", {}),
            **_attrs({":owner": "owner"}),
        },
    }
