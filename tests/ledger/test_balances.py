"""Balances: every delta is zero-sum, so any history of expenses, edits, deletions and settlements
leaves each currency summing to zero, and settling up brings everyone to zero."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import (
    Balances,
    EqualSplit,
    SharesSplit,
    compute_split,
    diff,
    negate,
    settle_up,
    transfer_net,
)

MEMBERS = ["ann", "bob", "cat", "dan", "eve", "fay"]
CURRENCIES = ["EUR", "JPY", "KWD"]


def test_transfer_net_sign_convention() -> None:
    balances = Balances({"EUR": {"ann": 1000, "bob": -1000}})
    balances.apply("EUR", transfer_net("bob", "ann", 400))  # bob pays ann back 4.00
    assert balances.of("EUR") == {"ann": 600, "bob": -600}
    balances.apply("EUR", transfer_net("bob", "ann", 600))
    assert balances.of("EUR") == {}
    assert balances.currencies() == []
    with pytest.raises(ValueError):
        transfer_net("ann", "ann", 1)
    with pytest.raises(ValueError):
        transfer_net("ann", "bob", 0)


def test_negate_and_diff() -> None:
    old = {"ann": 2000, "bob": -1000, "cat": -1000}
    new = {"ann": 1500, "bob": -1500}
    assert negate(old) == {"ann": -2000, "bob": 1000, "cat": 1000}
    assert diff(old, new) == {"ann": -500, "bob": -500, "cat": 1000}
    assert diff(old, old) == {}
    balances = Balances()
    balances.apply("EUR", old)
    balances.apply("EUR", diff(old, new))
    assert balances.of("EUR") == {"ann": 1500, "bob": -1500}
    balances.apply("EUR", negate(new))
    assert balances == Balances()


def test_rejects_deltas_that_do_not_sum_to_zero() -> None:
    with pytest.raises(ValueError):
        Balances().apply("EUR", {"ann": 1})


def test_views() -> None:
    balances = Balances({"JPY": {"bob": -5, "ann": 5}, "EUR": {"ann": -1, "cat": 1}})
    assert balances.currencies() == ["EUR", "JPY"]
    assert list(balances.of("JPY")) == ["ann", "bob"]
    assert balances.member("ann") == {"EUR": -1, "JPY": 5}
    assert balances.as_dict() == {"EUR": {"ann": -1, "cat": 1}, "JPY": {"ann": 5, "bob": -5}}


expense_events = st.tuples(
    st.just("expense"),
    st.sampled_from(CURRENCIES),
    st.integers(1, 10**7),
    st.sampled_from(MEMBERS),
    st.lists(st.sampled_from(MEMBERS), min_size=1, max_size=6, unique=True),
    st.booleans(),
)
settlement_events = st.tuples(
    st.just("settle"),
    st.sampled_from(CURRENCIES),
    st.integers(1, 10**6),
    st.sampled_from(MEMBERS),
    st.sampled_from(MEMBERS),
)
edit_events = st.tuples(st.sampled_from(["delete", "edit"]), st.integers(0, 100), st.integers(1, 10**7))


@settings(max_examples=200)
@given(st.lists(st.one_of(expense_events, settlement_events, edit_events), max_size=40))
def test_any_history_keeps_every_currency_at_zero_and_settles_to_zero(events: list[tuple[Any, ...]]) -> None:
    balances = Balances()
    recorded: list[tuple[str, dict[str, int]]] = []  # what a store would keep: (currency, net)
    for event in events:
        match event:
            case ("expense", currency, total, payer, members, weighted):
                split = (
                    SharesSplit({m: i + 1 for i, m in enumerate(members)})
                    if weighted
                    else EqualSplit(tuple(members))
                )
                net = compute_split(total, currency, {payer: total}, split).net
                balances.apply(currency, net)
                recorded.append((currency, net))
            case ("settle", currency, amount, payer, receiver) if payer != receiver:
                net = transfer_net(payer, receiver, amount)
                balances.apply(currency, net)
                recorded.append((currency, net))
            case ("delete", index, _) if recorded:
                currency, net = recorded.pop(index % len(recorded))
                balances.apply(currency, negate(net))
            case ("edit", index, total) if recorded:
                currency, old = recorded[index % len(recorded)]
                new = compute_split(total, currency, {sorted(old)[0]: total}, EqualSplit(tuple(old))).net
                balances.apply(currency, diff(old, new))
                recorded[index % len(recorded)] = (currency, new)
        for currency in balances.currencies():
            assert sum(balances.of(currency).values()) == 0

    replayed = Balances()
    for currency, net in recorded:
        replayed.apply(currency, net)
    assert replayed == balances

    for currency in balances.currencies():
        for transfer in settle_up(balances.of(currency)):
            balances.apply(currency, transfer_net(transfer.from_user, transfer.to_user, transfer.amount))
    assert balances.as_dict() == {}
