"""The changes log on DynamoDB (issue 14): how a transaction that changes a group's records also
numbers and logs those changes, atomically and in commit order.

Each group's META item holds `change_seq`, the number of its latest change. A write reads it
(`prev`), then its transaction sets it to `prev + n` on the condition that it is still `prev`,
and puts one `CHANGES#<group id>` / `SEQ#<seq>` item per change into the expenses table. Two writes
racing for the same numbers cannot both commit: the loser's META condition fails, and it reads the
new number and tries again. Every change is therefore numbered once, without gaps, in the order the
transactions commit. DynamoDB allows one action per item in a transaction, so the condition and
the new number are merged into the action the write already has on META (or added as one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.models import ChangeKind, ChangeOp
from store.dynamodb.items import _attrs, _key

_SEQ_DIGITS = 12


@dataclass(frozen=True, slots=True)
class Logged:
    """One change a transaction makes: which record, and how."""

    kind: ChangeKind
    id: str
    op: ChangeOp
    version: int | None = None
    ref: str | None = None


def log_pk(group_id: str) -> str:
    return f"CHANGES#{group_id}"


def seq_sk(seq: int) -> str:
    return f"SEQ#{seq:0{_SEQ_DIGITS}d}"


def _change_put(table: str, group_id: str, seq: int, change: Logged) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": log_pk(group_id),
        "sk": seq_sk(seq),
        "seq": seq,
        "kind": change.kind,
        "entity": change.id,
        "op": change.op,
    }
    if change.version is not None:
        item["version"] = change.version
    if change.ref is not None:
        item["ref"] = change.ref
    return {
        "Put": {"TableName": table, "Item": _attrs(item), "ConditionExpression": "attribute_not_exists(pk)"}
    }


def with_log(
    actions: list[dict[str, Any]],
    *,
    groups_table: str,
    log_table: str,
    group_id: str,
    prev: int,
    changes: list[Logged],
) -> tuple[list[dict[str, Any]], int]:
    """`actions` with the group's META action numbering `changes` after `prev`, and their log
    items appended (so the indices of `actions` stay as they were); and the index of the META
    action (ReturnValuesOnConditionCheckFailure=ALL_OLD, for the retry to tell a lost race)."""
    meta_key = _key(f"GROUP#{group_id}", "META")
    new = prev + len(changes)
    guard = "change_seq = :cs_prev" if prev else "attribute_not_exists(change_seq)"
    values = _attrs({":cs_next": new, **({":cs_prev": prev} if prev else {})})
    merged = [dict(action) for action in actions]
    meta_index = -1
    for index, action in enumerate(merged):
        ((verb, body),) = action.items()
        if body.get("TableName") != groups_table:
            continue
        if (
            verb == "Put"
            and body["Item"].get("pk") == meta_key["pk"]
            and body["Item"].get("sk") == meta_key["sk"]
        ):
            merged[index] = {verb: {**body, "Item": {**body["Item"], **_attrs({"change_seq": new})}}}
            meta_index = index
        elif body.get("Key") == meta_key:
            if verb == "Delete":
                raise ValueError("a transaction that deletes a group logs no changes")
            condition = body.get("ConditionExpression")
            joined = f"({condition}) AND {guard}" if condition else guard
            update = body.get("UpdateExpression", "")
            if verb == "Update" and "SET " in update:
                update = update.replace("SET ", "SET change_seq = :cs_next, ", 1)
            else:
                update = f"SET change_seq = :cs_next {update}".strip()
            merged[index] = {
                "Update": {
                    "TableName": groups_table,
                    "Key": meta_key,
                    "UpdateExpression": update,
                    "ConditionExpression": joined,
                    "ExpressionAttributeValues": {**body.get("ExpressionAttributeValues", {}), **values},
                    **(
                        {"ExpressionAttributeNames": body["ExpressionAttributeNames"]}
                        if "ExpressionAttributeNames" in body
                        else {}
                    ),
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
            meta_index = index
    if meta_index < 0:
        meta_index = len(merged)
        merged.append(
            {
                "Update": {
                    "TableName": groups_table,
                    "Key": meta_key,
                    "UpdateExpression": "SET change_seq = :cs_next",
                    "ConditionExpression": f"attribute_exists(pk) AND {guard}",
                    "ExpressionAttributeValues": values,
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        )
    merged += [
        _change_put(log_table, group_id, prev + n, change) for n, change in enumerate(changes, start=1)
    ]
    return merged, meta_index
