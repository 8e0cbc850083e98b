"""The scheduler of recurring expenses: every instance runs one, and each due occurrence is made
exactly once however many run. A pass asks the store for the rules due by now (an index range),
and makes each rule's missed occurrences in date order, each dated on its own day, each in one
conditional write with its occurrence key and the rule advanced (`Store.create_occurrence`): an
instance that loses the race to another is refused, reads the rule again and goes on from there.
A rule that would involve someone who has left the group is paused, with an activity entry
saying why."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from datetime import date, datetime

from domain import Conflict, NotFound, PreconditionFailed, Unavailable
from domain.recurring import RecurringRule
from ledger import effects, format_amount
from ledger.recurrence import next_due
from services.common import Service
from services.notifications import Notifications
from services.payloads import expense_json, json_text, recurring_json, with_moves
from services.recurring import RecurringRules, local_today, occurrence_of, schedule_of

log = logging.getLogger(__name__)

RULES_PER_LOOK_UP = 100
LOOK_UPS_PER_PASS = 10
OCCURRENCES_PER_RULE = 100
"""Bounds on one pass: a rule with more missed occurrences (a daily one after months of
downtime) goes on in the next pass, so no rule holds up the others for long."""
_RACE_ATTEMPTS = 5


class Scheduler(Service):
    def __init__(self, rules: RecurringRules, notifications: Notifications) -> None:
        super().__init__(rules.store, rules.events, rules.clock)
        self.notifications = notifications
        self._wake = asyncio.Event()
        self.passes = 0
        """Passes completed (tests wait on it)."""
        rules.wake = self.wake

    def wake(self) -> None:
        """Have the running loop make a pass now (a rule may have fallen due)."""
        self._wake.set()

    async def run_due(self) -> int:
        """One pass: make every occurrence due by now (within the pass's bounds); how many."""
        now = self.clock()
        made = 0
        for _ in range(LOOK_UPS_PER_PASS):
            rules = await self.store.due_recurring(now, limit=RULES_PER_LOOK_UP)
            made_now = 0
            for rule in rules:
                try:
                    made_now += await self._catch_up(rule, now)
                except Exception:  # noqa: BLE001 - one broken rule must not hold up every other
                    log.warning(
                        "recurring expenses: rule %s of group %s failed; the others go on",
                        rule.id,
                        rule.group_id,
                        exc_info=True,
                    )
            made += made_now
            if len(rules) < RULES_PER_LOOK_UP or made_now == 0:
                break
        self.passes += 1
        return made

    async def run(self, every_seconds: float) -> None:
        """Pass after pass until cancelled: every `every_seconds`, or at once when woken (a rule
        was made or resumed). A pass that fails (the store unavailable) is logged and retried at
        the next one."""
        while True:
            self._wake.clear()
            try:
                await self.run_due()
            except Exception:  # noqa: BLE001 - the loop must outlive any one pass
                log.warning("recurring expenses: a scheduler pass failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), every_seconds)

    async def _catch_up(self, rule: RecurringRule, now: datetime) -> int:
        """Make `rule`'s occurrences due by `now` (at most OCCURRENCES_PER_RULE)."""
        made = races = 0
        current: RecurringRule | None = rule
        while current is not None and made < OCCURRENCES_PER_RULE:
            if not current.due or current.next_on is None:
                return made
            if date.fromisoformat(current.next_on) > local_today(current.timezone, now):
                return made
            try:
                current = await self._make(current, now)
                made += 1
            except (PreconditionFailed, Conflict) as refusal:
                if isinstance(refusal, Conflict) and refusal.code == "not_a_member":
                    await self._stop(current, refusal)
                    return made
                races += 1  # another instance made it, or the rule was edited: read it again
                if races > _RACE_ATTEMPTS:
                    return made
                current = await self._reread(current)
            except NotFound:
                return made  # the rule or its group is gone
            except Unavailable:
                log.warning("recurring expenses: rule %s waits for the next pass", current.id, exc_info=True)
                return made
        return made

    async def _make(self, rule: RecurringRule, now: datetime) -> RecurringRule:
        """One occurrence of `rule` (on its `next_on`), written; the rule as it is after it."""
        assert rule.next_on is not None
        expense = occurrence_of(rule, rule.next_on, now)
        after = dataclasses.replace(
            rule,
            made=rule.made + 1,
            last_on=rule.next_on,
            updated_at=now,
            version=rule.version + 1,
        )
        due = next_due(
            schedule_of(after),
            after=date.fromisoformat(rule.next_on),
            not_before=date.fromisoformat(rule.starts_on),
            made=after.made,
        )
        after = dataclasses.replace(after, next_on=None if due is None else due.isoformat())
        effect = effects(None, expense)
        await self.store.create_occurrence(
            expense,
            after,
            expected_version=rule.version,
            deltas=effect.balances,
            spending=effect.spending,
            activity=self.activity(
                rule.group_id,
                rule.created_by,
                "expense.created",
                expense.id,
                {
                    "description": expense.description,
                    "amount": format_amount(expense.amount, expense.currency),
                    "currency": expense.currency,
                    "recurring_id": rule.id,
                },
            ),
        )
        payload_json = json_text(expense_json(expense))
        self.events.to_group(rule.group_id, "expense.created", with_moves(payload_json, effect.balances))
        self.events.to_group(rule.group_id, "recurring.updated", recurring_json(after))
        await self.notifications.expense_changed("expense.created", rule.created_by, None, expense)
        return after

    async def _reread(self, rule: RecurringRule) -> RecurringRule | None:
        try:
            return await self.store.get_recurring(rule.group_id, rule.id)
        except NotFound:
            return None

    async def _stop(self, rule: RecurringRule, refusal: Conflict) -> None:
        """Pause `rule`, saying why: someone its expenses involve (or its creator) has left."""
        who = (refusal.details or {}).get("user_ids", []) if isinstance(refusal.details, dict) else []
        stopped = dataclasses.replace(
            rule, paused=True, stopped="members_left", updated_at=self.clock(), version=rule.version + 1
        )
        try:
            await self.store.update_recurring(
                stopped,
                expected_version=rule.version,
                activity=self.activity(
                    rule.group_id,
                    rule.created_by,
                    "recurring.stopped",
                    rule.id,
                    {"reason": "members_left", "user_ids": who, "description": rule.expense["description"]},
                ),
            )
        except (PreconditionFailed, NotFound):
            return  # edited or deleted meanwhile: the next pass sees it as it is now
        self.events.to_group(rule.group_id, "recurring.updated", recurring_json(stopped))
