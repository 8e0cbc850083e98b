"""Running balances per member and currency, moved only by zero-sum net deltas.

Sign convention, everywhere in the ledger: a positive balance means the member is owed money, a
negative one that they owe. An expense moves balances by its `SplitResult.net`; deleting it applies
`negate(net)`; editing it applies `diff(old_net, new_net)`; a settlement (someone paying someone
back) applies `transfer_net(...)`. Every delta sums to zero, so every currency's balances always do.
"""

from __future__ import annotations

from collections.abc import Mapping

Net = Mapping[str, int]
"""Minor units per member that sum to zero."""


def negate(net: Net) -> dict[str, int]:
    """The delta that undoes `net` (deleting an expense or settlement)."""
    return {member: -amount for member, amount in net.items() if amount}


def diff(old_net: Net, new_net: Net) -> dict[str, int]:
    """The delta that turns the effect of `old_net` into that of `new_net` (editing an expense)."""
    members = sorted(old_net.keys() | new_net.keys())
    delta = {member: new_net.get(member, 0) - old_net.get(member, 0) for member in members}
    return {member: amount for member, amount in delta.items() if amount}


def transfer_net(from_user: str, to_user: str, amount: int) -> dict[str, int]:
    """The delta of `from_user` paying `amount` (positive minor units) to `to_user`: the payer's
    balance goes up (they owe less), the receiver's goes down (they are owed less)."""
    if from_user == to_user:
        raise ValueError("a transfer needs two different members")
    if amount <= 0:
        raise ValueError("a transfer amount must be positive")
    return {from_user: amount, to_user: -amount}


class Balances:
    """Balances per currency and member, holding only non-zero entries."""

    __slots__ = ("_by_currency",)

    def __init__(self, initial: Mapping[str, Mapping[str, int]] | None = None) -> None:
        self._by_currency: dict[str, dict[str, int]] = {}
        for currency, balances in (initial or {}).items():
            self.apply(currency, balances)

    def apply(self, currency: str, net: Net) -> None:
        """Add a zero-sum delta to `currency`'s balances; raises ValueError if it does not sum to 0."""
        if sum(net.values()) != 0:
            raise ValueError(f"a balance delta must sum to zero, this one sums to {sum(net.values())}")
        balances = self._by_currency.setdefault(currency, {})
        for member, amount in net.items():
            new = balances.get(member, 0) + amount
            if new:
                balances[member] = new
            else:
                balances.pop(member, None)
        if not balances:
            del self._by_currency[currency]

    def of(self, currency: str) -> dict[str, int]:
        """Non-zero balances in `currency`, by ascending member id (what `settle_up` takes)."""
        balances = self._by_currency.get(currency, {})
        return {member: balances[member] for member in sorted(balances)}

    def member(self, member: str) -> dict[str, int]:
        """One member's non-zero balance per currency."""
        return {
            currency: balances[member]
            for currency, balances in sorted(self._by_currency.items())
            if member in balances
        }

    def currencies(self) -> list[str]:
        """Currencies with any non-zero balance, sorted."""
        return sorted(self._by_currency)

    def as_dict(self) -> dict[str, dict[str, int]]:
        """{currency: {member: balance}}, sorted, non-zero entries only."""
        return {currency: self.of(currency) for currency in self.currencies()}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Balances) and self.as_dict() == other.as_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Balances({self.as_dict()!r})"
