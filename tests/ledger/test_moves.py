"""From per-currency nets to the (member, currency) moves a store applies, and back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import negate
from ledger.moves import balance_moves, differences, net_of, spending_moves

members = st.sampled_from(["a", "b", "c", "d"])
owed_maps = st.dictionaries(members, st.integers(0, 10_000), min_size=1)


def test_net_is_paid_minus_owed():
    assert net_of({"a": 900}, {"a": 300, "b": 300, "c": 300}) == {"a": 600, "b": -300, "c": -300}


def test_an_edit_across_currencies_moves_both():
    old, new = {"a": 600, "b": -600}, {"a": 500, "c": -500}
    moves = balance_moves(("EUR", negate(old)), ("USD", new))
    assert moves == {("a", "EUR"): -600, ("b", "EUR"): 600, ("a", "USD"): 500, ("c", "USD"): -500}


def test_an_edit_that_changes_nothing_moves_nothing():
    net = {"a": 600, "b": -600}
    assert balance_moves(("EUR", negate(net)), ("EUR", net)) == {}


def test_a_delta_that_does_not_sum_to_zero_is_a_bug():
    with pytest.raises(ValueError):
        balance_moves(("EUR", {"a": 1}))


@given(owed_maps, owed_maps)
def test_moves_per_currency_sum_to_zero(paid, owed):
    total = sum(owed.values())
    paid = {next(iter(paid)): total}
    moves = balance_moves(("EUR", net_of(paid, owed)))
    assert sum(moves.values()) == 0
    assert all(amount != 0 for amount in moves.values())


@given(owed_maps)
def test_spending_of_an_edit_back_to_itself_cancels(owed):
    before = (-1, "2026-03-05", "food", "EUR", owed)
    after = (1, "2026-03-05", "food", "EUR", owed)
    assert spending_moves(before, after) == {}


def test_spending_moves_by_month_and_category():
    moves = spending_moves(
        (-1, "2026-03-05", "food", "EUR", {"a": 100, "b": 200}),
        (1, "2026-04-01", "food", "EUR", {"a": 150}),
    )
    assert moves == {
        ("a", "2026-03", "food", "EUR"): -100,
        ("a", "2026-04", "food", "EUR"): 150,
        ("b", "2026-03", "food", "EUR"): -200,
    }


def test_differences_ignore_zeros_and_report_both_sides():
    stored = {("a", "EUR"): 100, ("b", "EUR"): 0, ("c", "USD"): 5}
    recomputed = {("a", "EUR"): 100, ("c", "USD"): 7, ("d", "USD"): -2}
    assert differences(stored, recomputed) == {("c", "USD"): (5, 7), ("d", "USD"): (0, -2)}
