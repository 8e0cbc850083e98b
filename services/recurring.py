"""Recurring expenses: the rules members set up (docs/recurring.md). Each write is one versioned
store write, announced to the group; the occurrences themselves are made by `Scheduler`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from domain import Expense, Group
from domain.clock import Clock
from domain.ids import new_id
from domain.recurring import RecurringRule
from ledger import format_amount
from ledger.money import invalid
from ledger.recurrence import Schedule, next_due
from services.common import ReplyRecorder, Service, Written
from services.events import Events
from services.expenses import Expenses, merged_body
from services.payloads import json_text, recurring_json, version_etag
from services.records import check_version, delete_as_meant, parse_date
from store import Store

MAX_PAST_DAYS = 366
"""How far back a rule may start: its missed occurrences are made at once, each on its day."""
_SCHEDULE_FIELDS = ("every", "interval", "starts_on", "ends_on", "count", "timezone")


def template_of(expense: Expense) -> dict[str, Any]:
    """What a rule keeps of the expense it repeats (everything but identity, date and receipt)."""
    return {
        "description": expense.description,
        "amount": expense.amount,
        "currency": expense.currency,
        "category": expense.category,
        "paid": expense.paid,
        "owed": expense.owed,
        "split": expense.split,
        "notes": expense.notes,
    }


def occurrence_of(rule: RecurringRule, on: str, now: datetime) -> Expense:
    """The expense `rule` makes on `on`: its template, dated that day, by the rule's creator."""
    template = rule.expense
    return Expense(
        id=new_id(),
        group_id=rule.group_id,
        description=template["description"],
        amount=int(template["amount"]),
        currency=template["currency"],
        date=on,
        category=template["category"],
        paid={user: int(amount) for user, amount in template["paid"].items()},
        owed={user: int(amount) for user, amount in template["owed"].items()},
        split=template["split"],
        notes=template["notes"],
        receipt_id=None,
        created_by=rule.created_by,
        created_at=now,
        updated_at=now,
        version=1,
        recurring_id=rule.id,
    )


def schedule_of(rule: RecurringRule) -> Schedule:
    return Schedule(
        every=rule.every,
        interval=rule.interval,
        starts_on=date.fromisoformat(rule.starts_on),
        ends_on=None if rule.ends_on is None else date.fromisoformat(rule.ends_on),
        count=rule.count,
    )


def local_today(rule_timezone: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(rule_timezone)).date()


@cache
def _zone_names() -> frozenset[str]:
    """The IANA zone names this machine knows. Checking membership, rather than trying
    `ZoneInfo(value)`, also refuses a folder of the zone database ("Europe", which would raise
    IsADirectoryError) and the system's own aliases ("localtime", "posixrules"), which name
    whatever zone the server happens to run in."""
    return frozenset(available_timezones() - {"localtime", "posixrules"})


def _timezone(value: Any) -> str:
    if not isinstance(value, str) or value not in _zone_names():
        raise invalid("timezone", f"no time zone {value!r}: use an IANA name like Europe/Berlin")
    return value


class RecurringRules(Service):
    def __init__(self, store: Store, events: Events, clock: Clock, expenses: Expenses) -> None:
        super().__init__(store, events, clock)
        self.expenses = expenses
        self.wake: Callable[[], None] = lambda: None
        """Set by the scheduler: tells it a rule may be due now (a new or resumed one)."""

    async def create(
        self,
        group: Group,
        actor_id: str,
        member_ids: list[str],
        body: Mapping[str, Any],
        recorder: ReplyRecorder,
    ) -> Written[RecurringRule]:
        """Set up a rule of `actor_id` (a member) from a creation body; its first occurrence is
        due on `starts_on` (default: today in its time zone)."""
        now = self.clock()
        zone = _timezone(body.get("timezone", "UTC"))
        today = local_today(zone, now)
        starts_on = parse_date(body["starts_on"], "starts_on") if "starts_on" in body else today.isoformat()
        if date.fromisoformat(starts_on) < today - timedelta(days=MAX_PAST_DAYS):
            raise invalid("starts_on", f"may be at most {MAX_PAST_DAYS} days ago")
        template = self._template(body["expense"], group, member_ids, actor_id)
        rule = RecurringRule(
            id=new_id(),
            group_id=group.id,
            expense=template,
            every=body["every"],
            interval=body.get("interval", 1),
            starts_on=starts_on,
            ends_on=parse_date(body["ends_on"], "ends_on") if body.get("ends_on") is not None else None,
            count=body.get("count"),
            timezone=zone,
            paused=bool(body.get("paused", False)),
            next_on=None,
            made=0,
            last_on=None,
            stopped=None,
            created_by=actor_id,
            created_at=now,
            updated_at=now,
            version=1,
        )
        rule = dataclasses.replace(rule, next_on=_first_due(rule, not_before=date.fromisoformat(starts_on)))
        payload = recurring_json(rule)
        await self.store.create_recurring(
            rule,
            activity=self.activity(group.id, actor_id, "recurring.created", rule.id, _summary(rule)),
            reply=recorder.reply(201, payload, version_etag(rule.version)),
        )
        payload_json = json_text(payload)
        self.events.to_group(group.id, "recurring.created", payload)
        self.wake()
        return Written(rule, payload_json)

    async def update(
        self,
        group: Group,
        actor_id: str,
        member_ids: list[str],
        rule_id: str,
        changes: Mapping[str, Any],
        expected_version: int,
    ) -> Written[RecurringRule]:
        """Change what `changes` names, if the rule is still at `expected_version` (else 412).
        Only occurrences still to come change: a new schedule, or resuming a paused rule, starts
        from today; the expenses made so far stay as they are."""
        current = await self.store.get_recurring(group.id, rule_id)
        check_version(expected_version, current.version)
        now = self.clock()
        fields: dict[str, Any] = {"updated_at": now, "version": current.version + 1}
        if "expense" in changes:
            before = occurrence_of(current, current.starts_on, now)
            edited = self.expenses.build(
                merged_body(before, changes["expense"]),
                group,
                member_ids,
                expense_id=before.id,
                created_by=current.created_by,
                created_at=now,
                version=1,
                kept_category=before.category,
            )
            fields["expense"] = template_of(edited)
        for name in _SCHEDULE_FIELDS:
            if name in changes:
                fields[name] = changes[name]
        if "timezone" in changes:
            fields["timezone"] = _timezone(changes["timezone"])
        for name in ("starts_on", "ends_on"):
            if fields.get(name) is not None:
                fields[name] = parse_date(fields[name], name)
        if "paused" in changes:
            fields["paused"] = bool(changes["paused"])
        edited_rule = dataclasses.replace(current, **fields)
        rescheduled = any(name in changes for name in _SCHEDULE_FIELDS)
        resumed = current.paused and not edited_rule.paused
        if rescheduled or resumed:
            today = local_today(edited_rule.timezone, now)
            edited_rule = dataclasses.replace(
                edited_rule, next_on=_first_due(edited_rule, not_before=today), stopped=None
            )
        _check_schedule(edited_rule)
        await self.store.update_recurring(
            edited_rule,
            expected_version=current.version,
            activity=self.activity(
                group.id, actor_id, "recurring.updated", rule_id, _changes(current, edited_rule)
            ),
        )
        payload = recurring_json(edited_rule)
        self.events.to_group(group.id, "recurring.updated", payload)
        if edited_rule.due:
            self.wake()
        return Written(edited_rule, json_text(payload))

    async def delete(self, group: Group, actor_id: str, rule_id: str, expected_version: int | None) -> None:
        """Delete the rule (only at `expected_version` when given); what it made stays."""

        async def delete(current: RecurringRule) -> None:
            await self.store.delete_recurring(
                group.id,
                rule_id,
                expected_version=current.version,
                activity=self.activity(group.id, actor_id, "recurring.deleted", rule_id, _summary(current)),
            )
            self.events.to_group(group.id, "recurring.deleted", {"id": rule_id, "group_id": group.id})

        await delete_as_meant(expected_version, lambda: self.store.get_recurring(group.id, rule_id), delete)

    def _template(
        self, body: Mapping[str, Any], group: Group, member_ids: list[str], actor_id: str
    ) -> dict[str, Any]:
        """The expense a rule repeats, built and checked as an expense of its own would be."""
        built = self.expenses.build(
            body,
            group,
            member_ids,
            expense_id=new_id(),
            created_by=actor_id,
            created_at=self.clock(),
            version=1,
        )
        return template_of(built)


def _first_due(rule: RecurringRule, *, not_before: date) -> str | None:
    """The next date `rule` falls due, none before `not_before`, none again before its last."""
    schedule = _checked(rule)
    after = None if rule.last_on is None else date.fromisoformat(rule.last_on)
    due = next_due(schedule, after=after, not_before=not_before, made=rule.made)
    return None if due is None else due.isoformat()


def _checked(rule: RecurringRule) -> Schedule:
    _check_schedule(rule)
    return schedule_of(rule)


def _check_schedule(rule: RecurringRule) -> None:
    if rule.ends_on is not None and rule.ends_on < rule.starts_on:
        raise invalid("ends_on", "must not be before starts_on")
    try:
        schedule_of(rule)
    except ValueError as problem:
        raise invalid("every", str(problem)) from None


def _summary(rule: RecurringRule) -> dict[str, Any]:
    template = rule.expense
    return {
        "description": template["description"],
        "amount": format_amount(int(template["amount"]), template["currency"]),
        "currency": template["currency"],
        "every": rule.every,
        "interval": rule.interval,
    }


def _changes(before: RecurringRule, after: RecurringRule) -> dict[str, Any]:
    """Field → {from, to} for every field an edit changed, as the activity feed shows it."""
    old, new = recurring_json(before), recurring_json(after)
    fields = ("expense", *_SCHEDULE_FIELDS, "paused", "next_on")
    return {f: {"from": old[f], "to": new[f]} for f in fields if old[f] != new[f]}
