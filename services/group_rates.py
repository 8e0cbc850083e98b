"""A group's own exchange rates: any member sets the rate between two currencies (the card's, the
exchange office's), which then wins over the ECB's for that pair in the group's views in one
currency. Kept on the group's record, one versioned write each (`change_group_field`); each pair
has its own version (the group's version it was set at, so a pair removed and set again never
repeats one), so an edit based on a stale read is refused, not silently applied."""

from __future__ import annotations

from typing import Any

from domain import Conflict, Group, NotFound, PreconditionFailed, PreconditionRequired
from domain.rates import MAX_GROUP_RATES, GroupRate
from ledger.conversion import format_rate, parse_rate
from ledger.money import invalid, parse_currency
from services.common import Service
from services.group_fields import change_group_field
from services.payloads import group_rate_json

_PLACES = 12


def same_pair(rate: GroupRate, source: str, target: str) -> bool:
    """Whether `rate` is the group's rate between these two currencies, either way round."""
    return {rate.source, rate.target} == {source, target}


class GroupRates(Service):
    async def set(
        self, group: Group, user_id: str, source: str, target: str, body: dict[str, Any], expected: int | None
    ) -> tuple[GroupRate, bool]:
        """The group's rate `source` → `target` set from `body["rate"]`, and whether it is new.
        A new pair takes no version; replacing one (set either way round) needs its current
        version (428 without, 412 for another). 409 `too_many_rates` past MAX_GROUP_RATES."""
        source, target = _pair(source, target)
        text = format_rate(parse_rate(body["rate"]), _PLACES)
        if text == "0":
            raise invalid("rate", f"rounds to zero at {_PLACES} decimals")

        def changed(current: Group) -> tuple[tuple[GroupRate, ...] | None, GroupRate]:
            old = next((r for r in current.rates if same_pair(r, source, target)), None)
            _check_version(old, expected)
            # the group's next version: never one this pair (or a pair removed and set again) had
            made = GroupRate(source, target, text, user_id, self.clock(), current.version + 1)
            if old is None:
                if len(current.rates) >= MAX_GROUP_RATES:
                    raise Conflict(
                        f"a group sets at most {MAX_GROUP_RATES} exchange rates of its own; remove one first",
                        code="too_many_rates",
                        details={"limit": MAX_GROUP_RATES},
                    )
                return (*current.rates, made), made
            return tuple(made if r is old else r for r in current.rates), made

        created: list[bool] = []

        def changed_and_noted(current: Group) -> tuple[tuple[GroupRate, ...] | None, GroupRate]:
            created[:] = [not any(same_pair(r, source, target) for r in current.rates)]
            return changed(current)

        rate, _ = await change_group_field(
            self, group, "rates", changed_and_noted, lambda rate: ("rate.set", group_rate_json(rate))
        )
        return rate, created[0]

    async def remove(self, group: Group, source: str, target: str, expected: int | None) -> None:
        """Remove the group's rate between the two currencies (either way round) if it is still
        at `expected` (428 without one, 412 for another, 404 when there is none)."""
        source, target = _pair(source, target)
        if expected is None:
            raise PreconditionRequired("send the rate's version: an If-Match header with it")

        def removed(current: Group) -> tuple[tuple[GroupRate, ...] | None, GroupRate]:
            old = next((r for r in current.rates if same_pair(r, source, target)), None)
            if old is None:
                raise NotFound("the group sets no rate between these currencies", code="rate_not_found")
            _check_version(old, expected)
            return tuple(r for r in current.rates if r is not old), old

        await change_group_field(
            self, group, "rates", removed, lambda rate: ("rate.removed", group_rate_json(rate))
        )


def _pair(source: str, target: str) -> tuple[str, str]:
    source, target = parse_currency(source, field="from"), parse_currency(target, field="to")
    if source == target:
        raise invalid("to", "a rate is between two different currencies")
    return source, target


def _check_version(old: GroupRate | None, expected: int | None) -> None:
    if old is None and expected is None:
        return
    if old is None:
        raise PreconditionFailed(
            "the group sets no rate between these currencies any more", details={"current_version": None}
        )
    if expected is None:
        raise PreconditionRequired(
            "the group sets this rate already: send its version (If-Match or `version`) to replace it",
            details={"current_version": old.version},
        )
    if expected != old.version:
        raise PreconditionFailed(
            f"the rate was changed meanwhile: you sent version {expected}, it is now {old.version}",
            details={"current_version": old.version},
        )
