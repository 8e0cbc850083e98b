"""An itemized split: a receipt's lines, each shared by the members who had it, with tax, tip and
discount spread in proportion to what each member's lines came to.

    {"kind": "items",
     "items": [{"description": "Pizza", "amount": "18.00", "members": ["u1", "u2"]},
               {"description": "Beer", "amount": "6.00", "members": ["u2"]},
               {"description": "Water", "amount": "2.00"}],
     "tax": "2.08", "tip": "4.00", "discount": "1.00",
     "members": ["u1", "u2", "u3"]}

- Each line is split equally among its `members` (largest remainder, ties by member id). A line
  with no members is not assigned yet: it is shared equally by the split's `members` (the whole
  group when the expense is made without them), so a scanned receipt can be saved first and its
  lines handed out later.
- `tax`, `tip` and `discount` (each optional, default zero) go in proportion to what each
  member's lines come to. Rounding happens once, for the whole total, by the largest remainder
  rule over each member's exact share, so every share is whole minor units, within one unit of
  the exact one, and everything adds up: lines + tax + tip - discount is the expense's total.
- The discount is at most what the lines come to, so nobody's share goes below zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ledger.allocation import allocate_largest_remainder, member_list, reject_unknown_keys
from ledger.money import format_amount, invalid, parse_amount

MAX_ITEMS = 200
"""Lines one itemized split may hold (a long supermarket receipt has about a hundred)."""
MAX_DESCRIPTION = 200
_EXTRAS = ("tax", "tip", "discount")


@dataclass(frozen=True, slots=True)
class Item:
    description: str
    amount: int
    """Minor units, zero or more."""
    members: tuple[str, ...]
    """Who had it; empty while the line is not assigned."""


@dataclass(frozen=True, slots=True)
class ItemsSplit:
    items: tuple[Item, ...]
    members: tuple[str, ...]
    """Who shares the lines nobody is assigned to."""
    tax: int = 0
    tip: int = 0
    discount: int = 0
    kind: Literal["items"] = "items"

    @property
    def total(self) -> int:
        """What the lines, tax, tip and discount come to: the expense's total."""
        return sum(item.amount for item in self.items) + self.tax + self.tip - self.discount


def items_owed(split: ItemsSplit) -> dict[str, int]:
    """Minor units each member owes, keyed in ascending member id order, summing to `split.total`.

    One rounding for everything: each member's exact share of the lines (a line's amount over
    its sharers, summed as fractions) is their weight, and the whole total (lines, tax and tip,
    less the discount) is divided by those weights, largest remainder first. That is the lines'
    equal division plus the extras in proportion to each member's lines, exactly, with at most
    one leftover unit per member, so nobody collects every line's leftover unit."""
    sharing = [item.members or split.members for item in split.items]
    if any(not sharers or len(set(sharers)) != len(sharers) for sharers in sharing):
        raise ValueError("an item needs distinct members, or the split's members")
    common = math.lcm(*(len(sharers) for sharers in sharing))
    weights: dict[str, int] = {}
    for item, sharers in zip(split.items, sharing, strict=True):
        for member in sharers:
            weights[member] = weights.get(member, 0) + item.amount * (common // len(sharers))
    lines = sum(item.amount for item in split.items)
    if lines <= 0 or split.discount > lines:
        raise ValueError("the lines must come to more than zero and at least the discount")
    return allocate_largest_remainder(split.total, weights)


def parse_items_split(value: Mapping[str, Any], currency: str, field: str) -> ItemsSplit:
    """The API's `{"kind": "items", ...}` object as an `ItemsSplit` (see the module docstring)."""
    reject_unknown_keys(value, {"kind", "items", "members", *_EXTRAS}, field, "a split of kind 'items'")
    raw = value.get("items")
    where = f"{field}.items"
    if not isinstance(raw, list) or not raw:
        raise invalid(where, 'must be a list of {"description", "amount", "members"} lines, at least one')
    if len(raw) > MAX_ITEMS:
        raise invalid(where, f"can hold at most {MAX_ITEMS} lines")
    items = tuple(_item(line, currency, f"{where}[{index}]") for index, line in enumerate(raw))
    members = member_list(value["members"], f"{field}.members") if "members" in value else ()
    extras = {
        name: parse_amount(value[name], currency, field=f"{field}.{name}", allow_zero=True)
        if name in value
        else 0
        for name in _EXTRAS
    }
    if any(not item.members for item in items) and not members:
        raise invalid(f"{field}.members", "is required while a line has no members: they share it")
    lines = sum(item.amount for item in items)
    if lines <= 0:
        raise invalid(where, "the lines must come to more than zero")
    if extras["discount"] > lines:
        raise invalid(
            f"{field}.discount",
            f"is {format_amount(extras['discount'], currency)}, more than the lines' "
            f"{format_amount(lines, currency)}",
        )
    return ItemsSplit(
        items=items, members=members, tax=extras["tax"], tip=extras["tip"], discount=extras["discount"]
    )


def items_split_to_json(split: ItemsSplit, currency: str) -> dict[str, Any]:
    """The API shape of a parsed itemized split; `parse_items_split` reads it back to the same."""
    return {
        "kind": "items",
        "items": [
            {
                "description": i.description,
                "amount": format_amount(i.amount, currency),
                "members": list(i.members),
            }
            for i in split.items
        ],
        "members": list(split.members),
        **{name: format_amount(getattr(split, name), currency) for name in _EXTRAS},
    }


def _item(line: Any, currency: str, where: str) -> Item:
    if not isinstance(line, dict):
        raise invalid(where, 'must be an object with "description", "amount" and optional "members"')
    reject_unknown_keys(line, {"description", "amount", "members"}, where, "a line")
    description = line.get("description", "")
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise invalid(f"{where}.description", f"must be text of at most {MAX_DESCRIPTION} characters")
    if "amount" not in line:
        raise invalid(f"{where}.amount", "is required")
    amount = parse_amount(line["amount"], currency, field=f"{where}.amount", allow_zero=True)
    members: tuple[str, ...] = ()
    if line.get("members"):
        members = member_list(line["members"], f"{where}.members")
    return Item(description=description.strip(), amount=amount, members=members)


NOT_ITEMIZED = "Rest of the receipt"
"""The line a receipt's draft gets for what its read lines do not cover."""


def receipt_split_draft(
    lines: Sequence[tuple[str, int]], total: int, tax: int | None, currency: str
) -> dict[str, Any] | None:
    """An itemized split of a scanned receipt, every line unassigned, that adds up to `total`:
    negative lines (returns, coupons) and prices above the total become the discount, the tax
    counts when the lines leave exactly it to the total (prices without tax, as US receipts
    print them; tax-inclusive prices already come to the total), and what OCR did not read
    becomes one more line. None when there is nothing to itemize."""
    positive = [(text, amount) for text, amount in lines if amount >= 0]
    discount = -sum(amount for _, amount in lines if amount < 0)
    covered = sum(amount for _, amount in positive)
    if not positive or covered <= 0 or len(positive) + 1 > MAX_ITEMS or total <= 0:
        return None
    extra_tax = 0
    net = covered - discount
    if net != total and tax and net + tax == total:
        extra_tax = tax
    elif net < total:
        positive.append((NOT_ITEMIZED, total - net))
    elif net > total:
        discount += net - total
    draft: dict[str, Any] = {
        "kind": "items",
        "items": [
            {"description": text[:MAX_DESCRIPTION], "amount": format_amount(amount, currency), "members": []}
            for text, amount in positive
        ],
    }
    if extra_tax:
        draft["tax"] = format_amount(extra_tax, currency)
    if discount:
        draft["discount"] = format_amount(discount, currency)
    return draft
