"""Expenses: create, edit, delete, restore. Each builds the record, asks the ledger for its effect,
makes one atomic store write (the expense, the balances and spending it moves, its activity entry
and, on create, the idempotent reply) and then publishes the change."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from domain import Conflict, Expense, Group
from domain.clock import Clock
from domain.ids import new_id
from ledger import (
    compute_split,
    effects,
    format_amount,
    parse_amount,
    parse_currency,
    parse_payers,
    parse_split,
    payers_to_json,
    split_to_json,
)
from ledger.conversion import convert, format_rate, parse_rate, round_half_even
from ledger.effects import is_conversion
from ledger.itemized import ItemsSplit
from ledger.money import MAX_MINOR_UNITS, invalid
from services.categories import resolve_category
from services.common import ReplyRecorder, Service, Written
from services.events import Events
from services.notifications import Notifications
from services.payloads import expense_json, json_text, version_etag, with_moves
from services.records import check_version, delete_as_meant, parse_date, require_members
from services.restoring import check_restorable, naming_who_left
from store import Store
from store.base import RESTORE_WINDOW

_RATE_PLACES = 12

ReceiptCheck = Callable[[str | None], Awaitable[None]]
"""Refuses (422) a `receipt_id` the caller may not attach; a no-op for None."""


class Expenses(Service):
    def __init__(
        self,
        store: Store,
        events: Events,
        clock: Clock,
        notifications: Notifications,
        restore_window: timedelta = RESTORE_WINDOW,
    ) -> None:
        super().__init__(store, events, clock)
        self.notifications = notifications
        self.restore_window = restore_window

    async def create(
        self,
        group: Group,
        actor_id: str,
        member_ids: list[str],
        body: Mapping[str, Any],
        recorder: ReplyRecorder,
    ) -> Written[Expense]:
        """Log an expense of `actor_id` (a member, as are all `member_ids`) from a creation body."""
        now = self.clock()
        expense = self.build(
            body, group, member_ids, expense_id=new_id(), created_by=actor_id, created_at=now, version=1
        )
        payload = expense_json(expense)
        payload_json = json_text(payload)
        effect = effects(None, expense)
        await self.store.create_expense(
            expense,
            deltas=effect.balances,
            spending=effect.spending,
            activity=self.activity(group.id, actor_id, "expense.created", expense.id, _summary(expense)),
            reply=recorder.reply(201, payload, version_etag(expense.version)),
        )
        self.events.to_group(group.id, "expense.created", with_moves(payload_json, effect.balances))
        await self.notifications.expense_changed("expense.created", actor_id, None, expense)
        return Written(expense, payload_json)

    async def update(
        self,
        group: Group,
        actor_id: str,
        member_ids: list[str],
        expense_id: str,
        changes: Mapping[str, Any],
        expected_version: int,
        check_receipt: ReceiptCheck,
    ) -> Written[Expense]:
        """Edit what `changes` names, if the expense is still at `expected_version` (else 412);
        balances and spending move by the difference between the old and the new expense."""
        current = await self.store.get_expense(group.id, expense_id)
        if is_conversion(current):
            raise Conflict(
                "a recorded conversion cannot be edited; delete it (and convert again) instead",
                code="conversion_not_editable",
            )
        check_version(expected_version, current.version)
        if changes.get("receipt_id") != current.receipt_id:
            await check_receipt(changes.get("receipt_id"))
        edited = self.build(
            merged_body(current, changes),
            group,
            member_ids,
            expense_id=current.id,
            created_by=current.created_by,
            created_at=current.created_at,
            version=current.version + 1,
            kept_category=current.category,
            recurring_id=current.recurring_id,
            kept_exchange_currency=_kept_target(current, changes),
        )
        effect = effects(current, edited)
        await self.store.update_expense(
            edited,
            expected_version=current.version,
            deltas=effect.balances,
            spending=effect.spending,
            activity=self.activity(
                group.id, actor_id, "expense.updated", edited.id, _changes(current, edited)
            ),
        )
        payload_json = json_text(expense_json(edited))
        self.events.to_group(group.id, "expense.updated", with_moves(payload_json, effect.balances))
        await self.notifications.expense_changed("expense.updated", actor_id, current, edited)
        return Written(edited, payload_json)

    async def delete(
        self, group: Group, actor_id: str, expense_id: str, expected_version: int | None
    ) -> None:
        """Delete the expense (only at `expected_version` when given); balances move back. It is
        kept, restorable, for the restore window (RESTORE_DAYS), its comments with it."""

        async def delete(current: Expense) -> None:
            effect = effects(current, None)
            logged = self.activity(group.id, actor_id, "expense.deleted", current.id, _summary(current))
            await self.store.delete_expense(
                group.id,
                current.id,
                expected_version=current.version,
                deltas=effect.balances,
                spending=effect.spending,
                activity=logged,
                keep_until=logged.at + self.restore_window,
            )
            self.announce_deleted("expense.deleted", group.id, current.id, effect.balances, logged)
            await self.notifications.expense_changed("expense.deleted", actor_id, None, current)

        await delete_as_meant(expected_version, lambda: self.store.get_expense(group.id, expense_id), delete)

    async def restore(
        self, group: Group, actor_id: str, expense_id: str, expected_version: int | None
    ) -> Written[Expense]:
        """Bring a deleted expense back (only at `expected_version` when given) with the balances
        and spending it moved, its version bumped: 409 `not_deleted` for a live one, 410 past the
        restore window, 409 `not_a_member` naming whoever it involves who has left."""
        restored: list[Written[Expense]] = []

        async def restore(current: Expense) -> None:
            now = self.clock()
            check_restorable(current, self.restore_window, now)
            if is_conversion(current):
                # its moves were computed from the balances of its day: applied again on today's,
                # they would convert what is no longer there (or was converted since)
                raise Conflict(
                    "a deleted conversion cannot be restored; convert again instead",
                    code="conversion_not_restorable",
                )
            back = dataclasses.replace(
                current, deleted_at=None, deleted_by=None, updated_at=now, version=current.version + 1
            )
            effect = effects(None, back)
            try:
                await self.store.restore_expense(
                    back,
                    expected_version=current.version,
                    deltas=effect.balances,
                    spending=effect.spending,
                    activity=self.activity(group.id, actor_id, "expense.restored", back.id, _summary(back)),
                )
            except Conflict as refusal:
                if refusal.code != "not_a_member":
                    raise
                raise await naming_who_left(self.store, refusal) from None
            payload_json = json_text(expense_json(back))
            self.events.to_group(group.id, "expense.restored", with_moves(payload_json, effect.balances))
            await self.notifications.expense_changed("expense.restored", actor_id, None, back)
            restored.append(Written(back, payload_json))

        await delete_as_meant(
            expected_version,
            lambda: self.store.get_expense(group.id, expense_id, include_deleted=True),
            restore,
        )
        return restored[0]

    def build(
        self,
        body: Mapping[str, Any],
        group: Group,
        member_ids: list[str],
        *,
        expense_id: str,
        created_by: str,
        created_at: datetime,
        version: int,
        kept_category: str | None = None,
        recurring_id: str | None = None,
        kept_exchange_currency: str | None = None,
    ) -> Expense:
        """Parse and compute: amounts in minor units, who paid, who owes, checked against members.
        The category is resolved to its id (`kept_category`, an edited expense's own, stays even
        if it is free text from before the catalogue). An `exchange_rate` is to the group's
        currency, or to `kept_exchange_currency` (an edited expense's, kept with its rate)."""
        now = self.clock()
        currency = parse_currency(body.get("currency", group.default_currency))
        total = parse_amount(body["amount"], currency, field="amount")
        exchange_rate, exchange_currency = exchange_of(
            body.get("exchange_rate"), currency, kept_exchange_currency or group.default_currency, total
        )
        payers = parse_payers(body["payers"], currency) if "payers" in body else {created_by: total}
        split_body = body.get("split") or {"kind": "equal", "members": member_ids}
        if isinstance(split_body, dict) and split_body.get("kind") == "items" and "members" not in split_body:
            # the lines nobody is assigned to yet are everyone's, as of now
            split_body = {**split_body, "members": member_ids}
        split = parse_split(split_body, currency)
        if isinstance(split, ItemsSplit):  # who shares unassigned lines, even while none is
            require_members(split.members, member_ids, "split.members")
        result = compute_split(total, currency, payers, split)
        require_members(result.paid, member_ids, "payers")
        require_members(result.owed, member_ids, "split")
        return Expense(
            id=expense_id,
            group_id=group.id,
            description=body["description"],
            amount=total,
            currency=currency,
            date=parse_date(body["date"], "date") if "date" in body else now.date().isoformat(),
            category=resolve_category(body.get("category"), group, kept=kept_category),
            paid=result.paid,
            owed=result.owed,
            split=split_to_json(split, currency),
            notes=body.get("notes", ""),
            receipt_id=body.get("receipt_id"),
            created_by=created_by,
            created_at=created_at,
            updated_at=now,
            version=version,
            recurring_id=recurring_id,
            exchange_rate=exchange_rate,
            exchange_currency=exchange_currency,
        )


def exchange_of(text: Any, currency: str, target: str, total: int) -> tuple[str | None, str | None]:
    """The payer's own rate from `currency` to `target` (normalized), or none for null; 422 when
    it makes the total zero or larger than any amount may be."""
    if text is None:
        return None, None
    if currency == target:
        raise invalid(
            "exchange_rate",
            f"is for an expense in another currency than the group's ({target}); this one is in it",
        )
    rate = format_rate(parse_rate(text, field="exchange_rate"), _RATE_PLACES)
    if rate == "0":
        raise invalid("exchange_rate", f"rounds to zero at {_RATE_PLACES} decimals")
    converted = round_half_even(convert(total, currency, target, Fraction(rate)))
    if converted == 0:
        raise invalid("exchange_rate", f"makes the total zero {target}")
    if converted > MAX_MINOR_UNITS:
        raise invalid(
            "exchange_rate", f"makes the total larger than {format_amount(MAX_MINOR_UNITS, target)}"
        )
    return rate, target


def _kept_target(current: Expense, changes: Mapping[str, Any]) -> str | None:
    """The currency an edited expense's rate stays to: its own while its currency stays (so a
    change of the group's currency since does not move its balances), else the group's."""
    if current.exchange_currency is None or changes.get("currency", current.currency) != current.currency:
        return None
    return current.exchange_currency


def merged_body(current: Expense, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The edited expense as a creation body: the current one overlaid with the changes."""
    body: dict[str, Any] = {
        "description": current.description,
        "amount": format_amount(current.amount, current.currency),
        "currency": current.currency,
        "date": current.date,
        "category": current.category,
        "payers": payers_to_json(current.paid, current.currency),
        "split": current.split,
        "notes": current.notes,
        "receipt_id": current.receipt_id,
        "exchange_rate": current.exchange_rate,
    }
    if "currency" in changes and changes["currency"] != current.currency:
        body["exchange_rate"] = None  # a rate from the old currency means nothing for the new one
    body.update({key: value for key, value in changes.items() if key != "version"})
    total_changed = "amount" in changes or "currency" in changes
    if total_changed and "payers" not in changes:
        if len(current.paid) > 1:
            raise invalid(
                "payers",
                "send the payers again when changing the total of an expense that several people paid",
            )
        body["payers"] = [{"user_id": next(iter(current.paid)), "amount": body["amount"]}]
    return body


def _changes(before: Expense, after: Expense) -> dict[str, Any]:
    """Field → {from, to} for every field an edit changed, as the activity feed shows it."""
    old, new = expense_json(before), expense_json(after)
    fields = (
        "description", "amount", "currency", "date", "category", "payers", "split", "shares", "notes",
        "receipt_id", "exchange_rate",
    )  # fmt: skip
    return {f: {"from": old[f], "to": new[f]} for f in fields if old[f] != new[f]}


def _summary(expense: Expense) -> dict[str, Any]:
    return {
        "description": expense.description,
        "amount": format_amount(expense.amount, expense.currency),
        "currency": expense.currency,
    }
