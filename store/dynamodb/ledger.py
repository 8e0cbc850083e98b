"""What the expense and settlement methods share: the one transaction that writes a record with
the balances, spending and activity it moves, and the newest-first pages of the `by_date` LSI."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from domain import ActivityEntry, Conflict, IdempotentReply, PreconditionFailed, Unavailable
from domain.clock import to_text
from domain.models import MAX_GROUP_MEMBERS
from store.base import RESTORE_WINDOW, BalanceDeltas, SpendingDeltas
from store.cursor import dated_position, decode_cursor, encode_cursor
from store.dynamodb.changelog import Logged
from store.dynamodb.client import _LEDGER_ATTEMPTS, _Cancelled
from store.dynamodb.connection import _Connection
from store.dynamodb.idempotency import _record_reply
from store.dynamodb.items import NOT_DELETING, _attrs, _by_date_position, _key, _plain, _spending_key, _ttl
from store.dynamodb.lease import IMPORT_UNTIL, lease_refusal
from store.dynamodb.tables import BY_DATE_INDEX, TTL_ATTRIBUTE
from store.errors import balances_changed, group_not_found, in_progress, not_a_member, record_not_found

Refusal = Callable[[dict[str, Any] | None], Exception]
"""The error an extra action's failed condition means, given the old item it brought back."""


class _Ledger(_Connection):
    """The ledger's write and listing machinery."""

    async def _ledger_write(
        self,
        group_id: str,
        record: dict[str, Any],
        *,
        what: str,
        expected_version: int | None,
        deltas: BalanceDeltas,
        members: list[str],
        activity: ActivityEntry,
        change: Logged,
        reply: IdempotentReply | None = None,
        spending: SpendingDeltas | None = None,
        deleted: bool = False,
        extra: Sequence[tuple[dict[str, Any], Refusal]] = (),
        expected_balances: BalanceDeltas | None = None,
    ) -> None:
        """Run `record` (the action on the expense or settlement, first in the transaction) with an
        Update per member whose balance or spending moves and a ConditionCheck per other member in
        `members`, each conditioned on the membership existing, then the Update of META's
        `last_activity_at` (which also numbers `change` in the changes log), the activity Put and the
        reply Update. `deleted`: the stored record must be a deleted one (a restore), else a live
        one; the other kind is NotFound. `extra`: further actions, last, each with the error its
        failed condition means (checked before any other). `expected_balances`: the members'
        actions are also conditioned on those balances being still as expected (Conflict
        `balances_changed` when a member's is not).

        At most 1 + 50 + 1 + 1 + 1 actions, and the extra ones: more than 50 distinct users
        cannot all be members."""
        moves: dict[str, dict[str, int]] = {}
        for (user_id, currency), delta in sorted(deltas.items()):
            moves.setdefault(user_id, {})[currency] = delta  # a zero records the currency
        spent: dict[str, dict[str, int]] = {}
        for (user_id, month, category, currency), delta in sorted((spending or {}).items()):
            if delta:
                spent.setdefault(user_id, {})[_spending_key(month, category, currency)] = delta
        moving = sorted(moves.keys() | spent.keys())
        checked = set(members) | {user_id for user_id, _ in expected_balances or {}}
        users = moving + sorted(checked - set(moving))
        if len(users) > MAX_GROUP_MEMBERS:
            current = {m["user_id"] for m in await self._partition(group_id, "MEMBER#")}
            raise not_a_member([u for u in users if u not in current])
        actions = [record]
        expected: dict[str, dict[str, int]] = {}
        for (user_id, currency), amount in sorted((expected_balances or {}).items()):
            expected.setdefault(user_id, {})[currency] = amount
        actions += [
            self._move(group_id, user_id, moves.get(user_id), spent.get(user_id), expected.get(user_id))
            for user_id in users
        ]
        meta_index = len(actions)
        actions.append(self._touch(group_id, activity, ledger=True))
        actions.append(self._log(activity))
        if reply is not None:
            actions.append(_record_reply(self._users, reply))
        first_extra = len(actions)
        actions += [action for action, _ in extra]
        try:
            await self._transact_logged(group_id, actions, [change], attempts=_LEDGER_ATTEMPTS)
        except _Cancelled as exc:
            for index, (_, refusal) in enumerate(extra, start=first_extra):
                if exc.failed(index):
                    raise refusal(exc.old_item(index)) from None
            if exc.failed(0):
                if expected_version is None:
                    raise Conflict(f"{what} already exists", code=f"{what}_exists") from None
                # ReturnValuesOnConditionCheckFailure=ALL_OLD: a failed record action brings the
                # stored item back, or nothing when there is none.
                old = exc.old_item(0)
                # As in SQLite: a deleted record is not there for an edit or a delete; a restore
                # that finds another version (restored meanwhile, say) is a stale one.
                if old is None or ("deleted_at" in old and not deleted):
                    raise record_not_found(what) from None
                current_version = int(old["version"])
                if current_version == expected_version:
                    raise record_not_found(what) from None  # live, where a restore wants it deleted
                raise PreconditionFailed(
                    f"it was changed meanwhile: you sent version {expected_version}, "
                    f"it is now {current_version}",
                    details={"current_version": current_version},
                ) from None
            if exc.failed(meta_index):
                raise lease_refusal(exc.old_item(meta_index), activity.at) or group_not_found() from None
            if reply is not None and exc.failed(first_extra - 1):
                raise in_progress() from None
            outsiders = [u for i, u in enumerate(users, start=1) if exc.failed(i)]
            if any(exc.old_item(i) is not None for i, u in enumerate(users, start=1) if u in outsiders):
                raise balances_changed() from None  # a member, but a balance is not as expected
            if outsiders:
                raise not_a_member(outsiders) from None
            raise Unavailable(f"DynamoDB transaction cancelled: {exc.reasons}") from None

    def _touch(self, group_id: str, activity: ActivityEntry, *, ledger: bool = False) -> dict[str, Any]:
        """The Update recording on META when the group's latest activity happened (conditioned on
        the group existing, so a write to a deleted group cannot bring back a bare META, and not
        being deleted, so nothing unsettles a group whose deletion has begun). `ledger`: a write
        to the ledger, which also waits for an import's lease to end (`store.dynamodb.imports`)."""
        condition = f"attribute_exists(pk) AND {NOT_DELETING}"
        if ledger:
            condition += f" AND (attribute_not_exists({IMPORT_UNTIL}) OR {IMPORT_UNTIL} < :at)"
        return {
            "Update": {
                "TableName": self._groups,
                "Key": _key(f"GROUP#{group_id}", "META"),
                "UpdateExpression": "SET last_activity_at = :at",
                "ConditionExpression": condition,
                "ExpressionAttributeValues": _attrs({":at": to_text(activity.at)}),
            }
        }

    def _move(
        self,
        group_id: str,
        user_id: str,
        moves: dict[str, int] | None,
        spent: dict[str, int] | None = None,
        expected: dict[str, int] | None = None,
    ) -> dict[str, Any]:
        """The action on one membership: move its balances (all currencies) and its spending (all
        month|category|currency entries) in one Update, or only check it exists. Either way the
        condition is the membership check, and that each balance in `expected` is still that
        (bringing the item back when it fails, to tell a changed balance from a non-member)."""
        key = _key(f"GROUP#{group_id}", f"MEMBER#{user_id}")
        condition = "attribute_exists(pk)"
        names: dict[str, str] = {}
        values: dict[str, Any] = {":zero": 0}
        for number, (currency, amount) in enumerate(sorted((expected or {}).items())):
            names[f"#e{number}"] = currency
            values[f":e{number}"] = amount
            names["#b"] = "balances"
            absent = f"attribute_not_exists(#b.#e{number}) OR " if amount == 0 else ""
            condition += f" AND ({absent}#b.#e{number} = :e{number})"
        checked: dict[str, Any] = {}
        if expected:
            checked = {"ExpressionAttributeNames": names, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
            checked["ExpressionAttributeValues"] = _attrs({k: v for k, v in values.items() if k != ":zero"})
        if not moves and not spent:
            return {
                "ConditionCheck": {
                    "TableName": self._groups,
                    "Key": key,
                    "ConditionExpression": condition,
                    **checked,
                }
            }
        assignments = []
        if moves:
            names["#b"] = "balances"
            for number, (currency, delta) in enumerate(sorted(moves.items())):
                names[f"#c{number}"] = currency
                values[f":d{number}"] = delta
                assignments.append(f"#b.#c{number} = if_not_exists(#b.#c{number}, :zero) + :d{number}")
        if spent:
            # The map exists from the moment the membership does (_membership_item).
            names["#s"] = "spending"
            for number, (entry, delta) in enumerate(sorted(spent.items())):
                names[f"#k{number}"] = entry
                values[f":s{number}"] = delta
                assignments.append(f"#s.#k{number} = if_not_exists(#s.#k{number}, :zero) + :s{number}")
        return {
            "Update": {
                "TableName": self._groups,
                "Key": key,
                "UpdateExpression": "SET " + ", ".join(assignments),
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": _attrs(values),
                **({"ReturnValuesOnConditionCheckFailure": "ALL_OLD"} if expected else {}),
            }
        }

    def _versioned(
        self,
        kind: str,
        table: str,
        group_id: str,
        sk: str,
        expected: int,
        item: dict[str, Any] | None,
        *,
        deleted: bool = False,
    ) -> dict[str, Any]:
        """Put `item` (or Delete) the record at `sk` if it is still at version `expected` and
        deleted (`deleted`) or live."""
        state = "attribute_exists(deleted_at)" if deleted else "attribute_not_exists(deleted_at)"
        action: dict[str, Any] = {
            "TableName": table,
            "ConditionExpression": f"#version = :expected AND {state}",
            "ExpressionAttributeNames": {"#version": "version"},
            "ExpressionAttributeValues": _attrs({":expected": expected}),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if item is None:
            action["Key"] = _key(f"GROUP#{group_id}", sk)
        else:
            action["Item"] = _attrs(item)
        return {kind: action}

    def _soft_delete(
        self,
        table: str,
        group_id: str,
        sk: str,
        expected: int,
        activity: ActivityEntry,
        keep_until: datetime | None,
    ) -> dict[str, Any]:
        """The Update marking a live record at version `expected` deleted (version + 1), with the
        TTL attribute at `keep_until` so that DynamoDB drops it once it can no longer be restored."""
        until = keep_until if keep_until is not None else activity.at + RESTORE_WINDOW
        return {
            "Update": {
                "TableName": table,
                "Key": _key(f"GROUP#{group_id}", sk),
                "UpdateExpression": ("SET deleted_at = :at, deleted_by = :by, #ttl = :ttl, #version = :next"),
                "ConditionExpression": "#version = :expected AND attribute_not_exists(deleted_at)",
                "ExpressionAttributeNames": {"#version": "version", "#ttl": TTL_ATTRIBUTE},
                "ExpressionAttributeValues": _attrs(
                    {
                        ":at": to_text(activity.at),
                        ":by": activity.actor_id,
                        ":ttl": _ttl(until),
                        ":expected": expected,
                        ":next": expected + 1,
                    }
                ),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    async def _dated_page(
        self,
        table: str,
        group_id: str,
        kind: str,
        sk_prefix: str,
        *,
        limit: int,
        cursor: str | None,
        date_from: str | None = None,
        date_to: str | None = None,
        filter_expression: str | None = None,
        filter_values: dict[str, Any] | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One Query of the `by_date` LSI, newest first (`lsi1sk = <date>#<created_at>#<id>`).

        Reads limit + 1 items, so an unfiltered listing knows whether another page exists; with a
        filter a page may come back short (even empty) while the cursor is set."""
        low = date_from
        high = None if date_to is None else f"{date_to}~"  # '~' sorts after '#<created_at>…'
        values: dict[str, Any] = {":pk": f"GROUP#{group_id}", **(filter_values or {})}
        if low is not None and high is not None:
            condition = "pk = :pk AND lsi1sk BETWEEN :low AND :high"
            values.update({":low": low, ":high": high})
        elif low is not None:
            condition = "pk = :pk AND lsi1sk >= :low"
            values[":low"] = low
        elif high is not None:
            condition = "pk = :pk AND lsi1sk <= :high"
            values[":high"] = high
        else:
            condition = "pk = :pk"
        params: dict[str, Any] = {
            "TableName": table,
            "IndexName": BY_DATE_INDEX,
            "KeyConditionExpression": condition,
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": limit + 1,
        }
        if filter_expression:
            params["FilterExpression"] = filter_expression
        if cursor is not None:
            date, created_at, record_id = dated_position(decode_cursor(kind, cursor))
            position = f"{date}#{created_at}#{record_id}"
            if low is not None and position <= low:
                return [], None  # nothing in the range lies before the cursor
            if high is None or position < high:
                # (A cursor beyond the range's top end means "from the top".)
                params["ExclusiveStartKey"] = _attrs(
                    {
                        "pk": f"GROUP#{group_id}",
                        "sk": f"{sk_prefix}{record_id}",
                        "lsi1sk": position,
                    }
                )
        params["ExpressionAttributeValues"] = _attrs(values)
        response = await self._call("query", **params)
        items = [_plain(item) for item in response.get("Items", [])]
        if len(items) > limit:
            last = items[limit - 1]
            return items[:limit], encode_cursor(kind, _by_date_position(last))
        evaluated = response.get("LastEvaluatedKey")
        if evaluated is not None:
            return items, encode_cursor(kind, _by_date_position(_plain(evaluated)))
        return items, None
