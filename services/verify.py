"""Recomputing a group's balances from its whole history, to check the incremental ones. The
recomputation sums the same `ledger.effects` that every write applied."""

from __future__ import annotations

from dataclasses import dataclass

from ledger import effects
from ledger.moves import differences
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
            add(effects(None, expense).balances)
        expenses += len(page.items)
        if (cursor := page.next_cursor) is None:
            break
    while True:
        settlement_page = await store.list_settlements(group_id, limit=PAGE_SIZE, cursor=cursor)
        for settlement in settlement_page.items:
            add(effects(None, settlement).balances)
        settlements += len(settlement_page.items)
        if (cursor := settlement_page.next_cursor) is None:
            break
    stored = {(b.user_id, b.currency): b.amount for b in await store.get_balances(group_id)}
    return Verification(group_id, expenses, settlements, differences(stored, recomputed))
