"""Imports on DynamoDB. A transaction holds at most 100 actions, so an import of thousands of
records cannot be one. Instead it takes the group's import lease (on META), writes the records in
transactions of whole records together with the balances and spending they move (so the balances
always match the records there) and the changes they log, and releases the lease in the
transaction of the last ones, with the activity entry. While the lease is held, every other write
to the group's ledger is refused (Conflict `import_in_progress`, see `_Ledger._touch`), so nothing
can build on a record that may still be taken back. When a transaction fails, the ones already
written are undone in reverse (their records deleted, their balances moved back) before the error
is raised: the import leaves all of its records or none.

If the process dies in the middle, or the undo itself fails (answered 503), the lease runs out
after `LEASE` and what was written stays, each part balanced; importing the same file again
completes it (imported records have ids drawn from the file, so nothing is made twice). While
the lease is held no member may leave or be removed and the group may not be deleted
(`store.dynamodb.members`, `store.dynamodb.group_deletion`), so the undo finds every membership
it moves."""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Sequence
from datetime import timedelta
from typing import Any

from domain import ActivityEntry, Conflict, Expense, Unavailable
from domain.clock import to_text
from domain.models import ChangeKind
from store.base import ImportedRecord
from store.dynamodb.changelog import TRANSACTION_ACTIONS, Logged
from store.dynamodb.client import _LEDGER_ATTEMPTS, _Cancelled, _ConditionFailed
from store.dynamodb.items import (
    DELETING,
    NOT_DELETING,
    _attrs,
    _expense_item,
    _key,
    _settlement_item,
    _spending_key,
)
from store.dynamodb.lease import IMPORT_JOB, IMPORT_UNTIL, LEASE, in_progress_import
from store.dynamodb.ledger import _Ledger
from store.errors import group_not_found, not_a_member

log = logging.getLogger(__name__)


class _Imports(_Ledger):
    """The import methods of `DynamoDBStore`."""

    async def existing_records(self, group_id: str, ids: Collection[str]) -> set[str]:
        wanted = sorted(set(ids))
        found = await self._batch_get(self._expenses, [_key(f"GROUP#{group_id}", f"EXP#{i}") for i in wanted])
        found += await self._batch_get(
            self._transactions, [_key(f"GROUP#{group_id}", f"TXN#{i}") for i in wanted]
        )
        return {str(item["id"]) for item in found}

    async def import_records(
        self, group_id: str, records: Sequence[ImportedRecord], *, activity: ActivityEntry
    ) -> None:
        if not records:
            return
        started = time.monotonic()

        def until() -> str:
            return to_text(activity.at + LEASE + timedelta(seconds=time.monotonic() - started))

        await self._take_lease(group_id, activity, until())
        chunks = _chunks(records)
        written: list[list[ImportedRecord]] = []
        try:
            for number, chunk in enumerate(chunks, start=1):
                last = number == len(chunks)
                await self._write_chunk(group_id, activity, chunk, until(), finish=last)
                written.append(chunk)
        except BaseException as failure:
            undone = False
            try:
                for chunk in reversed(written):
                    await self._write_chunk(group_id, activity, chunk, until(), undo=True)
                undone = True
                await self._release(group_id, activity)
            except Exception as exc:
                # Part of the file stays (each part balanced) and the lease runs out; importing
                # the file again completes it. Saying why the import failed would hide that.
                log.warning("undoing the import into group %s failed: %r", group_id, exc)
                if isinstance(failure, Exception) and not undone:
                    raise Unavailable(
                        "the import was cut short and part of it is written; import the same "
                        "file again in a few minutes to complete it"
                    ) from failure
            raise

    async def _take_lease(self, group_id: str, activity: ActivityEntry, until: str) -> None:
        try:
            await self._call(
                "update_item",
                TableName=self._groups,
                Key=_key(f"GROUP#{group_id}", "META"),
                UpdateExpression="SET #job = :job, #until = :until",
                ConditionExpression=(
                    f"attribute_exists(pk) AND {NOT_DELETING} AND "
                    "(attribute_not_exists(#until) OR #until < :now)"
                ),
                ExpressionAttributeNames={"#job": IMPORT_JOB, "#until": IMPORT_UNTIL},
                ExpressionAttributeValues=_attrs(
                    {":job": activity.id, ":until": until, ":now": to_text(activity.at)}
                ),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except _ConditionFailed as failed:
            if failed.item is None or DELETING in failed.item:
                raise group_not_found() from None
            raise in_progress_import() from None

    async def _release(self, group_id: str, activity: ActivityEntry) -> None:
        await self._call(
            "update_item",
            TableName=self._groups,
            Key=_key(f"GROUP#{group_id}", "META"),
            UpdateExpression="REMOVE #job, #until",
            ConditionExpression="#job = :job",
            ExpressionAttributeNames={"#job": IMPORT_JOB, "#until": IMPORT_UNTIL},
            ExpressionAttributeValues=_attrs({":job": activity.id}),
        )

    async def _write_chunk(
        self,
        group_id: str,
        activity: ActivityEntry,
        chunk: Sequence[ImportedRecord],
        until: str,
        *,
        finish: bool = False,
        undo: bool = False,
    ) -> None:
        """One transaction: the chunk's records (or, `undo`, their deletion), the balances and
        spending they move, their changes, META renewing the lease (`finish`: releasing it, with
        the activity entry)."""
        sign = -1 if undo else 1
        moves: dict[str, dict[str, int]] = {}
        spent: dict[str, dict[str, int]] = {}
        users: set[str] = set()
        actions: list[dict[str, Any]] = []
        changes: list[Logged] = []
        for imported in chunk:
            record = imported.record
            is_expense = isinstance(record, Expense)
            table = self._expenses if is_expense else self._transactions
            kind: ChangeKind = "expense" if is_expense else "settlement"
            if isinstance(record, Expense):
                item, sk = _expense_item(record), f"EXP#{record.id}"
                users.update(record.participants)
            else:
                item, sk = _settlement_item(record), f"TXN#{record.id}"
                users.update((record.from_user, record.to_user))
            if undo:
                actions.append({"Delete": {"TableName": table, "Key": _key(f"GROUP#{group_id}", sk)}})
                changes.append(Logged(kind, record.id, "delete"))
            else:
                actions.append(
                    {
                        "Put": {
                            "TableName": table,
                            "Item": _attrs(item),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    }
                )
                changes.append(Logged(kind, record.id, "upsert", record.version))
            for (user_id, currency), delta in imported.deltas.items():
                held = moves.setdefault(user_id, {})
                held[currency] = held.get(currency, 0) + sign * delta
            for (user_id, month, category, currency), delta in imported.spending.items():
                entry = _spending_key(month, category, currency)
                held = spent.setdefault(user_id, {})
                held[entry] = held.get(entry, 0) + sign * delta
        records = len(actions)
        members = sorted(users | moves.keys() | spent.keys())
        actions += [
            self._move(
                group_id, user_id, moves.get(user_id), {k: v for k, v in spent.get(user_id, {}).items() if v}
            )
            for user_id in members
        ]
        meta_index = len(actions)
        actions.append(self._lease_action(group_id, activity, until, release=finish))
        if finish:
            actions.append(self._log(activity))
        try:
            await self._transact_logged(group_id, actions, changes, attempts=_LEDGER_ATTEMPTS)
        except _Cancelled as exc:
            if any(exc.failed(i) for i in range(records)):
                raise Conflict(
                    "some of these records were imported meanwhile", code="record_exists"
                ) from None
            outsiders = [u for i, u in enumerate(members, start=records) if exc.failed(i)]
            if outsiders:
                raise not_a_member(outsiders) from None
            if exc.failed(meta_index):
                old = exc.old_item(meta_index)
                if old is None:
                    raise group_not_found() from None
                raise Unavailable("the import lost its hold on the group (it took too long)") from None
            raise Unavailable(f"DynamoDB transaction cancelled: {exc.reasons}") from None

    def _lease_action(
        self, group_id: str, activity: ActivityEntry, until: str, *, release: bool
    ) -> dict[str, Any]:
        update = "SET last_activity_at = :at " + ("REMOVE #job, #until" if release else ", #until = :until")
        values: dict[str, Any] = {":at": to_text(activity.at), ":job": activity.id}
        names = {"#job": IMPORT_JOB, "#until": IMPORT_UNTIL}
        if not release:
            values[":until"] = until
        return {
            "Update": {
                "TableName": self._groups,
                "Key": _key(f"GROUP#{group_id}", "META"),
                "UpdateExpression": update,
                "ConditionExpression": f"attribute_exists(pk) AND {NOT_DELETING} AND #job = :job",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": _attrs(values),
            }
        }


def _chunks(records: Sequence[ImportedRecord]) -> list[list[ImportedRecord]]:
    """The records cut into transactions: each record costs its action and its change's, each
    distinct member one, META and the activity entry one each."""
    chunks: list[list[ImportedRecord]] = []
    current: list[ImportedRecord] = []
    users: set[str] = set()
    for imported in records:
        record = imported.record
        involved = (
            set(record.participants) if isinstance(record, Expense) else {record.from_user, record.to_user}
        ) | {user_id for user_id, _ in imported.deltas}
        if current and 2 * (len(current) + 1) + len(users | involved) + 2 > TRANSACTION_ACTIONS:
            chunks.append(current)
            current, users = [], set()
        current.append(imported)
        users |= involved
    if current:
        chunks.append(current)
    return chunks
