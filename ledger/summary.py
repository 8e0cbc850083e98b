"""One person's position across groups: what they owe and are owed, and what they spent."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CurrencyPosition:
    currency: str
    owed_to_them: int
    """Sum of their positive balances: what groups owe them."""
    they_owe: int
    """Sum of their negative balances, as a positive number."""

    @property
    def net(self) -> int:
        return self.owed_to_them - self.they_owe


def positions(balances_per_group: Iterable[Mapping[str, int]]) -> list[CurrencyPosition]:
    """Per currency, across groups. Owing in one group and being owed in another do not cancel:
    they are debts to and from different people."""
    owed: dict[str, int] = {}
    owing: dict[str, int] = {}
    for balances in balances_per_group:
        for currency, amount in balances.items():
            owed[currency] = owed.get(currency, 0) + max(amount, 0)
            owing[currency] = owing.get(currency, 0) + max(-amount, 0)
    return [
        CurrencyPosition(currency, owed[currency], owing[currency])
        for currency in sorted(owed)
        if owed[currency] or owing[currency]
    ]


def spending_by(spending: Mapping[tuple[str, str, str], int], axis: str) -> list[tuple[str, str, int]]:
    """Totals of (month, category, currency) → amount along `axis` ("month" or "category"), as
    sorted (label, currency, amount) rows without zeros."""
    index = {"month": 0, "category": 1}[axis]
    totals: dict[tuple[str, str], int] = {}
    for key, amount in spending.items():
        label = (key[index], key[2])
        totals[label] = totals.get(label, 0) + amount
    return [(label, currency, amount) for (label, currency), amount in sorted(totals.items()) if amount]
