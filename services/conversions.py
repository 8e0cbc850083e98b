"""Recording a conversion: "convert everything to one currency", as Splitwise does it. One
expense-shaped record (split kind `conversion`) whose effect takes every member's balance in each
other currency to zero and adds its value in the target currency, at the rates shown in the
split; balances stay exact and the history shows which rates were used. It is written in one
atomic write, on the condition that the balances it was computed from are still the same, so two
members converting at once cannot convert the same balances twice."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain import Conflict, Expense, Group
from domain.categories import DEFAULT_CATEGORY
from domain.clock import Clock
from domain.ids import new_id
from ledger import effects, format_amount, parse_currency
from ledger.conversion import CONVERSION, conversion_entry
from ledger.money import MAX_MINOR_UNITS, invalid
from services.common import ReplyRecorder, Service, Written
from services.events import Events
from services.payloads import expense_json, json_text, version_etag, with_moves
from services.rates import Rates, UsedRate, used_rate_json
from services.records import parse_date
from store import Store

ATTEMPTS = 5
"""Rounds of read-compute-write when other writes keep changing the balances meanwhile."""


class Conversions(Service):
    def __init__(self, store: Store, events: Events, clock: Clock, rates: Rates) -> None:
        super().__init__(store, events, clock)
        self.rates = rates

    async def convert(
        self, group: Group, actor_id: str, body: Mapping[str, Any], recorder: ReplyRecorder
    ) -> Written[Expense]:
        """Record the conversion of the group's balances into `body["currency"]` at the rates of
        `body["on"]` (default: today, UTC). 409 `nothing_to_convert` when every balance is in it
        already; 422 `rate_unavailable`; 409 `balances_changed` if they kept changing."""
        target = parse_currency(body["currency"])
        today = self.clock().date().isoformat()
        day = parse_date(body["on"], "on") if "on" in body else today
        for attempt in range(ATTEMPTS):
            held = {
                (b.user_id, b.currency): b.amount for b in await self.store.get_balances(group.id) if b.amount
            }
            others = {key: amount for key, amount in held.items() if key[1] != target}
            if not others:
                raise Conflict(f"every balance is in {target} already", code="nothing_to_convert")
            used = await self.rates.used_rates({c for _, c in others}, target, day, group.rates)
            expense = self._record(group, actor_id, target, day, today, held, used)
            if max(expense.owed.values(), default=0) > MAX_MINOR_UNITS or expense.amount > MAX_MINOR_UNITS:
                raise invalid(
                    "currency",
                    f"at these rates a balance would be larger than {format_amount(MAX_MINOR_UNITS, target)}",
                )
            effect = effects(None, expense)
            payload = expense_json(expense)
            try:
                await self.store.create_expense(
                    expense,
                    deltas=effect.balances,
                    spending=effect.spending,
                    activity=self.activity(
                        group.id,
                        actor_id,
                        "expense.created",
                        expense.id,
                        {
                            "description": expense.description,
                            "amount": format_amount(expense.amount, target),
                            "currency": target,
                            "kind": CONVERSION,
                        },
                    ),
                    reply=recorder.reply(201, payload, version_etag(expense.version)),
                    expected_balances=others,
                )
            except Conflict as exc:
                if exc.code == "balances_changed" and attempt + 1 < ATTEMPTS:
                    # another write landed between the read and this one: judge again, on the
                    # group as it is now (its own rates may have changed too)
                    group = await self.store.get_group(group.id)
                    continue
                raise
            payload_json = json_text(payload)
            self.events.to_group(group.id, "expense.created", with_moves(payload_json, effect.balances))
            return Written(expense, payload_json)
        raise AssertionError("unreachable: the last attempt raises")

    def _record(
        self,
        group: Group,
        actor_id: str,
        target: str,
        day: str,
        today: str,
        held: dict[tuple[str, str], int],
        used: list[UsedRate],
    ) -> Expense:
        by_member: dict[str, dict[str, int]] = {}
        for (user_id, currency), amount in held.items():
            by_member.setdefault(user_id, {})[currency] = amount
        paid, owed, moves = conversion_entry(by_member, target, {r.source: r.rate for r in used})
        now = self.clock()
        return Expense(
            id=new_id(),
            group_id=group.id,
            description=f"Balances converted to {target}",
            amount=sum(paid.values()),
            currency=target,
            date=today,
            category=DEFAULT_CATEGORY,
            paid=paid,
            owed=owed,
            split={
                "kind": CONVERSION,
                "currency": target,
                "on": day,
                "rates": [used_rate_json(r) for r in used],
                "moves": [
                    {"user_id": user_id, "currency": currency, "amount": format_amount(amount, currency)}
                    for currency, by_user in moves.items()
                    for user_id, amount in sorted(by_user.items())
                ],
            },
            notes="",
            receipt_id=None,
            created_by=actor_id,
            created_at=now,
            updated_at=now,
            version=1,
        )
