"""Direct ledgers (friendships) on DynamoDB. A direct ledger is a group partition like any other;
its membership items also carry `kind` ("direct", so that GSI `by_user` can be filtered by kind)
and `friend_id` (the other person). Ending one moves each membership's spending to a `FORMER#`
item of the partition, from which a re-added membership takes it back."""

from __future__ import annotations

import asyncio
from typing import Any

from domain import Group, NotFound, Unavailable
from domain.clock import from_text, to_text
from domain.models import Friend, GroupBalances
from store.base import NewGroup
from store.dynamodb.changelog import Logged, UserLogged, membership_kind
from store.dynamodb.client import _ATTEMPTS, _backoff, _Cancelled
from store.dynamodb.connection import _Connection
from store.dynamodb.items import (
    _attrs,
    _balances,
    _group,
    _group_meta,
    _key,
    _membership_item,
    _person_put,
    _settled_condition,
    _unsettled_balances,
    _user,
)
from store.errors import unsettled, user_not_found

_PARALLEL_PARTITIONS = 16
"""How many group partitions `balances_across_groups` reads at once."""


def _direct_membership(group_id: str, user_id: str, friend_id: str, joined_at: str, former: Any) -> Any:
    item = _membership_item(group_id, user_id, "member", joined_at)
    extra: dict[str, Any] = {"kind": "direct", "friend_id": friend_id}
    if former is not None and former.get("spending"):
        extra["spending"] = former["spending"]
    return {**item, **_attrs(extra)}


class _Friends(_Connection):
    """The direct-ledger part of the contract."""

    async def ensure_direct_group(self, group: NewGroup, friend_id: str) -> tuple[Group, bool]:
        joined = to_text(group.created_at)
        people = {group.owner_id: friend_id, friend_id: group.owner_id}
        for attempt in range(_ATTEMPTS):
            items = await self._partition(group.id)
            by_sk = {item["sk"]: item for item in items}
            meta = by_sk.get("META")
            missing = [user_id for user_id in people if f"MEMBER#{user_id}" not in by_sk]
            if meta is not None and not missing:
                return _group(meta), False
            known = meta or {}
            logged = [] if meta is not None else [Logged("group", group.id, "upsert", 1)]
            logged += [Logged("member", user_id, "upsert") for user_id in missing]
            actions: list[dict[str, Any]] = [
                {
                    "ConditionCheck": {
                        "TableName": self._users,
                        "Key": _key(f"USER#{user_id}"),
                        # Nobody befriends an account erased meanwhile.
                        "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(deleted_at)",
                    }
                }
                for user_id in missing
            ]
            if meta is None:
                meta = _group_meta(group, len(missing), "direct")
                actions.append(
                    {
                        "Put": {
                            "TableName": self._groups,
                            "Item": _attrs(meta),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    }
                )
            else:
                # The count pins the roster read: a membership added meanwhile cancels this.
                count = int(meta["member_count"])
                actions.append(
                    {
                        "Update": {
                            "TableName": self._groups,
                            "Key": _key(f"GROUP#{group.id}", "META"),
                            "UpdateExpression": "SET member_count = :new",
                            "ConditionExpression": "member_count = :count",
                            "ExpressionAttributeValues": _attrs(
                                {":new": count + len(missing), ":count": count}
                            ),
                        }
                    }
                )
                meta = {**meta, "member_count": count + len(missing)}
            for user_id in missing:
                former = by_sk.get(f"FORMER#{user_id}")
                actions.append(
                    {
                        "Put": {
                            "TableName": self._groups,
                            "Item": _direct_membership(group.id, user_id, people[user_id], joined, former),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    }
                )
                actions.append(_person_put(self._groups, group.id, user_id, joined))
                if former is not None:
                    actions.append(
                        {
                            "Delete": {
                                "TableName": self._groups,
                                "Key": _key(f"GROUP#{group.id}", f"FORMER#{user_id}"),
                            }
                        }
                    )
            try:
                await self._transact_logged(
                    group.id,
                    actions,
                    logged,
                    known=known,
                    users=[UserLogged(user_id, "friend", group.id, "upsert") for user_id in missing],
                )
                return _group(meta), True
            except _Cancelled as exc:
                if any(exc.failed(number) for number in range(len(missing))):
                    raise user_not_found() from None
            # Someone else made the ledger or added a membership meanwhile: look again.
            await _backoff(attempt)
        raise Unavailable("direct ledger kept changing while adding a friend; try again")

    async def end_direct_group(self, group_id: str) -> None:
        for attempt in range(_ATTEMPTS):
            members = await self._partition(group_id, "MEMBER#")
            if not members:
                raise NotFound("not a friend")
            if any(_unsettled_balances(m) for m in members):
                raise unsettled("your direct balance is not settled yet; settle up first")
            actions: list[dict[str, Any]] = [
                {
                    "Update": {
                        "TableName": self._groups,
                        "Key": _key(f"GROUP#{group_id}", "META"),
                        "UpdateExpression": "SET member_count = :zero",
                        "ConditionExpression": "member_count = :count",
                        "ExpressionAttributeValues": _attrs({":zero": 0, ":count": len(members)}),
                    }
                }
            ]
            for m in members:
                # Each Delete pins the zeros just read: an expense written since cancels this.
                actions.append(
                    {
                        "Delete": {
                            "TableName": self._groups,
                            "Key": _key(f"GROUP#{group_id}", m["sk"]),
                            **_settled_condition(m),
                        }
                    }
                )
                former = {
                    "pk": f"GROUP#{group_id}",
                    "sk": f"FORMER#{m['user_id']}",
                    "user_id": m["user_id"],
                    "spending": m.get("spending") or {},
                }
                actions.append({"Put": {"TableName": self._groups, "Item": _attrs(former)}})
            logged = [Logged("member", m["user_id"], "delete") for m in members]
            try:
                await self._transact_logged(
                    group_id,
                    actions,
                    logged,
                    users=[UserLogged(m["user_id"], membership_kind(m), group_id, "delete") for m in members],
                )
                return
            except _Cancelled:
                await _backoff(attempt)
        raise Unavailable("direct ledger kept changing while ending the friendship; try again")

    async def list_friends(self, user_id: str, *, limit: int) -> tuple[list[Friend], bool]:
        memberships, more = await self._newest_memberships(user_id, limit, "direct")
        profiles = {
            item["id"]: item
            for item in await self._batch_get(
                self._users, [_key(f"USER#{m['friend_id']}") for m in memberships]
            )
        }
        friends = [
            Friend(
                user=_user(profiles[m["friend_id"]]), group_id=m["group_id"], since=from_text(m["joined_at"])
            )
            for m in memberships
            if m["friend_id"] in profiles
        ]
        return friends, more

    async def balances_across_groups(
        self, user_id: str, *, group_limit: int
    ) -> tuple[list[GroupBalances], bool]:
        memberships, more = await self._newest_memberships(user_id, group_limit)
        owing = [m for m in memberships if _unsettled_balances(m)]
        gate = asyncio.Semaphore(_PARALLEL_PARTITIONS)

        async def balances_of(membership: dict[str, Any]) -> GroupBalances:
            async with gate:
                members = await self._partition(membership["group_id"], "MEMBER#")
            return GroupBalances(
                group_id=membership["group_id"],
                kind="direct" if membership.get("kind") == "direct" else "group",
                balances=[b for b in _balances(members) if b.amount],
            )

        found = await asyncio.gather(*(balances_of(m) for m in owing))
        return [g for g in found if any(b.user_id == user_id for b in g.balances)], more
