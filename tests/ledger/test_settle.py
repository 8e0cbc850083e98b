"""Settle-up: plans are valid, never longer than greedy or n - 1, and optimal (checked against an
independent brute-force search) whenever the exact path applies."""

from __future__ import annotations

import random
import time

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from ledger import EXACT_LIMIT, Transfer, greedy_settle_up, settle_up


def min_transfers_brute_force(balances: dict[str, int]) -> int:
    """Backtracking search over who the first unsettled member settles with (LeetCode 465 style):
    independent of the zero-sum-partition argument `settle_up` relies on."""
    debts = [amount for amount in balances.values() if amount]

    def search(start: int) -> int:
        while start < len(debts) and debts[start] == 0:
            start += 1
        if start == len(debts):
            return 0
        best = len(debts)
        for other in range(start + 1, len(debts)):
            if debts[other] * debts[start] < 0:
                debts[other] += debts[start]
                best = min(best, 1 + search(start + 1))
                debts[other] -= debts[start]
        return best

    return search(0)


def applied(balances: dict[str, int], plan: list[Transfer]) -> dict[str, int]:
    after = dict(balances)
    for transfer in plan:
        assert transfer.amount > 0
        assert transfer.from_user != transfer.to_user
        after[transfer.from_user] += transfer.amount
        after[transfer.to_user] -= transfer.amount
    return {member: amount for member, amount in after.items() if amount}


@st.composite
def zero_sum_balances(draw: st.DrawFn, max_members: int, amounts: st.SearchStrategy[int]) -> dict[str, int]:
    """Balances summing to zero over up to `max_members` members (some may be zero)."""
    count = draw(st.integers(0, max_members))
    values = draw(st.lists(amounts, min_size=max(count - 1, 0), max_size=max(count - 1, 0)))
    if count:
        values.append(-sum(values))
    names = draw(
        st.lists(st.text("abcdefghij", min_size=1, max_size=3), min_size=count, max_size=count, unique=True)
    )
    return dict(zip(names, values, strict=True))


small_amounts = st.integers(-12, 12)
any_amounts = st.one_of(small_amounts, st.integers(-(10**6), 10**6))


def nonzero(balances: dict[str, int]) -> int:
    return sum(1 for amount in balances.values() if amount)


@settings(max_examples=400, deadline=None)
@given(zero_sum_balances(7, any_amounts))
def test_optimal_against_brute_force_on_small_groups(balances: dict[str, int]) -> None:
    plan = settle_up(balances)
    assert applied(balances, plan) == {}
    assert len(plan) == min_transfers_brute_force(balances)


@settings(max_examples=150, deadline=None)
@given(zero_sum_balances(EXACT_LIMIT + 10, any_amounts))
def test_plans_settle_everyone_and_beat_greedy(balances: dict[str, int]) -> None:
    plan = settle_up(balances)
    greedy = greedy_settle_up(balances)
    assert applied(balances, plan) == {}
    assert applied(balances, greedy) == {}
    assert len(plan) <= len(greedy) <= max(nonzero(balances) - 1, 0)
    assert plan == sorted(plan)


@settings(max_examples=100, deadline=None)
@given(
    groups=st.lists(st.lists(small_amounts.filter(bool), min_size=1, max_size=3), min_size=1, max_size=5),
    seed=st.integers(),
)
@example(groups=[[1, 1], [1, 1], [1, 1], [1, 9]], seed=0)
def test_finds_planted_zero_sum_groups(groups: list[list[int]], seed: int) -> None:
    """Members in k separate zero-sum groups need at most n - k transfers (when the exact path
    applies: at most EXACT_LIMIT of them); greedy often needs more."""
    values: list[int] = []
    for group in groups:
        values += [*group, -sum(group)] if sum(group) else group + [1, -1]
    assume(len(values) <= EXACT_LIMIT)
    names = [f"m{i:02d}" for i in range(len(values))]
    random.Random(seed).shuffle(names)
    balances = dict(zip(names, values, strict=True))
    plan = settle_up(balances)
    assert applied(balances, plan) == {}
    assert len(plan) <= nonzero(balances) - len(groups)


@settings(max_examples=100, deadline=None)
@given(balances=zero_sum_balances(12, small_amounts), seed=st.integers())
def test_deterministic_whatever_the_input_order(balances: dict[str, int], seed: int) -> None:
    items = list(balances.items())
    random.Random(seed).shuffle(items)
    assert settle_up(dict(items)) == settle_up(balances)
    assert greedy_settle_up(dict(items)) == greedy_settle_up(balances)


def test_examples() -> None:
    assert settle_up({}) == []
    assert settle_up({"a": 0, "b": 0}) == []
    assert settle_up({"a": 5, "b": -5}) == [Transfer("b", "a", 5)]
    # greedy starts with e (-9) paying c (7) and needs 5 transfers; {a, b, c} and {d, e, f} are
    # zero-sum groups, so 4 suffice
    balances = {"a": -2, "b": -5, "c": 7, "d": 3, "e": -9, "f": 6}
    assert len(greedy_settle_up(balances)) == 5
    assert settle_up(balances) == [
        Transfer("a", "c", 2),
        Transfer("b", "c", 5),
        Transfer("e", "d", 3),
        Transfer("e", "f", 6),
    ]
    # ties: equal creditors and debtors are paired by member id
    assert settle_up({"b": 3, "a": 3, "d": -3, "c": -3}) == [Transfer("c", "a", 3), Transfer("d", "b", 3)]


def test_rejects_balances_that_do_not_sum_to_zero() -> None:
    with pytest.raises(ValueError, match="sum to zero"):
        settle_up({"a": 5, "b": -4})
    with pytest.raises(ValueError, match="sum to zero"):
        greedy_settle_up({"a": 1})


def test_large_groups_fall_back_to_greedy_and_stay_valid() -> None:
    rng = random.Random(7)
    for _ in range(20):
        values = [rng.randint(-(10**5), 10**5) or 1 for _ in range(39)]
        balances = {f"m{i:02d}": value for i, value in enumerate([*values, -sum(values)])}
        plan = settle_up(balances)
        assert applied(balances, plan) == {}
        assert len(plan) <= len(greedy_settle_up(balances)) <= nonzero(balances) - 1


def test_exact_path_is_fast_at_the_limit() -> None:
    """Worst case for the exact path: 15 members, no opposite pairs to peel. Budget is generous
    (the bench shows ~30 ms) so only an algorithmic regression fails it."""
    rng = random.Random(1)
    for _ in range(3):
        while True:
            values = [rng.randint(-50, 50) or 1 for _ in range(EXACT_LIMIT - 1)]
            values.append(-sum(values))
            if values[-1] and not any(-v in values for v in values):
                break
        balances = {f"m{i:02d}": value for i, value in enumerate(values)}
        started = time.perf_counter()
        plan = settle_up(balances)
        assert time.perf_counter() - started < 1.0
        assert applied(balances, plan) == {}
