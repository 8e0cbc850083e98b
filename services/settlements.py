"""Settlements (the wire calls them transactions): one member paying another back. Create and delete
each move balances in the same atomic write, then publish `settlement.created` / `.deleted`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain import Group, Invalid, Settlement
from domain.ids import new_id
from ledger import effects, format_amount, parse_amount, parse_currency
from services.common import ReplyRecorder, Service, Written
from services.payloads import json_text, settlement_json, version_etag, with_moves
from services.records import delete_as_meant, parse_date, require_members


class Settlements(Service):
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
        return Written(settlement, payload_json)

    async def delete(
        self, group: Group, actor_id: str, settlement_id: str, expected_version: int | None
    ) -> None:
        """Delete the settlement (only at `expected_version` when given); balances move back."""

        async def delete(current: Settlement) -> None:
            effect = effects(current, None)
            await self.store.delete_settlement(
                group.id,
                current.id,
                expected_version=current.version,
                deltas=effect.balances,
                activity=self.activity(
                    group.id, actor_id, "settlement.deleted", current.id, _summary(current)
                ),
            )
            self.announce_deleted("settlement.deleted", group.id, current.id, effect.balances)

        await delete_as_meant(
            expected_version, lambda: self.store.get_settlement(group.id, settlement_id), delete
        )


def _summary(settlement: Settlement) -> dict[str, Any]:
    return {
        "from_user": settlement.from_user,
        "to_user": settlement.to_user,
        "amount": format_amount(settlement.amount, settlement.currency),
        "currency": settlement.currency,
    }
