"""Settlements (the wire calls them transactions): one member paying another back. Create, delete
and restore each move balances in the same atomic write, then publish `settlement.created` /
`.deleted` / `.restored`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from domain import Conflict, Group, Invalid, Settlement
from domain.clock import Clock
from domain.ids import new_id
from ledger import effects, format_amount, parse_amount, parse_currency
from services.common import ReplyRecorder, Service, Written
from services.events import Events
from services.notifications import Notifications
from services.payloads import json_text, settlement_json, version_etag, with_moves
from services.records import delete_as_meant, parse_date, require_members
from services.restoring import check_restorable, naming_who_left
from store import Store
from store.base import RESTORE_WINDOW


class Settlements(Service):
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
    ) -> Written[Settlement]:
        """Record that `from_user` (default: the actor) paid `to_user`, both members."""
        currency = parse_currency(body.get("currency", group.default_currency))
        from_user = body.get("from_user", actor_id)
        to_user = body["to_user"]
        if from_user == to_user:
            raise Invalid(
                "to_user: a member cannot pay themselves",
                details=[{"field": "to_user", "message": "must differ from from_user"}],
            )
        require_members([from_user], member_ids, "from_user")
        require_members([to_user], member_ids, "to_user")
        now = self.clock()
        settlement = Settlement(
            id=new_id(),
            group_id=group.id,
            from_user=from_user,
            to_user=to_user,
            amount=parse_amount(body["amount"], currency, field="amount"),
            currency=currency,
            date=parse_date(body["date"], "date") if "date" in body else now.date().isoformat(),
            note=body.get("note", ""),
            created_by=actor_id,
            created_at=now,
            version=1,
        )
        payload = settlement_json(settlement)
        payload_json = json_text(payload)
        effect = effects(None, settlement)
        await self.store.create_settlement(
            settlement,
            deltas=effect.balances,
            activity=self.activity(
                group.id, actor_id, "settlement.created", settlement.id, _summary(settlement)
            ),
            reply=recorder.reply(201, payload, version_etag(settlement.version)),
        )
        self.events.to_group(group.id, "settlement.created", with_moves(payload_json, effect.balances))
        await self.notifications.settlement_changed("settlement.created", actor_id, settlement)
        return Written(settlement, payload_json)

    async def delete(
        self, group: Group, actor_id: str, settlement_id: str, expected_version: int | None
    ) -> None:
        """Delete the settlement (only at `expected_version` when given); balances move back. It
        is kept, restorable, for the restore window."""

        async def delete(current: Settlement) -> None:
            effect = effects(current, None)
            logged = self.activity(group.id, actor_id, "settlement.deleted", current.id, _summary(current))
            await self.store.delete_settlement(
                group.id,
                current.id,
                expected_version=current.version,
                deltas=effect.balances,
                activity=logged,
                keep_until=logged.at + self.restore_window,
            )
            self.announce_deleted("settlement.deleted", group.id, current.id, effect.balances, logged)
            await self.notifications.settlement_changed("settlement.deleted", actor_id, current)

        await delete_as_meant(
            expected_version, lambda: self.store.get_settlement(group.id, settlement_id), delete
        )

    async def restore(
        self, group: Group, actor_id: str, settlement_id: str, expected_version: int | None
    ) -> Written[Settlement]:
        """As `Expenses.restore`, for a settlement."""
        restored: list[Written[Settlement]] = []

        async def restore(current: Settlement) -> None:
            check_restorable(current, self.restore_window, self.clock())
            back = dataclasses.replace(current, deleted_at=None, deleted_by=None, version=current.version + 1)
            effect = effects(None, back)
            try:
                await self.store.restore_settlement(
                    back,
                    expected_version=current.version,
                    deltas=effect.balances,
                    activity=self.activity(
                        group.id, actor_id, "settlement.restored", back.id, _summary(back)
                    ),
                )
            except Conflict as refusal:
                if refusal.code != "not_a_member":
                    raise
                raise await naming_who_left(self.store, refusal) from None
            payload_json = json_text(settlement_json(back))
            self.events.to_group(group.id, "settlement.restored", with_moves(payload_json, effect.balances))
            await self.notifications.settlement_changed("settlement.restored", actor_id, back)
            restored.append(Written(back, payload_json))

        await delete_as_meant(
            expected_version,
            lambda: self.store.get_settlement(group.id, settlement_id, include_deleted=True),
            restore,
        )
        return restored[0]


def _summary(settlement: Settlement) -> dict[str, Any]:
    return {
        "from_user": settlement.from_user,
        "to_user": settlement.to_user,
        "amount": format_amount(settlement.amount, settlement.currency),
        "currency": settlement.currency,
    }
