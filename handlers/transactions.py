"""Transactions (settlements): one member paying another back. Each moves balances atomically."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from domain import Invalid, Settlement
from domain.clock import to_text, utc_now
from domain.ids import new_id
from handlers.access import membership, membership_with_member_ids, new_activity
from handlers.balances import moves_json, with_moves
from handlers.fields import AMOUNT, DATE, delete_current, parse_date, require_members
from handlers.idempotency import HEADER_DOC, idempotency
from handlers.schemas import CURRENCY, ERROR, ID, PAGE_QUERY, TIMESTAMP, Schema, page_of
from ledger import format_amount, negate, parse_amount, parse_currency, transfer_net
from ledger.moves import balance_moves
from realtime.events import publish_group_event
from server.keys import STORE
from server.routing import Api, Reply, json_reply, json_text

api = Api("transactions")

NEW_TRANSACTION: Schema = {
    "type": "object",
    "required": ["to_user", "amount"],
    "additionalProperties": False,
    "properties": {
        "from_user": {**ID, "description": "who paid; default: the caller"},
        "to_user": {**ID, "description": "who was paid"},
        "amount": AMOUNT,
        "currency": CURRENCY,
        "date": DATE,
        "note": {"type": "string", "maxLength": 500},
    },
}
TRANSACTION: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "id",
        "group_id",
        "from_user",
        "to_user",
        "amount",
        "currency",
        "date",
        "note",
        "created_by",
        "created_at",
        "version",
    ],
    "properties": {
        "id": ID,
        "group_id": ID,
        "from_user": ID,
        "to_user": ID,
        "amount": AMOUNT,
        "currency": {"type": "string"},
        "date": DATE,
        "note": {"type": "string"},
        "created_by": ID,
        "created_at": TIMESTAMP,
        "version": {"type": "integer"},
    },
}
_NOT_FOUND = Reply("no such group or transaction, or the caller is not a member", ERROR)


@api.post(
    "/api/groups/{group_id}/transactions",
    summary="Record that one member paid another back",
    body=NEW_TRANSACTION,
    headers=HEADER_DOC,
    replies={
        201: Reply("the transaction", TRANSACTION, ("ETag",)),
        404: Reply("no such group, or the caller is not a member", ERROR),
        409: Reply("a member left meanwhile, or the same Idempotency-Key is in flight", ERROR),
    },
)
async def create_transaction(request: web.Request, body: dict[str, Any]) -> web.Response:
    group, me, member_ids = await membership_with_member_ids(request)
    store = request.app[STORE]
    async with idempotency(request, body) as slot:
        if slot.replay is not None:
            return slot.replay
        currency = parse_currency(body.get("currency", group.default_currency))
        from_user = body.get("from_user", me.user_id)
        to_user = body["to_user"]
        if from_user == to_user:
            raise Invalid(
                "to_user: a member cannot pay themselves",
                details=[{"field": "to_user", "message": "must differ from from_user"}],
            )
        require_members([from_user], member_ids, "from_user")
        require_members([to_user], member_ids, "to_user")
        settlement = Settlement(
            id=new_id(),
            group_id=group.id,
            from_user=from_user,
            to_user=to_user,
            amount=parse_amount(body["amount"], currency, field="amount"),
            currency=currency,
            date=parse_date(body["date"], "date") if "date" in body else utc_now().date().isoformat(),
            note=body.get("note", ""),
            created_by=me.user_id,
            created_at=utc_now(),
            version=1,
        )
        payload = transaction_json(settlement)
        payload_json = json_text(payload)
        deltas = balance_moves((currency, _net(settlement)))
        await store.create_settlement(
            settlement,
            deltas=deltas,
            activity=new_activity(
                request, group.id, "settlement.created", settlement.id, _summary(settlement)
            ),
            reply=slot.reply(201, payload, {"ETag": '"1"'}),
        )
        publish_group_event(request, group.id, "transaction.created", with_moves(payload_json, deltas))
    return json_reply(payload_json, status=201, headers={"ETag": '"1"'})


@api.get(
    "/api/groups/{group_id}/transactions",
    summary="The group's transactions, newest first",
    query=PAGE_QUERY,
    replies={
        200: Reply("one page of transactions", page_of(TRANSACTION)),
        400: Reply("the cursor is not one this server issued", ERROR),
        404: Reply("no such group, or the caller is not a member", ERROR),
    },
)
async def list_transactions(request: web.Request, query: dict[str, Any]) -> web.Response:
    group, _ = await membership(request)
    page = await request.app[STORE].list_settlements(
        group.id, limit=query["limit"], cursor=query.get("cursor")
    )
    return web.json_response(
        {"items": [transaction_json(s) for s in page.items], "next_cursor": page.next_cursor}
    )


@api.get(
    "/api/groups/{group_id}/transactions/{transaction_id}",
    summary="One transaction",
    replies={200: Reply("the transaction", TRANSACTION, ("ETag",)), 404: _NOT_FOUND},
)
async def get_transaction(request: web.Request) -> web.Response:
    group, _ = await membership(request)
    settlement = await request.app[STORE].get_settlement(group.id, request.match_info["transaction_id"])
    return web.json_response(transaction_json(settlement), headers={"ETag": f'"{settlement.version}"'})


@api.delete(
    "/api/groups/{group_id}/transactions/{transaction_id}",
    summary="Delete a transaction; balances move back",
    headers={"If-Match": "optional: delete only if still at this version"},
    replies={
        204: Reply("deleted"),
        404: _NOT_FOUND,
        409: Reply("someone it involves has left the group; invite them back first", ERROR),
        412: Reply("the transaction changed since the version sent", ERROR),
    },
)
async def delete_transaction(request: web.Request) -> web.Response:
    group, _ = await membership(request)
    store = request.app[STORE]

    async def delete(current: Settlement) -> None:
        deltas = balance_moves((current.currency, negate(_net(current))))
        await store.delete_settlement(
            group.id,
            current.id,
            expected_version=current.version,
            deltas=deltas,
            activity=new_activity(request, group.id, "settlement.deleted", current.id, _summary(current)),
        )
        publish_group_event(
            request,
            group.id,
            "transaction.deleted",
            {"id": current.id, "group_id": group.id, "balance_moves": moves_json(deltas)},
        )

    await delete_current(
        request, lambda: store.get_settlement(group.id, request.match_info["transaction_id"]), delete
    )
    return web.Response(status=204)


def _net(settlement: Settlement) -> dict[str, int]:
    return transfer_net(settlement.from_user, settlement.to_user, settlement.amount)


def _summary(settlement: Settlement) -> dict[str, Any]:
    return {
        "from_user": settlement.from_user,
        "to_user": settlement.to_user,
        "amount": format_amount(settlement.amount, settlement.currency),
        "currency": settlement.currency,
    }


def transaction_json(settlement: Settlement) -> dict[str, Any]:
    return {
        "id": settlement.id,
        "group_id": settlement.group_id,
        "from_user": settlement.from_user,
        "to_user": settlement.to_user,
        "amount": format_amount(settlement.amount, settlement.currency),
        "currency": settlement.currency,
        "date": settlement.date,
        "note": settlement.note,
        "created_by": settlement.created_by,
        "created_at": to_text(settlement.created_at),
        "version": settlement.version,
    }
