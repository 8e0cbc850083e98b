"""Settle-up plans: who pays whom so that every balance in one currency reaches zero.

Balances follow the ledger's convention (positive = is owed money) and must sum to zero. Any plan
partitions the n members with non-zero balances into groups that settle among themselves, and a
group of k members needs at least k - 1 transfers, so the fewest transfers possible is
n - (the largest number of disjoint zero-sum groups covering everyone). `settle_up` finds that
number exactly:

1. Peel off opposite pairs (+x / -x): one transfer each, and always part of some optimal plan.
2. If at most `EXACT_LIMIT` members remain, a dynamic program over subsets computes
   best[mask] = max over members i in mask of best[mask - i], plus one when mask sums to zero;
   walking it back yields an ordering of the members whose zero-sum prefixes cut it into the
   largest number of zero-sum groups. O(2^n * n) time, about 30 ms at n = 15.
3. Each group settles greedily (largest debtor pays largest creditor), which clears at least one
   member per transfer and so uses at most k - 1 transfers for k members.

Above the limit it falls back to the better of that greedy rule after peeling and plain greedy, as
used by Splitwise-like apps (`greedy_settle_up`). Either way a plan never has more than n - 1
transfers, is never longer than `greedy_settle_up`'s, and is deterministic: ties go to the smaller
member id and transfers come sorted by (from_user, to_user).
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass

EXACT_LIMIT = 15
"""Most members (after peeling opposite pairs) solved exactly; 2^15 subsets take ~30 ms."""


@dataclass(frozen=True, slots=True, order=True)
class Transfer:
    """`from_user` pays `amount` (positive minor units) to `to_user`."""

    from_user: str
    to_user: str
    amount: int


def settle_up(balances: Mapping[str, int]) -> list[Transfer]:
    """The fewest transfers that bring every balance to zero (exactly so when at most
    `EXACT_LIMIT` members are left after pairing opposite balances). Raises ValueError unless the
    balances sum to zero."""
    members = _nonzero(balances)
    transfers, rest = _peel_opposite_pairs(members)
    if len(rest) <= EXACT_LIMIT:
        for group in _zero_sum_groups(rest):
            transfers += _greedy(group)
    else:
        transfers += _greedy(rest)
        plain = _greedy(members)
        if len(plain) < len(transfers):
            transfers = plain
    return sorted(transfers)


def greedy_settle_up(balances: Mapping[str, int]) -> list[Transfer]:
    """The common heuristic: the largest debtor repeatedly pays the largest creditor. At most n - 1
    transfers but often more than needed. Raises ValueError unless the balances sum to zero."""
    return sorted(_greedy(_nonzero(balances)))


def _nonzero(balances: Mapping[str, int]) -> list[tuple[str, int]]:
    total = sum(balances.values())
    if total != 0:
        raise ValueError(f"balances must sum to zero, these sum to {total}")
    return [(member, balances[member]) for member in sorted(balances) if balances[member]]


def _peel_opposite_pairs(
    members: list[tuple[str, int]],
) -> tuple[list[Transfer], list[tuple[str, int]]]:
    """Settle each debtor of x directly with a creditor of x (pairing in member id order)."""
    creditors: dict[int, list[str]] = {}
    for member, amount in members:
        if amount > 0:
            creditors.setdefault(amount, []).append(member)
    for waiting in creditors.values():
        waiting.reverse()
    transfers: list[Transfer] = []
    paired: set[str] = set()
    for member, amount in members:
        matching = creditors.get(-amount)
        if amount < 0 and matching:
            creditor = matching.pop()
            transfers.append(Transfer(member, creditor, -amount))
            paired.update((member, creditor))
    return transfers, [(member, amount) for member, amount in members if member not in paired]


def _zero_sum_groups(members: list[tuple[str, int]]) -> list[list[tuple[str, int]]]:
    """The largest number of disjoint zero-sum groups covering `members` (which sum to zero)."""
    count = len(members)
    if count == 0:
        return []
    sums = [0]
    for _, amount in members:
        sums += [subtotal + amount for subtotal in sums]
    best = [0] * len(sums)
    for mask in range(1, len(sums)):
        most = 0
        rest = mask
        while rest:
            low = rest & -rest
            if best[mask ^ low] > most:
                most = best[mask ^ low]
            rest ^= low
        best[mask] = most + (sums[mask] == 0)
    groups: list[list[tuple[str, int]]] = []
    group: list[tuple[str, int]] = []
    mask = len(sums) - 1
    while mask:
        target = best[mask] - (sums[mask] == 0)
        if sums[mask] == 0 and group:
            groups.append(group)
            group = []
        index = next(i for i in range(count) if mask >> i & 1 and best[mask ^ (1 << i)] == target)
        group.append(members[index])
        mask ^= 1 << index
    groups.append(group)
    return groups


def _greedy(members: list[tuple[str, int]]) -> list[Transfer]:
    """Largest debtor pays largest creditor until everyone is even; ties to the smaller member id."""
    creditors = [(-amount, member) for member, amount in members if amount > 0]
    debtors = [(amount, member) for member, amount in members if amount < 0]
    heapq.heapify(creditors)
    heapq.heapify(debtors)
    transfers: list[Transfer] = []
    while creditors and debtors:
        credit, creditor = heapq.heappop(creditors)
        debt, debtor = heapq.heappop(debtors)
        amount = min(-credit, -debt)
        transfers.append(Transfer(debtor, creditor, amount))
        if -credit > amount:
            heapq.heappush(creditors, (credit + amount, creditor))
        if -debt > amount:
            heapq.heappush(debtors, (debt + amount, debtor))
    if creditors or debtors:
        raise ValueError("balances must sum to zero")
    return transfers
