"""Exchange rates: loading the ECB's files (fetched or imported), and a group's balances shown
in one currency with the rates used and their dates.

Every rate is a quote against the euro, so a rate between two other currencies goes through it
(USD → GBP is GBP per euro / USD per euro), exactly, as a fraction. For a day, each currency's
latest quote on or before it is used (the ECB publishes on working days only)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from domain import Balance, Group, Invalid
from domain.clock import utc_now
from domain.rates import BASE_CURRENCY, GroupRate, RateQuote, RateSource
from ledger.conversion import convert_balances, format_rate
from ledger.ecb import ParsedRates, parse_rates
from ledger.money import parse_currency
from services.common import Service
from services.events import Events
from services.records import parse_date
from store import Store


@dataclass(frozen=True, slots=True)
class UsedRate:
    """1 `source` = `rate` `target`, from quotes dated `on` (the older leg's day) at the latest,
    or the group's own rate (`origin` "group", `on` the day it was set)."""

    source: str
    target: str
    rate: Fraction
    on: str
    origin: RateSource | Literal["group"]


def used_rate_json(rate: UsedRate) -> dict[str, str]:
    """A rate used, as the views and a recorded conversion show it (rounded to 10 decimals)."""
    return {
        "from": rate.source,
        "to": rate.target,
        "rate": format_rate(rate.rate),
        "on": rate.on,
        "source": rate.origin,
    }


@dataclass(frozen=True, slots=True)
class Converted:
    """Each member's balance in `currency` (summing to zero), as of `on`, and the rates used."""

    currency: str
    on: str
    balances: dict[str, int]
    rates: list[UsedRate]


@dataclass(frozen=True, slots=True)
class Imported:
    parsed: ParsedRates
    written: int


class Rates(Service):
    @classmethod
    def standalone(cls, store: Store) -> Rates:
        """Rates on `store` outside a server (the `rates import` command): nothing to publish."""
        return cls(store, Events(lambda channel, type_, data: None), utc_now)

    async def load(self, data: bytes | str, source: RateSource) -> Imported:
        """Store every quote of an ECB XML or CSV file; 422 `rates_file` (with the line) for a
        file that is not one, storing nothing of it."""
        parsed = parse_rates(data, source)
        return Imported(parsed, await self.store.put_rates(parsed.quotes))

    async def balances_in(self, group: Group, currency: str, on: str | None) -> Converted:
        """The group's balances in `currency` at the rates of `on` (default: today, UTC): the
        group's own rate for a pair where it set one, else the ECB's. 422 `rate_unavailable`
        naming the currencies without a quote on or before that day."""
        target = parse_currency(currency)
        day = parse_date(on, "on") if on is not None else self.clock().date().isoformat()
        balances = await self.store.get_balances(group.id)
        held = {b.currency for b in balances if b.amount}
        rates = await self.used_rates(held, target, day, group.rates)
        converted = convert_balances(_by_member(balances), target, {r.source: r.rate for r in rates})
        return Converted(target, day, converted, rates)

    async def used_rates(
        self, currencies: Collection[str], target: str, day: str, own: Sequence[GroupRate] = ()
    ) -> list[UsedRate]:
        """The rate from each of `currencies` into `target` on `day`, sorted by currency: the
        group's `own` for its pairs (either way round), the ECB's through the euro for the rest."""
        sources = sorted(set(currencies) - {target})
        chosen = {source: _own(own, source, target) for source in sources}
        quoted = [source for source in sources if chosen[source] is None]
        quotes: dict[str, RateQuote] = {}
        if quoted:
            wanted = {*quoted, target} - {BASE_CURRENCY}
            quotes = await self.store.rates_on(wanted, day)
            missing = sorted(c for c in wanted if c not in quotes)
            if missing:
                raise Invalid(
                    f"no exchange rate on or before {day} for {', '.join(missing)}",
                    code="rate_unavailable",
                    details={"currencies": missing, "on": day},
                )
        return [
            chosen[source] or _cross(quotes.get(source), quotes.get(target), source, target)
            for source in sources
        ]


def _own(own: Sequence[GroupRate], source: str, target: str) -> UsedRate | None:
    """The group's own rate source → target (or the inverse of target → source), if it set one."""
    for rate in own:
        if (rate.source, rate.target) in ((source, target), (target, source)):
            value = Fraction(rate.rate)
            exact = value if rate.source == source else 1 / value
            return UsedRate(source, target, exact, rate.set_at.date().isoformat(), "group")
    return None


def _cross(
    source: RateQuote | None, target: RateQuote | None, source_code: str, target_code: str
) -> UsedRate:
    """source → target through the euro (a None quote is the euro's own: 1)."""
    legs = [quote for quote in (source, target) if quote is not None]
    rate = _per_euro(target) / _per_euro(source)
    origin: RateSource = "imported" if any(q.source == "imported" for q in legs) else "ecb"
    return UsedRate(source_code, target_code, rate, min(q.on for q in legs), origin)


def _per_euro(quote: RateQuote | None) -> Fraction:
    return Fraction(1) if quote is None else Fraction(quote.per_euro)


def _by_member(balances: list[Balance]) -> dict[str, dict[str, int]]:
    """user id → currency → amount, without zero amounts (they need no rate)."""
    by_member: dict[str, dict[str, int]] = {}
    for balance in balances:
        mine = by_member.setdefault(balance.user_id, {})
        if balance.amount:
            mine[balance.currency] = balance.amount
    return by_member
