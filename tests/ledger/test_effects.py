"""`ledger.effects`: the one (before, after) function every write path and verify-balances share."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import Expense, Settlement
from ledger import effects, net_effect

AT = datetime(2026, 12, 1, tzinfo=timezone.utc)
people = st.sampled_from(["a", "b", "c", "d"])
currencies = st.sampled_from(["EUR", "USD", "JPY"])
dates = st.sampled_from(["2026-11-30", "2026-12-01", "2027-01-15"])
categories = st.sampled_from(["general", "food"])


@st.composite
def expenses(draw: st.DrawFn) -> Expense:
    owed = draw(st.dictionaries(people, st.integers(1, 10_000), min_size=1))
    total = sum(owed.values())
    payer = draw(people)
    return Expense(
        id="e1", group_id="g1", description="x", amount=total, currency=draw(currencies), date=draw(dates),
        category=draw(categories), paid={payer: total}, owed=owed, split={"kind": "exact"}, notes="",
        receipt_id=None, created_by=payer, created_at=AT, updated_at=AT, version=1,
    )  # fmt: skip


@st.composite
def settlements(draw: st.DrawFn) -> Settlement:
    payer, payee = draw(st.lists(people, min_size=2, max_size=2, unique=True))
    return Settlement(
        id="s1", group_id="g1", from_user=payer, to_user=payee, amount=draw(st.integers(1, 10_000)),
        currency=draw(currencies), date=draw(dates), note="", created_by=payer, created_at=AT, version=1,
    )  # fmt: skip


records = st.one_of(expenses(), settlements())


def per_currency(moves: dict[tuple[str, str], int]) -> dict[str, int]:
    sums: dict[str, int] = defaultdict(int)
    for (_, currency), amount in moves.items():
        sums[currency] += amount
    return dict(sums)


def combined(*moves: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    total: dict[tuple[str, str], int] = defaultdict(int)
    for move in moves:
        for key, amount in move.items():
            total[key] += amount
    return {key: amount for key, amount in total.items() if amount}


def test_creating_an_expense_moves_paid_minus_owed_and_spending():
    dinner = Expense(
        id="e1", group_id="g1", description="dinner", amount=900, currency="EUR", date="2026-12-01",
        category="food", paid={"a": 900}, owed={"a": 300, "b": 300, "c": 300}, split={"kind": "equal"},
        notes="", receipt_id=None, created_by="a", created_at=AT, updated_at=AT, version=1,
    )  # fmt: skip
    effect = effects(None, dinner)
    assert effect.balances == {("a", "EUR"): 600, ("b", "EUR"): -300, ("c", "EUR"): -300}
    assert effect.spending == {
        ("a", "2026-12", "food", "EUR"): 300,
        ("b", "2026-12", "food", "EUR"): 300,
        ("c", "2026-12", "food", "EUR"): 300,
    }


def test_a_settlement_moves_balances_and_no_spending():
    back = Settlement(
        id="s1", group_id="g1", from_user="b", to_user="a", amount=300, currency="EUR", date="2026-12-01",
        note="", created_by="b", created_at=AT, version=1,
    )  # fmt: skip
    effect = effects(None, back)
    assert effect.balances == {("a", "EUR"): -300, ("b", "EUR"): 300}
    assert effect.spending == {}


def test_a_change_needs_a_record():
    with pytest.raises(ValueError):
        effects(None, None)


@given(records)
def test_every_currency_sums_to_zero(record):
    assert all(total == 0 for total in per_currency(effects(None, record).balances).values())


@given(records)
def test_deleting_undoes_creating(record):
    assert combined(effects(None, record).balances, effects(record, None).balances) == {}
    assert effects(record, record).balances == {} and effects(record, record).spending == {}


@given(records, records)
def test_an_edit_is_deleting_the_old_and_creating_the_new(before, after):
    edit = effects(before, after)
    assert edit.balances == combined(effects(before, None).balances, effects(None, after).balances)


@given(records)
def test_balances_are_the_net_effect_in_the_records_currency(record):
    net = {member: amount for member, amount in net_effect(record).items() if amount}
    assert effects(None, record).balances == {(m, record.currency): a for m, a in sorted(net.items())}
