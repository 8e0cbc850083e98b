"""Recomputing a group's balances from its whole history, to check the incremental ones."""

from __future__ import annotations

from dataclasses import dataclass

from ledger import transfer_net
from ledger.moves import balance_moves, differences, net_of
from store import Store

PAGE_SIZE = 200


@dataclass(frozen=True, slots=True)
class Verification:
    group_id: str
    expenses: int
    settlements: int
    differences: dict[tuple[str, str], tuple[int, int]]
    """(member, currency) → (stored, recomputed) where they disagree."""


async def verify_group(store: Store, group_id: str) -> Verification:
    recomputed: dict[tuple[str, str], int] = {}

    def add(moves: dict[tuple[str, str], int]) -> None:
        for key, amount in moves.items():
            recomputed[key] = recomputed.get(key, 0) + amount

    expenses = settlements = 0
    cursor = None
    while True:
        page = await store.list_expenses(group_id, limit=PAGE_SIZE, cursor=cursor)
        for expense in page.items:
            add(balance_moves((expense.currency, net_of(expense.paid, expense.owed))))
        expenses += len(page.items)
        if (cursor := page.next_cursor) is None:
            break
    while True:
        settlement_page = await store.list_settlements(group_id, limit=PAGE_SIZE, cursor=cursor)
        for s in settlement_page.items:
            add(balance_moves((s.currency, transfer_net(s.from_user, s.to_user, s.amount))))
        settlements += len(settlement_page.items)
        if (cursor := settlement_page.next_cursor) is None:
            break
    stored = {(b.user_id, b.currency): b.amount for b in await store.get_balances(group_id)}
    return Verification(group_id, expenses, settlements, differences(stored, recomputed))
