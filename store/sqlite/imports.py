"""Imports on SQLite: every imported record, the balances and spending they move and the
activity entry, in one transaction (run in the waiting thread: a large file must not hold the
event loop)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence

from domain import ActivityEntry, Conflict, Expense
from store.base import BalanceDeltas, ImportedRecord, SpendingDeltas
from store.sqlite.balances import _move_balances, _Moves
from store.sqlite.engine import Db, _Engine
from store.sqlite.history import _INSERT_EXPENSE, _INSERT_PARTICIPANT, _INSERT_SETTLEMENT
from store.sqlite.rows import _activity_row, _expense_row, _settlement_row
from store.sqlite.writes import _log

_LOOK_UP = 500
"""Ids per look-up statement (SQLite allows 32,766 parameters; a few hundred keeps them cheap)."""


def _look_ups(group_id: str, ids: Collection[str]) -> Iterator[tuple[str, tuple[str, ...]]]:
    """The statements (and their parameters) that find which of `ids` the group's expenses and
    settlements hold, `_LOOK_UP` ids at a time."""
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), _LOOK_UP):
        chunk = wanted[start : start + _LOOK_UP]
        marks = ",".join("?" * len(chunk))
        for table in ("expenses", "settlements"):
            yield f"SELECT id FROM {table} WHERE group_id = ? AND id IN ({marks})", (group_id, *chunk)


class _Imports(_Engine):
    """The import methods of `SQLiteStore`."""

    async def existing_records(self, group_id: str, ids: Collection[str]) -> set[str]:
        found: set[str] = set()
        for sql, params in _look_ups(group_id, ids):
            found.update(row[0] for row in await self._all(sql, params))
        return found

    async def import_records(
        self, group_id: str, records: Sequence[ImportedRecord], *, activity: ActivityEntry
    ) -> None:
        if not records:
            return
        deltas: BalanceDeltas = {}
        spending: SpendingDeltas = {}
        involved: set[str] = set()
        expenses, participants, settlements = [], [], []
        for imported in records:
            for key, delta in imported.deltas.items():
                deltas[key] = deltas.get(key, 0) + delta
            for spent, delta in imported.spending.items():
                spending[spent] = spending.get(spent, 0) + delta
            record = imported.record
            if isinstance(record, Expense):
                expenses.append(_expense_row(record))
                participants += [(record.id, user) for user in record.participants]
                involved.update(record.participants)
            else:
                settlements.append(_settlement_row(record))
                involved.update((record.from_user, record.to_user))
        moves = _Moves(group_id, deltas, spending, involved)
        ids = [imported.record.id for imported in records]
        logged = _activity_row(activity)

        def work(db: Db) -> None:
            if any(db.execute(sql, params).fetchone() for sql, params in _look_ups(group_id, ids)):
                raise Conflict("some of these records were imported meanwhile", code="record_exists")
            _move_balances(db, moves)
            db.executemany(_INSERT_EXPENSE, expenses)
            db.executemany(_INSERT_PARTICIPANT, participants)
            db.executemany(_INSERT_SETTLEMENT, settlements)
            _log(db, logged)

        await self._write(work, inline=False)
