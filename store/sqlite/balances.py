"""Balances and spending: the deltas a ledger write applies, and the balance reads."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from domain import Balance
from store.base import BalanceDeltas, SpendingDeltas
from store.errors import group_not_found, not_a_member
from store.sqlite.engine import Db, _Engine
from store.sqlite.writes import _require_group

_UPSERT_SPENDING = (
    "INSERT INTO spending (user_id, group_id, month, category, currency, amount) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, group_id, month, category, currency) "
    "DO UPDATE SET amount = amount + excluded.amount"
)
_UPSERT_BALANCE = (
    "INSERT INTO balances (group_id, user_id, currency, amount) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (group_id, user_id, currency) DO UPDATE SET amount = amount + excluded.amount"
)
_BALANCES_FOR_MEMBER = (
    "SELECT b.user_id, b.currency, b.amount FROM memberships m "
    "LEFT JOIN balances b ON b.group_id = m.group_id "
    "WHERE m.group_id = ? AND m.user_id = ? ORDER BY b.user_id, b.currency"
)


class _Moves:
    """Balance and spending deltas made ready for `_move_balances`: who must be a member (everyone
    whose balance or spending moves, and `involved`), and the upserts."""

    __slots__ = ("group_id", "users", "members_sql", "upserts", "spending")

    def __init__(
        self,
        group_id: str,
        deltas: BalanceDeltas,
        spending: SpendingDeltas | None = None,
        involved: Iterable[str] = (),
    ) -> None:
        self.group_id = group_id
        self.spending = [
            (user, group_id, month, category, currency, delta)
            for (user, month, category, currency), delta in sorted((spending or {}).items())
        ]
        self.users = sorted({user for user, _ in deltas} | {row[0] for row in self.spending} | set(involved))
        self.members_sql = _members_among(len(self.users))
        self.upserts = [
            (group_id, user, currency, delta) for (user, currency), delta in sorted(deltas.items())
        ]


@functools.lru_cache(maxsize=64)
def _members_among(count: int) -> str:
    """The statement selecting which of `count` users are members; cached, as writes involve few
    distinct numbers of users."""
    marks = ",".join("?" * count)
    return f"SELECT user_id FROM memberships WHERE group_id = ? AND user_id IN ({marks})"


def _move_balances(db: Db, moves: _Moves) -> None:
    """Apply the deltas, refusing (Conflict `not_a_member`) if any user is not a member now, and
    (NotFound) if the group is gone. Memberships exist only within an existing group, so when
    every user is a member the group needs no look-up of its own."""
    if not moves.users:
        _require_group(db, moves.group_id)
    else:
        members = {row[0] for row in db.execute(moves.members_sql, (moves.group_id, *moves.users))}
        outsiders = [user for user in moves.users if user not in members]
        if outsiders:
            _require_group(db, moves.group_id)
            raise not_a_member(outsiders)
    db.executemany(_UPSERT_BALANCE, moves.upserts)
    db.executemany(_UPSERT_SPENDING, moves.spending)


class _Balances(_Engine):
    """The balance reads of `SQLiteStore`."""

    async def get_balances(self, group_id: str) -> list[Balance]:
        rows = await self._all(
            "SELECT user_id, currency, amount FROM balances WHERE group_id = ? ORDER BY user_id, currency",
            (group_id,),
        )
        return [Balance(user_id=r[0], currency=r[1], amount=r[2]) for r in rows]

    async def get_balances_for_member(self, group_id: str, user_id: str) -> list[Balance]:
        rows = await self._all(_BALANCES_FOR_MEMBER, (group_id, user_id))
        if not rows:
            raise group_not_found()
        return [Balance(user_id=r[0], currency=r[1], amount=r[2]) for r in rows if r[0] is not None]
