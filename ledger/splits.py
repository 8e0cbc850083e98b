"""Who paid an expense and who owes what of it, in integer minor units that always add up exactly.

An expense has a positive total, one or more payers whose amounts sum to that total, and a split
saying how the total is owed:

- `equal`: among the listed members; shares differ by at most one minor unit.
- `exact`: an amount per member; the amounts must sum to the total exactly.
- `percent`: a percentage per member, at most two decimals, summing to exactly 100.
- `shares`: a positive whole-number weight per member ("2 shares for the couple, 1 for me").
- `items`: a receipt's lines, each shared by its members, with tax, tip and discount spread in
  proportion to each member's lines (`ledger.itemized`).

Rounding rule (equal, percent and shares): the largest remainder method (Hamilton). Each member
first gets the floor of their exact quota `total * weight / sum(weights)`; the minor units left over
(always fewer than the number of members) go one each to the members with the largest fractional
remainders. Members with equal remainders are served in ascending order of member id, so the result
depends only on the set of (member, weight) pairs, never on the order they were sent in. In an
equal split every remainder is equal, so the leftover units go to the first members by id. A
member whose weight is zero (a 0% entry) never receives a leftover unit.

The API's JSON shape, parsed by `parse_payers` and `parse_split` (or both at once by
`split_expense`)::

    {"payers": [{"user_id": "u1", "amount": "30.00"}],
     "split": {"kind": "equal", "members": ["u1", "u2", "u3"]}}
    {"split": {"kind": "exact", "amounts": {"u1": "10.00", "u2": "20.00"}}}
    {"split": {"kind": "percent", "percents": {"u1": "33.33", "u2": "66.67"}}}
    {"split": {"kind": "shares", "shares": {"u1": 1, "u2": 2}}}
    {"split": {"kind": "items", "items": [{"description": "Beer", "amount": "6.00",
               "members": ["u2"]}], "tip": "1.00", "members": ["u1", "u2"]}}

Every rejection is an `Invalid` whose details name the offending field by path, such as
`split.amounts.u2`, `split.members[1]` or `payers[1].amount`. A member may both pay and owe.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ledger.allocation import (
    MAX_PARTICIPANTS,
    allocate_largest_remainder,
    check_count,
    member_id,
    member_list,
    reject_unknown_keys,
)
from ledger.currencies import CURRENCY_EXPONENTS
from ledger.itemized import ItemsSplit, items_owed, items_split_to_json, parse_items_split
from ledger.money import MAX_MINOR_UNITS, format_amount, invalid, parse_amount, parse_decimal

MAX_SHARE_WEIGHT = 1_000_000
PERCENT_SCALE = 10_000
"""Percentages are held as hundredths of a percent: "33.33" -> 3333; they must sum to 10000."""

SplitKind = Literal["equal", "exact", "percent", "shares", "items"]
SPLIT_KINDS: tuple[SplitKind, ...] = ("equal", "exact", "percent", "shares", "items")


@dataclass(frozen=True, slots=True)
class EqualSplit:
    members: tuple[str, ...]
    kind: Literal["equal"] = "equal"


@dataclass(frozen=True, slots=True)
class ExactSplit:
    amounts: Mapping[str, int]
    """Minor units per member."""
    kind: Literal["exact"] = "exact"


@dataclass(frozen=True, slots=True)
class PercentSplit:
    percents: Mapping[str, int]
    """Hundredths of a percent per member, summing to `PERCENT_SCALE`."""
    kind: Literal["percent"] = "percent"


@dataclass(frozen=True, slots=True)
class SharesSplit:
    shares: Mapping[str, int]
    """Positive whole-number weight per member."""
    kind: Literal["shares"] = "shares"


Split = EqualSplit | ExactSplit | PercentSplit | SharesSplit | ItemsSplit


@dataclass(frozen=True, slots=True)
class SplitResult:
    """Minor units per member, each dict keyed in ascending member id order.

    `paid` sums to the total, `owed` sums to the total (a member of the split may owe 0), and
    `net = paid - owed` sums to zero: positive means the member is owed money.
    """

    paid: dict[str, int]
    owed: dict[str, int]
    net: dict[str, int]


def compute_split(total: int, currency: str, payers: Mapping[str, int], split: Split) -> SplitResult:
    """Paid, owed and net minor units for an expense of `total` (positive) in `currency`.

    Raises `Invalid` when the payers' amounts or an exact split's amounts do not add up to the
    total (saying by how much), or when more than `MAX_PARTICIPANTS` people are involved.
    """
    if total <= 0 or total > MAX_MINOR_UNITS:
        raise ValueError(f"total must be between 1 and {MAX_MINOR_UNITS} minor units, got {total}")
    if currency not in CURRENCY_EXPONENTS:
        raise ValueError(f"unknown currency {currency!r}")
    if not payers or any(amount <= 0 for amount in payers.values()):
        raise ValueError("payers must be non-empty, each with a positive amount")
    _check_adds_up(sum(payers.values()), total, currency, "payers", "the payers' amounts")
    owed = _owed(total, currency, split)
    participants = payers.keys() | owed.keys()
    if len(participants) > MAX_PARTICIPANTS:
        raise invalid("split", f"an expense can involve at most {MAX_PARTICIPANTS} people")
    paid = {member: payers[member] for member in sorted(payers)}
    net = {member: paid.get(member, 0) - owed.get(member, 0) for member in sorted(participants)}
    return SplitResult(paid=paid, owed=owed, net=net)


def _owed(total: int, currency: str, split: Split) -> dict[str, int]:
    match split:
        case EqualSplit(members=members):
            if not members or len(set(members)) != len(members):
                raise ValueError("an equal split needs distinct members")
            return allocate_largest_remainder(total, dict.fromkeys(members, 1))
        case ExactSplit(amounts=amounts):
            if not amounts or any(amount < 0 for amount in amounts.values()):
                raise ValueError("an exact split needs non-negative amounts")
            _check_adds_up(sum(amounts.values()), total, currency, "split.amounts", "the split amounts")
            return {member: amounts[member] for member in sorted(amounts)}
        case PercentSplit(percents=percents):
            if any(p < 0 for p in percents.values()) or sum(percents.values()) != PERCENT_SCALE:
                raise ValueError("percentages must be non-negative and add up to 100")
            return allocate_largest_remainder(total, percents)
        case SharesSplit(shares=shares):
            if not shares or any(weight <= 0 for weight in shares.values()):
                raise ValueError("a shares split needs positive weights")
            return allocate_largest_remainder(total, shares)
        case ItemsSplit():
            _check_adds_up(
                split.total, total, currency, "split", "the lines with tax and tip, less the discount,"
            )
            return items_owed(split)
    raise TypeError(f"not a split: {split!r}")


def _check_adds_up(actual: int, total: int, currency: str, field: str, what: str) -> None:
    if actual == total:
        return
    gap = format_amount(abs(total - actual), currency)
    direction = "short" if actual < total else "over"
    raise invalid(
        field,
        f"{what} add up to {format_amount(actual, currency)} but the total is "
        f"{format_amount(total, currency)} ({gap} {direction})",
    )


def split_expense(
    body: Mapping[str, Any], *, total: int, currency: str, default_payer: str | None = None
) -> SplitResult:
    """Parse `body["payers"]` and `body["split"]` and compute the result in one step.

    Without `payers`, `default_payer` (typically the caller) paid the whole total; if there is no
    default either, `payers` is required.
    """
    if "payers" in body:
        payers = parse_payers(body["payers"], currency)
    elif default_payer is not None:
        payers = {default_payer: total}
    else:
        raise invalid("payers", "is required")
    if "split" not in body:
        raise invalid("split", "is required")
    return compute_split(total, currency, payers, parse_split(body["split"], currency))


def parse_payers(value: Any, currency: str, *, field: str = "payers") -> dict[str, int]:
    """`[{"user_id": ..., "amount": "12.34"}, ...]` -> {user_id: minor units}, in the order sent."""
    if not isinstance(value, list):
        raise invalid(field, 'must be a list of {"user_id", "amount"} objects')
    if not value:
        raise invalid(field, "must name at least one payer")
    if len(value) > MAX_PARTICIPANTS:
        raise invalid(field, f"can name at most {MAX_PARTICIPANTS} payers")
    payers: dict[str, int] = {}
    for index, item in enumerate(value):
        where = f"{field}[{index}]"
        if not isinstance(item, dict):
            raise invalid(where, 'must be an object with "user_id" and "amount"')
        reject_unknown_keys(item, {"user_id", "amount"}, where, "a payer")
        for key in ("user_id", "amount"):
            if key not in item:
                raise invalid(f"{where}.{key}", "is required")
        member = member_id(item["user_id"], f"{where}.user_id")
        if member in payers:
            raise invalid(f"{where}.user_id", f"{member!r} is listed as a payer more than once")
        payers[member] = parse_amount(item["amount"], currency, field=f"{where}.amount")
    return payers


def parse_split(value: Any, currency: str, *, field: str = "split") -> Split:
    """The `split` object of the API (see the module docstring) as a `Split`."""
    if not isinstance(value, dict):
        raise invalid(field, 'must be an object with a "kind"')
    kind = value.get("kind")
    if kind not in SPLIT_KINDS:
        if "kind" not in value:
            raise invalid(f"{field}.kind", "is required")
        raise invalid(f"{field}.kind", "must be one of " + ", ".join(SPLIT_KINDS))
    if kind == "items":
        return parse_items_split(value, currency, field)
    key = {"equal": "members", "exact": "amounts", "percent": "percents", "shares": "shares"}[kind]
    reject_unknown_keys(value, {"kind", key}, field, f"a split of kind {kind!r}")
    if key not in value:
        raise invalid(f"{field}.{key}", f"is required for a split of kind {kind!r}")
    where = f"{field}.{key}"
    raw = value[key]
    if kind == "equal":
        return EqualSplit(members=member_list(raw, where))
    entries = _member_object(raw, where)
    if kind == "exact":
        return ExactSplit(
            amounts={
                member: parse_amount(amount, currency, field=f"{where}.{member}", allow_zero=True)
                for member, amount in entries
            }
        )
    if kind == "percent":
        percents = {member: _percent(text, f"{where}.{member}") for member, text in entries}
        if sum(percents.values()) != PERCENT_SCALE:
            total = _format_percent(sum(percents.values()))
            raise invalid(where, f"percentages add up to {total} but must add up to exactly 100")
        return PercentSplit(percents=percents)
    return SharesSplit(shares={member: _weight(weight, f"{where}.{member}") for member, weight in entries})


def payers_to_json(payers: Mapping[str, int], currency: str) -> list[dict[str, str]]:
    """The API shape of parsed payers; `parse_payers` reads it back to the same value."""
    return [
        {"user_id": member, "amount": format_amount(amount, currency)} for member, amount in payers.items()
    ]


def split_to_json(split: Split, currency: str) -> dict[str, Any]:
    """The API shape of a parsed split; `parse_split` reads it back to the same value."""
    match split:
        case EqualSplit(members=members):
            return {"kind": "equal", "members": list(members)}
        case ExactSplit(amounts=amounts):
            return {"kind": "exact", "amounts": {m: format_amount(a, currency) for m, a in amounts.items()}}
        case PercentSplit(percents=percents):
            return {"kind": "percent", "percents": {m: _format_percent(p) for m, p in percents.items()}}
        case SharesSplit(shares=shares):
            return {"kind": "shares", "shares": dict(shares)}
        case ItemsSplit():
            return items_split_to_json(split, currency)
    raise TypeError(f"not a split: {split!r}")


def _member_object(value: Any, field: str) -> Iterable[tuple[str, Any]]:
    if not isinstance(value, dict):
        raise invalid(field, "must be an object keyed by user id")
    check_count(len(value), field)
    for member in value:
        member_id(member, f"{field}.{member}")
    return value.items()


def _percent(text: Any, field: str) -> int:
    hundredths = parse_decimal(text, 2, field=field, what="percentages")
    if text.startswith("-"):
        raise invalid(field, "must not be negative")
    if hundredths > PERCENT_SCALE:
        raise invalid(field, "must be at most 100")
    return hundredths


def _format_percent(hundredths: int) -> str:
    whole, fraction = divmod(hundredths, 100)
    return f"{whole}.{fraction:02d}"


def _weight(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, "must be a whole number of shares, like 1 or 2")
    if value <= 0:
        raise invalid(field, "must be a positive whole number of shares")
    if value > MAX_SHARE_WEIGHT:
        raise invalid(field, f"must be at most {MAX_SHARE_WEIGHT}")
    return value
