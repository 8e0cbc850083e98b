"""Deleting a group, and telling each member in their own changes log, in the transaction that
ends their membership. A transaction holds at most 100 actions, too few to end 50 memberships and
log each: the newest members of a bigger group leave first, in transactions of their own, each
leaving a valid smaller group (logged in the group's log as well).

So that a deletion that has begun removing people cannot then be refused, a bigger group is first
frozen: one transaction checks that every membership is settled and marks META `deleting_at`;
from then on every write that moves balances (`_touch`) or adds a member fails on META, as for a
deleted group. A crash (or DynamoDB failing) part-way leaves a frozen, smaller group that a DELETE
tried again finishes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain import Unavailable
from domain.clock import to_text, utc_now
from store.dynamodb.changelog import (
    TRANSACTION_ACTIONS,
    USER_LOG_ACTIONS,
    Logged,
    UserLogged,
    membership_kind,
)
from store.dynamodb.client import _ATTEMPTS, _backoff, _Cancelled
from store.dynamodb.connection import _Connection
from store.dynamodb.items import (
    DELETING,
    _attrs,
    _key,
    _member_order,
    _settled_condition,
    _unsettled_balances,
)
from store.dynamodb.lease import IMPORT_UNTIL, lease_refusal
from store.errors import group_not_found, unsettled

_DELETED_AT_ONCE = (TRANSACTION_ACTIONS - 1) // (1 + USER_LOG_ACTIONS)
"""Memberships the transaction that deletes a group can end (33): after META's Delete, each takes
its own Delete and its entry in the member's own log."""
_SHED_AT_ONCE = (TRANSACTION_ACTIONS - 1) // (2 + USER_LOG_ACTIONS)
"""Memberships one transaction ending memberships ahead of a group's deletion can end (24): after
META's Update, each takes its Delete, its entry in the group's log and one in the member's own."""
_NOT_IMPORTING = f"(attribute_not_exists({IMPORT_UNTIL}) OR {IMPORT_UNTIL} < :now)"
"""The condition on META that no import holds the group (`store.dynamodb.imports`) at `:now`."""


class _GroupDeletion(_Connection):
    """The group deletion part of the contract."""

    async def delete_group(self, group_id: str) -> None:
        for attempt in range(_ATTEMPTS):
            items = await self._partition(group_id)
            meta = next((item for item in items if item["sk"] == "META"), None)
            members = sorted((item for item in items if item["sk"].startswith("MEMBER#")), key=_member_order)
            if any(_unsettled_balances(m) for m in members):
                raise unsettled("the group still has unsettled balances; settle up first")
            if meta is None:
                raise group_not_found()
            now = utc_now()
            if refusal := lease_refusal(meta, now):
                raise refusal  # an import's records may yet be taken back, which needs the group
            count = int(meta["member_count"])
            try:
                if len(members) > _DELETED_AT_ONCE:
                    await self._freeze(group_id, count, members, now)
                # The owner sorts first, so never leaves ahead of the rest.
                while len(members) > _DELETED_AT_ONCE:
                    leaving = members[max(_DELETED_AT_ONCE, len(members) - _SHED_AT_ONCE) :]
                    await self._shed_members(group_id, count, leaving)
                    members, count = members[: -len(leaving)], count - len(leaving)
                await self._transact_logged(
                    None,
                    _deletion(self._groups, group_id, count, members, now),
                    users=[UserLogged(m["user_id"], membership_kind(m), group_id, "delete") for m in members],
                )
                # Its recurring expenses (and their occurrence keys) live in a partition of their
                # own; should this be cut short, the scheduler clears what is left.
                await self._delete_partition(self._groups, f"GROUP#{group_id}#RECURRING")
                return
            except _Cancelled:
                await _backoff(attempt)
        raise Unavailable("group kept changing while being deleted; try again")

    async def _freeze(self, group_id: str, count: int, members: list[dict[str, Any]], now: datetime) -> None:
        """Mark the group as being deleted, if it still has `count` members, each still settled
        as read, and no import holds it at `now`: after this nothing can unsettle it or add to it
        (cancelled otherwise)."""
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._groups,
                    "Key": _key(f"GROUP#{group_id}", "META"),
                    "UpdateExpression": f"SET {DELETING} = :now",
                    "ConditionExpression": f"member_count = :count AND {_NOT_IMPORTING}",
                    "ExpressionAttributeValues": _attrs({":now": to_text(now), ":count": count}),
                }
            }
        ]
        actions += [
            {
                "ConditionCheck": {
                    "TableName": self._groups,
                    "Key": _key(f"GROUP#{group_id}", m["sk"]),
                    **_settled_condition(m),
                }
            }
            for m in members
        ]
        await self._transact(actions)

    async def _shed_members(self, group_id: str, count: int, leaving: list[dict[str, Any]]) -> None:
        """Delete the settled memberships `leaving` from a group of `count` members, as if each
        left: one transaction, logged in the group's log and in each leaver's own. Cancelled if
        the roster or a leaver's balances changed since they were read."""
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._groups,
                    "Key": _key(f"GROUP#{group_id}", "META"),
                    "UpdateExpression": "SET member_count = :new",
                    "ConditionExpression": "member_count = :count",
                    "ExpressionAttributeValues": _attrs({":new": count - len(leaving), ":count": count}),
                }
            }
        ]
        actions += [_settled_delete(self._groups, group_id, m) for m in leaving]
        await self._transact_logged(
            group_id,
            actions,
            [Logged("member", m["user_id"], "delete") for m in leaving],
            users=[UserLogged(m["user_id"], membership_kind(m), group_id, "delete") for m in leaving],
        )


def _settled_delete(table: str, group_id: str, membership: dict[str, Any]) -> dict[str, Any]:
    """The Delete of a membership that cancels its transaction unless the membership is still
    there with the zero balances it was read with (an expense written since moved them)."""
    return {
        "Delete": {
            "TableName": table,
            "Key": _key(f"GROUP#{group_id}", membership["sk"]),
            **_settled_condition(membership),
        }
    }


def _deletion(
    table: str, group_id: str, count: int, members: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """The actions that delete a group of `count` members, `members` read with it. The count pins
    the roster: a membership added since the read fails the META condition, and one removed fails
    its own; each membership's condition also pins its balances at the zeros just read. An import
    holding the group at `now` fails it too."""
    actions: list[dict[str, Any]] = [
        {
            "Delete": {
                "TableName": table,
                "Key": _key(f"GROUP#{group_id}", "META"),
                "ConditionExpression": f"member_count = :count AND {_NOT_IMPORTING}",
                "ExpressionAttributeValues": _attrs({":count": count, ":now": to_text(now)}),
            }
        }
    ]
    return actions + [_settled_delete(table, group_id, m) for m in members]
