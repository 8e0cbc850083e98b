"""The exact division every split rests on, and the checks of the member ids splits name.

`allocate_largest_remainder` is the rounding rule `ledger.splits` describes: whole minor units,
summing exactly to the total, leftovers by largest remainder then ascending member id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.models import MAX_GROUP_MEMBERS
from ledger.money import invalid

MAX_PARTICIPANTS = MAX_GROUP_MEMBERS
"""Most distinct people (payers and owers together) one expense may involve."""

MAX_MEMBER_ID_LENGTH = 64


def allocate_largest_remainder(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Split a non-negative `total` in proportion to non-negative `weights` (not all zero), summing
    exactly to `total`, by the largest remainder rule in the module docstring."""
    if total < 0:
        raise ValueError("total must not be negative")
    if not weights or any(weight < 0 for weight in weights.values()):
        raise ValueError("weights must be non-empty and non-negative")
    weight_sum = sum(weights.values())
    if weight_sum <= 0:
        raise ValueError("weights must not all be zero")
    shares: dict[str, int] = {}
    remainders: list[tuple[int, str]] = []
    for member in sorted(weights):
        share, remainder = divmod(total * weights[member], weight_sum)
        shares[member] = share
        remainders.append((-remainder, member))
    leftover = total - sum(shares.values())
    remainders.sort()
    for _, member in remainders[:leftover]:
        shares[member] += 1
    return shares


def reject_unknown_keys(value: Mapping[str, Any], allowed: set[str], field: str, what: str) -> None:
    for key in value:
        if key not in allowed:
            raise invalid(f"{field}.{key}", f"is not a field of {what}")


def member_id(value: Any, field: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_MEMBER_ID_LENGTH:
        raise invalid(field, f"must be a user id (a string of 1 to {MAX_MEMBER_ID_LENGTH} characters)")
    return value


def member_list(value: Any, field: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise invalid(field, "must be a list of user ids")
    check_count(len(value), field)
    members: list[str] = []
    for index, item in enumerate(value):
        member = member_id(item, f"{field}[{index}]")
        if member in members:
            raise invalid(f"{field}[{index}]", f"{member!r} is listed more than once")
        members.append(member)
    return tuple(members)


def check_count(count: int, field: str) -> None:
    if count == 0:
        raise invalid(field, "must name at least one member")
    if count > MAX_PARTICIPANTS:
        raise invalid(field, f"can name at most {MAX_PARTICIPANTS} members")
