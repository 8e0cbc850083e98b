"""Itemized splits: lines shared by who had them, tax, tip and discount spread by each member's
lines, exact to the minor unit (ledger/itemized.py)."""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import Invalid
from ledger import compute_split, format_amount, parse_split, split_to_json
from ledger.itemized import Item, ItemsSplit, items_owed, receipt_split_draft

PEOPLE = ["u1", "u2", "u3", "u4", "u5"]


@st.composite
def itemized(draw: Any) -> ItemsSplit:
    members = tuple(draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=5, unique=True)))
    items = tuple(
        Item(
            description=f"line {n}",
            amount=draw(st.integers(0, 50_000)),
            members=tuple(draw(st.lists(st.sampled_from(PEOPLE), max_size=5, unique=True))),
        )
        for n in range(draw(st.integers(1, 12)))
    )
    lines = sum(item.amount for item in items)
    if lines == 0:
        items = (*items, Item("one more", 1, ()))
        lines = 1
    return ItemsSplit(
        items=items,
        members=members,
        tax=draw(st.integers(0, 5_000)),
        tip=draw(st.integers(0, 5_000)),
        discount=draw(st.integers(0, lines)),
    )


@settings(max_examples=300)
@given(split=itemized())
def test_shares_add_up_to_the_total_and_none_is_negative(split: ItemsSplit) -> None:
    owed = items_owed(split)
    assert sum(owed.values()) == split.total
    assert all(share >= 0 for share in owed.values())
    assert list(owed) == sorted(owed)


@settings(max_examples=300)
@given(split=itemized())
def test_each_share_is_within_a_unit_of_the_exact_one(split: ItemsSplit) -> None:
    """Exact: each line divided among its sharers, the extras in proportion to those shares."""
    exact: dict[str, Fraction] = {}
    for item in split.items:
        sharers = item.members or split.members
        for member in sharers:
            exact[member] = exact.get(member, Fraction(0)) + Fraction(item.amount, len(sharers))
    lines = sum(exact.values())
    owed = items_owed(split)
    for member, share in exact.items():
        assert abs(owed[member] - share * split.total / lines) < 1


def test_leftover_units_do_not_pile_up_on_one_member() -> None:
    """Review: rounding each line apart gave every line's leftover cent to the first member by
    id (200 unassigned lines of 0.01 among three: 2.00 for one, nothing for the others)."""
    cents = ItemsSplit(items=tuple(Item(f"{n}", 1, ()) for n in range(200)), members=("u1", "u2", "u3"))
    assert items_owed(cents) == {"u1": 67, "u2": 67, "u3": 66}
    lines = ItemsSplit(items=tuple(Item(f"{n}", 398, ("u1", "u2", "u3")) for n in range(30)), members=())
    assert items_owed(lines) == {"u1": 3980, "u2": 3980, "u3": 3980}


@given(split=itemized(), seed=st.integers())
def test_the_order_of_members_does_not_matter(split: ItemsSplit, seed: int) -> None:
    rng = random.Random(seed)

    def shuffled(members: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(rng.sample(members, len(members)))

    reordered = ItemsSplit(
        items=tuple(Item(i.description, i.amount, shuffled(i.members)) for i in split.items),
        members=shuffled(split.members),
        tax=split.tax,
        tip=split.tip,
        discount=split.discount,
    )
    assert items_owed(reordered) == items_owed(split)


@given(split=itemized(), currency=st.sampled_from(["EUR", "JPY", "KWD"]))
def test_json_round_trips(split: ItemsSplit, currency: str) -> None:
    assert parse_split(split_to_json(split, currency), currency) == split


def test_a_dinner_with_tax_and_tip() -> None:
    """Pizza for two, a beer for one, water for all three; 8 % tax, a 4.00 tip, 1.00 off."""
    body = {
        "kind": "items",
        "items": [
            {"description": "Pizza", "amount": "18.00", "members": ["u1", "u2"]},
            {"description": "Beer", "amount": "6.00", "members": ["u2"]},
            {"description": "Water", "amount": "3.00"},
        ],
        "tax": "2.16",
        "tip": "4.00",
        "discount": "1.00",
        "members": ["u1", "u2", "u3"],
    }
    split = parse_split(body, "EUR")
    result = compute_split(3216, "EUR", {"u1": 3216}, split)
    # lines: u1 10.00, u2 16.00, u3 1.00 (of 27.00), so 32.16 is owed 10:16:1 (1191.1, 1905.8,
    # 119.1): the leftover cent to u2, whose remainder is the largest
    assert result.owed == {"u1": 1191, "u2": 1906, "u3": 119}


def test_yen_lines_stay_whole() -> None:
    split = parse_split(
        {"kind": "items", "items": [{"amount": "1000", "members": ["a", "b", "c"]}], "tax": "100"}, "JPY"
    )
    # one rounding for line and tax together: 366.67 each, the two leftover yen by member id
    assert compute_split(1100, "JPY", {"a": 1100}, split).owed == {"a": 367, "b": 367, "c": 366}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "items", "items": []}, "split.items"),
        ({"kind": "items", "items": [{"amount": "1.00"}]}, "split.members"),
        ({"kind": "items", "items": [{"amount": "0.00", "members": ["a"]}]}, "split.items"),
        (
            {"kind": "items", "items": [{"amount": "1.00", "members": ["a"]}], "discount": "2.00"},
            "split.discount",
        ),
        ({"kind": "items", "items": [{"amount": "-1.00", "members": ["a"]}]}, "split.items[0].amount"),
        ({"kind": "items", "items": [{"amount": "1.001", "members": ["a"]}]}, "split.items[0].amount"),
        (
            {"kind": "items", "items": [{"amount": "1.00", "members": ["a", "a"]}]},
            "split.items[0].members[1]",
        ),
        ({"kind": "items", "items": [{"amount": "1.00", "who": ["a"]}]}, "split.items[0].who"),
        ({"kind": "items", "items": ["1.00"]}, "split.items[0]"),
        ({"kind": "items", "items": [{"amount": "1.00", "members": ["a"]}], "service": "1"}, "split.service"),
    ],
)
def test_bad_itemized_splits_name_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_split(body, "EUR")
    assert [d["field"] for d in refused.value.details] == [field]


def test_lines_that_do_not_come_to_the_total_say_by_how_much() -> None:
    split = parse_split(
        {"kind": "items", "items": [{"amount": "10.00", "members": ["a"]}], "tip": "1.00"}, "EUR"
    )
    with pytest.raises(Invalid) as refused:
        compute_split(1000, "EUR", {"a": 1000}, split)
    assert "11.00" in refused.value.message and format_amount(100, "EUR") in refused.value.message


@pytest.mark.parametrize(
    ("lines", "total", "tax", "expect"),
    [
        # tax-inclusive prices (a German receipt): the lines are the total
        ([("Milch", 119), ("Brot", 250)], 369, 24, {"items": ["1.19", "2.50"]}),
        # prices before tax (a US receipt): the tax closes the gap
        ([("Milk", 300), ("Bread", 250)], 594, 44, {"items": ["3.00", "2.50"], "tax": "0.44"}),
        # a coupon line and OCR's missed line
        (
            [("Milk", 300), ("Coupon", -50), ("Bread", 250)],
            700,
            None,
            {"items": ["3.00", "2.50", "2.00"], "discount": "0.50"},
        ),  # fmt: skip
        # lines over the total: a discount nobody printed as a line (multi-buy)
        ([("Milk", 300), ("Milk", 300)], 500, None, {"items": ["3.00", "3.00"], "discount": "1.00"}),
    ],
)
def test_a_receipts_draft_adds_up(
    lines: list[tuple[str, int]], total: int, tax: int | None, expect: dict[str, Any]
) -> None:
    draft = receipt_split_draft(lines, total, tax, "EUR")
    assert draft is not None
    assert [i["amount"] for i in draft["items"]] == expect["items"]
    assert all(i["members"] == [] for i in draft["items"])
    assert draft.get("tax") == expect.get("tax") and draft.get("discount") == expect.get("discount")
    split = parse_split({**draft, "members": ["a", "b"]}, "EUR")
    assert compute_split(total, "EUR", {"a": total}, split).owed.keys() == {"a", "b"}


def test_nothing_to_itemize_is_no_draft() -> None:
    assert receipt_split_draft([], 100, None, "EUR") is None
    assert receipt_split_draft([("Free", 0)], 100, None, "EUR") is None
