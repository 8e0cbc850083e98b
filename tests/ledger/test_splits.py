"""Splits: every kind sums exactly to the total, rounding is fair and order-independent, and every
rejection names the field it is about."""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from domain.errors import Invalid
from ledger import (
    MAX_MINOR_UNITS,
    MAX_PARTICIPANTS,
    EqualSplit,
    ExactSplit,
    PercentSplit,
    SharesSplit,
    Split,
    allocate_largest_remainder,
    compute_split,
    parse_payers,
    parse_split,
    payers_to_json,
    split_expense,
    split_to_json,
)

member_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8)
members_lists = st.lists(member_ids, min_size=1, max_size=MAX_PARTICIPANTS, unique=True)
totals = st.one_of(st.integers(1, 1000), st.integers(1, MAX_MINOR_UNITS))


def field_of(error: Invalid) -> str:
    [detail] = error.details
    field: str = detail["field"]
    return field


def rejects(body: dict[str, Any], *, total: int = 3000, currency: str = "EUR") -> Invalid:
    with pytest.raises(Invalid) as caught:
        split_expense(body, total=total, currency=currency, default_payer="u1")
    return caught.value


@st.composite
def weight_maps(draw: st.DrawFn, weights: st.SearchStrategy[int]) -> dict[str, int]:
    members = draw(members_lists)
    return {member: draw(weights) for member in members}


@st.composite
def percent_maps(draw: st.DrawFn) -> dict[str, int]:
    """Hundredths of a percent per member, summing to 10000 (some may be 0)."""
    members = draw(members_lists)
    cut_count = len(members) - 1
    cuts = sorted(draw(st.lists(st.integers(0, 10_000), min_size=cut_count, max_size=cut_count)))
    bounds = [0, *cuts, 10_000]
    return {member: bounds[i + 1] - bounds[i] for i, member in enumerate(members)}


@st.composite
def exact_maps(draw: st.DrawFn, total: int) -> dict[str, int]:
    members = draw(members_lists)
    cut_count = len(members) - 1
    cuts = sorted(draw(st.lists(st.integers(0, total), min_size=cut_count, max_size=cut_count)))
    bounds = [0, *cuts, total]
    return {member: bounds[i + 1] - bounds[i] for i, member in enumerate(members)}


@st.composite
def splits(draw: st.DrawFn, total: int) -> Split:
    kind = draw(st.sampled_from(["equal", "exact", "percent", "shares"]))
    if kind == "equal":
        return EqualSplit(members=tuple(draw(members_lists)))
    if kind == "exact":
        return ExactSplit(amounts=draw(exact_maps(total)))
    if kind == "percent":
        return PercentSplit(percents=draw(percent_maps()))
    return SharesSplit(shares=draw(weight_maps(st.integers(1, 1_000_000))))


@st.composite
def expenses(draw: st.DrawFn) -> tuple[int, dict[str, int], Split]:
    total = draw(totals)
    payers = {member: amount for member, amount in draw(exact_maps(total)).items() if amount}
    split = draw(splits(total))
    # Payers and the split are drawn independently; an expense may involve at most MAX_PARTICIPANTS.
    assume(len(payers.keys() | _involved(split)) <= MAX_PARTICIPANTS)
    return total, payers, split


def _involved(split: Split) -> set[str]:
    match split:
        case EqualSplit(members=members):
            return set(members)
        case ExactSplit(amounts=people) | PercentSplit(percents=people) | SharesSplit(shares=people):
            return set(people)
    raise AssertionError(split)


def shuffled(mapping: dict[str, int], seed: int) -> dict[str, int]:
    items = list(mapping.items())
    random.Random(seed).shuffle(items)
    return dict(items)


@settings(max_examples=300)
@given(expenses())
def test_paid_and_owed_sum_to_the_total_and_net_to_zero(expense: tuple[int, dict[str, int], Split]) -> None:
    total, payers, split = expense
    result = compute_split(total, "EUR", payers, split)
    assert sum(result.paid.values()) == total
    assert sum(result.owed.values()) == total
    assert sum(result.net.values()) == 0
    assert all(amount >= 0 for amount in result.owed.values())
    assert set(result.net) == set(result.paid) | set(result.owed)
    for member, net in result.net.items():
        assert net == result.paid.get(member, 0) - result.owed.get(member, 0)
    assert list(result.net) == sorted(result.net)


@settings(max_examples=300)
@given(total=totals, members=members_lists)
def test_equal_shares_differ_by_at_most_one_minor_unit(total: int, members: list[str]) -> None:
    owed = compute_split(total, "EUR", {members[0]: total}, EqualSplit(tuple(members))).owed
    assert sum(owed.values()) == total
    assert max(owed.values()) - min(owed.values()) <= 1
    # the extra units go to the first members by id
    extra = [member for member in sorted(members) if owed[member] > total // len(members)]
    assert extra == sorted(members)[: len(extra)]


@settings(max_examples=300)
@given(total=totals, weights=weight_maps(st.integers(0, 10_000)), seed=st.integers())
def test_largest_remainder_is_within_one_of_the_quota_and_order_independent(
    total: int, weights: dict[str, int], seed: int
) -> None:
    if sum(weights.values()) == 0:
        weights[next(iter(weights))] = 1
    shares = allocate_largest_remainder(total, weights)
    assert sum(shares.values()) == total
    weight_sum = sum(weights.values())
    for member, share in shares.items():
        quota = Fraction(total * weights[member], weight_sum)
        assert quota - 1 < share < quota + 1
        if weights[member] == 0:
            assert share == 0
    assert allocate_largest_remainder(total, shuffled(weights, seed)) == shares


@settings(max_examples=200)
@given(expense=expenses(), seed=st.integers())
def test_results_do_not_depend_on_input_order(expense: tuple[int, dict[str, int], Split], seed: int) -> None:
    total, payers, split = expense
    match split:
        case EqualSplit(members=members):
            order = list(members)
            random.Random(seed).shuffle(order)
            reordered: Split = EqualSplit(tuple(order))
        case ExactSplit(amounts=amounts):
            reordered = ExactSplit(shuffled(dict(amounts), seed))
        case PercentSplit(percents=percents):
            reordered = PercentSplit(shuffled(dict(percents), seed))
        case SharesSplit(shares=shares):
            reordered = SharesSplit(shuffled(dict(shares), seed))
    expected = compute_split(total, "EUR", payers, split)
    assert compute_split(total, "EUR", shuffled(payers, seed), reordered) == expected


def test_remainder_examples() -> None:
    assert compute_split(1000, "EUR", {"u1": 1000}, EqualSplit(("u3", "u1", "u2"))).owed == {
        "u1": 334,
        "u2": 333,
        "u3": 333,
    }
    assert compute_split(2, "EUR", {"u1": 2}, EqualSplit(("c", "b", "a"))).owed == {"a": 1, "b": 1, "c": 0}
    # 33.33% / 33.33% / 33.34% of 1.00: quotas 33.33, 33.33, 33.34 -> floors 33, 33, 33 and the one
    # leftover cent goes to the largest remainder (.34)
    percents = PercentSplit({"a": 3333, "b": 3333, "c": 3334})
    assert compute_split(100, "EUR", {"a": 100}, percents).owed == {"a": 33, "b": 33, "c": 34}
    # 1:2 of 10: quotas 3.33 and 6.67 -> 3 and 7
    assert compute_split(10, "JPY", {"a": 10}, SharesSplit({"a": 1, "b": 2})).owed == {"a": 3, "b": 7}


@settings(max_examples=100)
@given(total=st.integers(1, 10**6), weights=weight_maps(st.integers(1, 50)), factor=st.integers(2, 7))
def test_scaling_all_weights_changes_nothing(total: int, weights: dict[str, int], factor: int) -> None:
    scaled = {member: weight * factor for member, weight in weights.items()}
    assert allocate_largest_remainder(total, scaled) == allocate_largest_remainder(total, weights)


@settings(max_examples=100)
@given(total=st.integers(1, 10**9), members=st.lists(member_ids, min_size=1, max_size=10, unique=True))
def test_equal_weights_in_any_kind_match_the_equal_split(total: int, members: list[str]) -> None:
    equal = compute_split(total, "EUR", {members[0]: total}, EqualSplit(tuple(members))).owed
    shares = compute_split(total, "EUR", {members[0]: total}, SharesSplit(dict.fromkeys(members, 3))).owed
    assert shares == equal


def test_parses_the_documented_examples() -> None:
    result = split_expense(
        {
            "payers": [{"user_id": "u1", "amount": "30.00"}],
            "split": {"kind": "equal", "members": ["u1", "u2", "u3"]},
        },
        total=3000,
        currency="EUR",
    )
    assert result.paid == {"u1": 3000}
    assert result.owed == {"u1": 1000, "u2": 1000, "u3": 1000}
    assert result.net == {"u1": 2000, "u2": -1000, "u3": -1000}

    exact = split_expense(
        {"split": {"kind": "exact", "amounts": {"u1": "10.00", "u2": "20.00"}}},
        total=3000,
        currency="EUR",
        default_payer="u2",
    )
    assert exact.owed == {"u1": 1000, "u2": 2000}
    assert exact.net == {"u1": -1000, "u2": 1000}

    percent = split_expense(
        {"split": {"kind": "percent", "percents": {"u1": "33.33", "u2": "66.67"}}},
        total=3000,
        currency="EUR",
        default_payer="u3",
    )
    assert percent.owed == {"u1": 1000, "u2": 2000}
    assert percent.paid == {"u3": 3000}

    shares = split_expense(
        {"split": {"kind": "shares", "shares": {"u1": 1, "u2": 2}}},
        total=3000,
        currency="EUR",
        default_payer="u1",
    )
    assert shares.owed == {"u1": 1000, "u2": 2000}


def test_several_payers_and_a_payer_who_also_owes() -> None:
    result = split_expense(
        {
            "payers": [{"user_id": "b", "amount": "10"}, {"user_id": "a", "amount": "20.50"}],
            "split": {"kind": "equal", "members": ["a", "c"]},
        },
        total=3050,
        currency="EUR",
    )
    assert result.paid == {"a": 2050, "b": 1000}
    assert result.owed == {"a": 1525, "c": 1525}
    assert result.net == {"a": 525, "b": 1000, "c": -1525}


def test_exact_mismatch_says_by_how_much() -> None:
    error = rejects({"split": {"kind": "exact", "amounts": {"u1": "10.00", "u2": "19.99"}}})
    assert field_of(error) == "split.amounts"
    assert "0.01 short" in error.details[0]["message"]
    error = rejects({"split": {"kind": "exact", "amounts": {"u1": "10.00", "u2": "25.00"}}})
    assert "5.00 over" in error.details[0]["message"]


def test_payers_must_add_up_to_the_total() -> None:
    error = rejects(
        {
            "payers": [{"user_id": "u1", "amount": "10.00"}, {"user_id": "u2", "amount": "10.00"}],
            "split": {"kind": "equal", "members": ["u1"]},
        }
    )
    assert field_of(error) == "payers"
    assert "10.00 short" in error.details[0]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"split": {"kind": "exact", "amounts": {"u1": "10.00", "u2": 20.0}}}, "split.amounts.u2"),
        ({"split": {"kind": "exact", "amounts": {"u1": "30.00", "u2": "-0.01"}}}, "split.amounts.u2"),
        ({"split": {"kind": "exact", "amounts": {"u1": "29.999", "u2": "0.001"}}}, "split.amounts.u1"),
        ({"split": {"kind": "exact", "amounts": {}}}, "split.amounts"),
        ({"split": {"kind": "exact", "amounts": ["u1"]}}, "split.amounts"),
        ({"split": {"kind": "equal", "members": []}}, "split.members"),
        ({"split": {"kind": "equal", "members": ["u1", "u2", "u1"]}}, "split.members[2]"),
        ({"split": {"kind": "equal", "members": ["u1", ""]}}, "split.members[1]"),
        ({"split": {"kind": "equal", "members": ["u1", 7]}}, "split.members[1]"),
        ({"split": {"kind": "equal", "members": ["x" * 65]}}, "split.members[0]"),
        ({"split": {"kind": "equal", "members": "u1"}}, "split.members"),
        ({"split": {"kind": "equal"}}, "split.members"),
        ({"split": {"kind": "equal", "members": ["u1"], "amounts": {}}}, "split.amounts"),
        ({"split": {"kind": "percent", "percents": {"u1": "50", "u2": "49.99"}}}, "split.percents"),
        ({"split": {"kind": "percent", "percents": {"u1": "100.01", "u2": "-0.01"}}}, "split.percents.u1"),
        ({"split": {"kind": "percent", "percents": {"u1": "50", "u2": "-50"}}}, "split.percents.u2"),
        ({"split": {"kind": "percent", "percents": {"u1": "33.333", "u2": "66.667"}}}, "split.percents.u1"),
        ({"split": {"kind": "percent", "percents": {"u1": 50, "u2": "50"}}}, "split.percents.u1"),
        ({"split": {"kind": "shares", "shares": {"u1": 1, "u2": 0}}}, "split.shares.u2"),
        ({"split": {"kind": "shares", "shares": {"u1": 1, "u2": -2}}}, "split.shares.u2"),
        ({"split": {"kind": "shares", "shares": {"u1": 1.5}}}, "split.shares.u1"),
        ({"split": {"kind": "shares", "shares": {"u1": "2"}}}, "split.shares.u1"),
        ({"split": {"kind": "shares", "shares": {"u1": True}}}, "split.shares.u1"),
        ({"split": {"kind": "shares", "shares": {"u1": 10**7}}}, "split.shares.u1"),
        ({"split": {"kind": "thirds", "members": ["u1"]}}, "split.kind"),
        ({"split": {"members": ["u1"]}}, "split.kind"),
        ({"split": ["u1"]}, "split"),
        ({}, "split"),
        ({"payers": [], "split": {"kind": "equal", "members": ["u1"]}}, "payers"),
        ({"payers": {"u1": "30.00"}, "split": {"kind": "equal", "members": ["u1"]}}, "payers"),
        ({"payers": ["u1"], "split": {"kind": "equal", "members": ["u1"]}}, "payers[0]"),
        (
            {
                "payers": [{"user_id": "u1", "amount": "10"}, {"user_id": "u2", "amount": 20}],
                "split": {"kind": "equal", "members": ["u1"]},
            },
            "payers[1].amount",
        ),
        (
            {
                "payers": [{"user_id": "u1", "amount": "10"}, {"user_id": "u1", "amount": "20"}],
                "split": {"kind": "equal", "members": ["u1"]},
            },
            "payers[1].user_id",
        ),
        (
            {
                "payers": [{"user_id": "u1", "amount": "30"}, {"user_id": "u2", "amount": "0"}],
                "split": {"kind": "equal", "members": ["u1"]},
            },
            "payers[1].amount",
        ),
        ({"payers": [{"user_id": "u1"}], "split": {"kind": "equal", "members": ["u1"]}}, "payers[0].amount"),
        (
            {
                "payers": [{"user_id": "u1", "amount": "30", "note": "x"}],
                "split": {"kind": "equal", "members": ["u1"]},
            },
            "payers[0].note",
        ),
    ],
)
def test_rejections_name_the_field(body: dict[str, Any], field: str) -> None:
    error = rejects(body)
    assert error.code == "validation_error"
    assert field_of(error) == field


def test_participants_are_limited() -> None:
    many = [f"m{i}" for i in range(MAX_PARTICIPANTS + 1)]
    assert field_of(rejects({"split": {"kind": "equal", "members": many}})) == "split.members"
    too_many_shares = {"split": {"kind": "shares", "shares": dict.fromkeys(many, 1)}}
    assert field_of(rejects(too_many_shares)) == "split.shares"
    payers = [{"user_id": member, "amount": "1"} for member in many]
    assert (
        field_of(
            rejects({"payers": payers, "split": {"kind": "equal", "members": ["m0"]}}, total=len(many) * 100)
        )
        == "payers"
    )
    # 25 payers and 26 other owers: each list is fine, the expense involves too many people
    payers = [{"user_id": f"p{i}", "amount": "1"} for i in range(25)]
    owers = [f"o{i}" for i in range(26)]
    too_many_people = {"payers": payers, "split": {"kind": "equal", "members": owers}}
    assert field_of(rejects(too_many_people, total=2500)) == "split"
    fifty = split_expense(
        {"split": {"kind": "equal", "members": many[:50]}}, total=100, currency="EUR", default_payer="m0"
    )
    assert len(fifty.net) == 50


def test_requires_payers_without_a_default() -> None:
    with pytest.raises(Invalid) as caught:
        split_expense({"split": {"kind": "equal", "members": ["u1"]}}, total=100, currency="EUR")
    assert field_of(caught.value) == "payers"


def test_amounts_are_parsed_in_the_expense_currency() -> None:
    result = split_expense(
        {"split": {"kind": "exact", "amounts": {"a": "1000", "b": "500"}}},
        total=1500,
        currency="JPY",
        default_payer="a",
    )
    assert result.owed == {"a": 1000, "b": 500}
    fractional_yen = {"split": {"kind": "exact", "amounts": {"a": "1000.5", "b": "499.5"}}}
    error = rejects(fractional_yen, total=1500, currency="JPY")
    assert field_of(error) == "split.amounts.a"


@settings(max_examples=200)
@given(expense=expenses(), currency=st.sampled_from(["JPY", "EUR", "KWD"]))
def test_split_and_payers_round_trip_through_json(
    expense: tuple[int, dict[str, int], Split], currency: str
) -> None:
    _, payers, split = expense
    assert parse_payers(payers_to_json(payers, currency), currency) == payers
    assert parse_split(split_to_json(split, currency), currency) == split
