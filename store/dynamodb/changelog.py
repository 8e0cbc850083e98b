"""The changes logs on DynamoDB (issue 14): how a transaction that changes records also numbers
and logs those changes, atomically and in commit order, in its group's log and in the own log of
each user whose view it changes.

A log is a counter item holding `change_seq`, the number of its latest entry, and one item per
entry, `<log>` / `SEQ#<seq, 12 digits>`, in the expenses table:

- a group's log counts on the group's META item (groups table); its entries are `CHANGES#<gid>`;
- a user's log counts on `UCHANGES#<uid>` / `HEAD`, beside its entries `UCHANGES#<uid>` (expenses
  table), so one partition holds all of it; the first entry creates HEAD. `HEAD` sorts before
  `SEQ#`, and pages read the `SEQ#` range only, so no page of entries meets it.

A write reads each counter (`prev`), then its transaction sets it to `prev + n` on the condition
that it is still `prev`, and puts its n entries. Two writes racing for one log's numbers cannot
both commit: the loser's counter condition fails, and it reads the new number and tries again.
Every entry is therefore numbered once, without gaps, in the order the transactions commit, in
every log the transaction writes to. DynamoDB allows one action per item in a transaction, so the
condition and the new number are merged into the action the write already has on the counter item
(META, typically), or added as one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from domain.models import ChangeKind, ChangeOp, UserChangeKind
from store.dynamodb.items import _attrs, _key

TRANSACTION_ACTIONS = 100
"""DynamoDB's limit on the actions of one TransactWriteItems: what batches and splits are cut to."""
USER_LOG_ACTIONS = 2
"""Actions a user's log adds to a transaction, for its first entry: the HEAD Update and the entry's
Put (each further entry for the same user adds one Put)."""

_SEQ_DIGITS = 12


@dataclass(frozen=True, slots=True)
class Logged:
    """One change a transaction makes to a group's records: which record, and how."""

    kind: ChangeKind
    id: str
    op: ChangeOp
    version: int | None = None
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class UserLogged:
    """One change a transaction makes to a user's own view (a `UserChange` before its number)."""

    user_id: str
    kind: UserChangeKind
    id: str
    op: ChangeOp


@dataclass(frozen=True, slots=True)
class Numbering:
    """One log a transaction appends to: its counter item (`must_exist`: META; a user's HEAD is
    created by its first entry), the number the counter held when read, and the entries to number
    after it (plain attributes, without their key and `seq`)."""

    counter_table: str
    counter_key: dict[str, Any]
    must_exist: bool
    log_table: str
    log: str
    prev: int
    entries: tuple[dict[str, Any], ...]


def membership_kind(membership: dict[str, Any]) -> UserChangeKind:
    """How a user's log names a membership item's coming and going: `friend` for a direct
    ledger's (it carries `kind`), `group` otherwise; the same test that sorts memberships into
    the user's groups and friends (`list_user_groups`, `list_friends`)."""
    return "friend" if membership.get("kind") == "direct" else "group"


def log_pk(group_id: str) -> str:
    return f"CHANGES#{group_id}"


def user_log_pk(user_id: str) -> str:
    return f"UCHANGES#{user_id}"


def user_head_key(user_id: str) -> dict[str, Any]:
    """The key of a user's log counter (expenses table)."""
    return _key(user_log_pk(user_id), "HEAD")


def seq_sk(seq: int) -> str:
    return f"SEQ#{seq:0{_SEQ_DIGITS}d}"


LAST_SEQ_SK = seq_sk(10**_SEQ_DIGITS - 1)
"""The highest entry key a log can hold: the top of a page's key range."""


def group_numbering(
    groups_table: str, log_table: str, group_id: str, prev: int, changes: Sequence[Logged]
) -> Numbering:
    entries = []
    for change in changes:
        entry: dict[str, Any] = {"kind": change.kind, "entity": change.id, "op": change.op}
        if change.version is not None:
            entry["version"] = change.version
        if change.ref is not None:
            entry["ref"] = change.ref
        entries.append(entry)
    return Numbering(
        groups_table,
        _key(f"GROUP#{group_id}", "META"),
        True,
        log_table,
        log_pk(group_id),
        prev,
        tuple(entries),
    )


def user_numbering(log_table: str, user_id: str, prev: int, changes: Sequence[UserLogged]) -> Numbering:
    entries = tuple({"kind": c.kind, "entity": c.id, "op": c.op} for c in changes)
    return Numbering(log_table, user_head_key(user_id), False, log_table, user_log_pk(user_id), prev, entries)


def with_logs(
    actions: list[dict[str, Any]], numberings: Sequence[Numbering]
) -> tuple[list[dict[str, Any]], list[int]]:
    """`actions` with each numbering's counter action numbering its entries after its `prev`, and
    the entries' Puts appended (so the indices of `actions` stay as they were); and the index of
    each numbering's counter action (ReturnValuesOnConditionCheckFailure=ALL_OLD, for the retry
    to tell a lost race)."""
    merged = [dict(action) for action in actions]
    counters = [_count(merged, numbering) for numbering in numberings]
    for numbering in numberings:
        merged += [
            _entry_put(numbering, numbering.prev + n, entry)
            for n, entry in enumerate(numbering.entries, start=1)
        ]
    return merged, counters


def _count(merged: list[dict[str, Any]], numbering: Numbering) -> int:
    """Merge into `merged` (in place) the counter's new number and its condition, into the action
    already on the counter item or as a new Update; return that action's index."""
    key, table = numbering.counter_key, numbering.counter_table
    new = numbering.prev + len(numbering.entries)
    guard = "change_seq = :cs_prev" if numbering.prev else "attribute_not_exists(change_seq)"
    values = _attrs({":cs_next": new, **({":cs_prev": numbering.prev} if numbering.prev else {})})
    for index, action in enumerate(merged):
        ((verb, body),) = action.items()
        if body.get("TableName") != table:
            continue
        if verb == "Put" and body["Item"].get("pk") == key["pk"] and body["Item"].get("sk") == key["sk"]:
            # A new item (a group being created): its own condition says it is new.
            merged[index] = {verb: {**body, "Item": {**body["Item"], **_attrs({"change_seq": new})}}}
            return index
        if body.get("Key") != key:
            continue
        if verb == "Delete":
            raise ValueError("a transaction that deletes a log's counter logs nothing in it")
        condition = body.get("ConditionExpression")
        update = body.get("UpdateExpression", "")
        if verb == "Update" and "SET " in update:
            update = update.replace("SET ", "SET change_seq = :cs_next, ", 1)
        else:
            update = f"SET change_seq = :cs_next {update}".strip()
        merged[index] = {
            "Update": {
                "TableName": table,
                "Key": key,
                "UpdateExpression": update,
                "ConditionExpression": f"({condition}) AND {guard}" if condition else guard,
                "ExpressionAttributeValues": {**body.get("ExpressionAttributeValues", {}), **values},
                **(
                    {"ExpressionAttributeNames": body["ExpressionAttributeNames"]}
                    if "ExpressionAttributeNames" in body
                    else {}
                ),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        return index
    merged.append(
        {
            "Update": {
                "TableName": table,
                "Key": key,
                "UpdateExpression": "SET change_seq = :cs_next",
                "ConditionExpression": f"attribute_exists(pk) AND {guard}" if numbering.must_exist else guard,
                "ExpressionAttributeValues": values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
    )
    return len(merged) - 1


def _entry_put(numbering: Numbering, seq: int, entry: dict[str, Any]) -> dict[str, Any]:
    item = {"pk": numbering.log, "sk": seq_sk(seq), "seq": seq, **entry}
    return {
        "Put": {
            "TableName": numbering.log_table,
            "Item": _attrs(item),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }
