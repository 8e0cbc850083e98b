"""What a change to an expense or settlement does to balances and spending: one pure function that
every write path (create, edit, delete) and the recomputation of balances from history share.

A change is a pair (before, after): (None, record) creates, (record, edited) edits, (record, None)
deletes. Its effect is the effect of `after` minus the effect of `before`, so every write path is
the same subtraction and verify-balances is the sum of (None, record) over history.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from domain import Expense, Settlement
from ledger.balances import Net, negate, transfer_net
from ledger.conversion import CONVERSION, exchanged
from ledger.money import parse_amount
from ledger.moves import balance_moves, net_of, spending_moves

Record = Expense | Settlement
BalanceMoves = dict[tuple[str, str], int]
"""(member, currency) → signed minor units; never a zero."""
SpendingMoves = dict[tuple[str, str, str, str], int]
"""(member, month, category, currency) → signed minor units of their share of spending."""


@dataclass(frozen=True, slots=True)
class Effects:
    balances: BalanceMoves
    spending: SpendingMoves


def effects(before: Record | None, after: Record | None) -> Effects:
    """The moves that take the ledger from `before` standing to `after` standing. Each currency's
    balance moves sum to zero. Settlements move balances only; expenses also move spending."""
    if before is None and after is None:
        raise ValueError("a change needs a record before or after it")
    nets: list[tuple[str, Net]] = []
    spent: list[tuple[int, str, str, str, dict[str, int]]] = []
    for sign, record in ((-1, before), (1, after)):
        if record is None:
            continue
        if isinstance(record, Expense) and record.exchange_rate is not None:
            # the payer's own rate: balances and spending move in the group's currency
            currency, paid, owed = exchanged_sides(record)
            net = net_of(paid, owed)
            nets.append((currency, net if sign > 0 else negate(net)))
            spent.append((sign, record.date, record.category, currency, owed))
            continue
        net = net_effect(record)
        nets.append((record.currency, net if sign > 0 else negate(net)))
        if isinstance(record, Expense) and is_conversion(record):
            # a recorded conversion: its other currencies move too, and nobody spent anything
            nets += [
                (currency, net if sign > 0 else negate(net)) for currency, net in conversion_moves(record)
            ]
        elif isinstance(record, Expense):
            spent.append((sign, record.date, record.category, record.currency, record.owed))
    return Effects(balances=balance_moves(*nets), spending=spending_moves(*spent))


def exchanged_sides(expense: Expense) -> tuple[str, dict[str, int], dict[str, int]]:
    """An expense with its payer's own `exchange_rate`: the currency its effect is in, and who
    paid and owes what there (`ledger.conversion.exchanged`: the total rounded half to even,
    each side by largest remainder, so both still sum to it)."""
    if expense.exchange_rate is None or expense.exchange_currency is None:
        raise ValueError("the expense has no exchange rate")
    rate = Fraction(expense.exchange_rate)
    _, paid, owed = exchanged(expense.paid, expense.owed, expense.currency, expense.exchange_currency, rate)
    return expense.exchange_currency, paid, owed


def is_conversion(expense: Expense) -> bool:
    return expense.split.get("kind") == CONVERSION


def conversion_moves(expense: Expense) -> list[tuple[str, Net]]:
    """A recorded conversion's moves in the currencies it converted from (its split's `moves`:
    decimal strings, as the API shows them), per currency."""
    by_currency: dict[str, dict[str, int]] = {}
    for move in expense.split["moves"]:
        currency = move["currency"]
        amount = parse_amount(move["amount"], currency, field="moves", allow_zero=True, allow_negative=True)
        by_currency.setdefault(currency, {})[move["user_id"]] = amount
    return [(currency, net) for currency, net in sorted(by_currency.items())]


def net_effect(record: Record) -> dict[str, int]:
    """Per member, what `record` as it stands adds to their balance in its currency."""
    if isinstance(record, Expense):
        return net_of(record.paid, record.owed)
    return transfer_net(record.from_user, record.to_user, record.amount)
