"""Turning per-currency net deltas into the (member, currency) moves a store applies atomically."""

from __future__ import annotations

from collections.abc import Mapping

from ledger.balances import Net


def net_of(paid: Mapping[str, int], owed: Mapping[str, int]) -> dict[str, int]:
    """What an expense does to balances: what each member paid minus what they owe."""
    return {m: paid.get(m, 0) - owed.get(m, 0) for m in sorted(paid.keys() | owed.keys())}


def balance_moves(*changes: tuple[str, Net]) -> dict[tuple[str, str], int]:
    """Combine (currency, net delta) pairs into (member, currency) → delta, without zeros.

    Editing an expense from EUR to USD is `balance_moves(("EUR", negate(old)), ("USD", new))`."""
    moves: dict[tuple[str, str], int] = {}
    for currency, net in changes:
        if sum(net.values()) != 0:
            raise ValueError(f"a balance delta must sum to zero, this one sums to {sum(net.values())}")
        for member, amount in net.items():
            moves[(member, currency)] = moves.get((member, currency), 0) + amount
    return {key: amount for key, amount in sorted(moves.items()) if amount}


def differences(
    stored: Mapping[tuple[str, str], int], recomputed: Mapping[tuple[str, str], int]
) -> dict[tuple[str, str], tuple[int, int]]:
    """(member, currency) → (stored, recomputed) wherever the two disagree; zeros count as absent."""
    keys = {k for k, v in stored.items() if v} | {k for k, v in recomputed.items() if v}
    return {
        key: (stored.get(key, 0), recomputed.get(key, 0))
        for key in sorted(keys)
        if stored.get(key, 0) != recomputed.get(key, 0)
    }


def spending_moves(
    *changes: tuple[int, str, str, str, Mapping[str, int]],
) -> dict[tuple[str, str, str, str], int]:
    """Each member's share of spending, as (member, month, category, currency) → delta.

    A change is (sign, date, category, currency, owed): +1 for an expense as it now stands, -1 for
    how it stood before an edit or deletion. `month` is the date's `YYYY-MM`."""
    moves: dict[tuple[str, str, str, str], int] = {}
    for sign, date, category, currency, owed in changes:
        for member, amount in owed.items():
            key = (member, date[:7], category, currency)
            moves[key] = moves.get(key, 0) + sign * amount
    return {key: amount for key, amount in sorted(moves.items()) if amount}
