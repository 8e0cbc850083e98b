"""Transactions (settlements): one member paying another back. Each write moves balances
atomically. A deleted one is kept for RESTORE_DAYS: reads show it only with `include_deleted=true`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from handlers.access import membership, membership_with_member_ids
from handlers.fields import AMOUNT, DATE, if_match
from handlers.idempotency import HEADER_DOC, idempotency
from handlers.schemas import (
    CURRENCY,
    DELETION,
    ERROR,
    ID,
    INCLUDE_DELETED,
    PAGE_QUERY,
    TIMESTAMP,
    Schema,
    page_of,
    with_user_names,
)
from server.keys import SERVICES, STORE
from server.routing import Api, Reply, json_reply
from services.payloads import settlement_json, version_etag
from services.people import settlement_people

api = Api("transactions")

NEW_TRANSACTION: Schema = {
    "title": "NewTransaction",
    "examples": [{"to_user": "u_ana", "amount": "25.00", "note": "for the dinner"}],
    "type": "object",
    "required": ["to_user", "amount"],
    "additionalProperties": False,
    "properties": {
        "from_user": {**ID, "description": "who paid, a member; default: the caller"},
        "to_user": {**ID, "description": "who was paid, a member other than `from_user`"},
        "amount": AMOUNT,
        "currency": CURRENCY,
        "date": DATE,
        "note": {"type": "string", "maxLength": 500},
    },
}
TRANSACTION: Schema = {
    "title": "Transaction",
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
        **DELETION,
    },
}
LIST_QUERY: Schema = {
    "type": "object",
    "properties": {**PAGE_QUERY["properties"], "include_deleted": INCLUDE_DELETED},
}
ONE_QUERY: Schema = {"type": "object", "properties": {"include_deleted": INCLUDE_DELETED}}
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
    async with idempotency(request, body) as slot:
        if slot.replay is not None:
            return slot.replay
        written = await request.app[SERVICES].settlements.create(group, me.user_id, member_ids, body, slot)
    return json_reply(written.payload_json, status=201, headers=version_etag(written.record.version))


@api.get(
    "/api/groups/{group_id}/transactions",
    summary="The group's transactions, newest first",
    query=LIST_QUERY,
    replies={
        200: Reply(
            "one page of transactions, with everyone they name", with_user_names(page_of(TRANSACTION))
        ),
        400: Reply("the cursor is not one this server issued", ERROR),
        404: Reply("no such group, or the caller is not a member", ERROR),
    },
)
async def list_transactions(request: web.Request, query: dict[str, Any]) -> web.Response:
    group, _ = await membership(request)
    page = await request.app[STORE].list_settlements(
        group.id,
        limit=query["limit"],
        cursor=query.get("cursor"),
        include_deleted=query["include_deleted"] == "true",
    )
    users = await request.app[SERVICES].people.names(settlement_people(page.items))
    return web.json_response(
        {"items": [settlement_json(s) for s in page.items], "next_cursor": page.next_cursor, "users": users}
    )


@api.get(
    "/api/groups/{group_id}/transactions/{transaction_id}",
    summary="One transaction (a deleted one only with include_deleted=true)",
    query=ONE_QUERY,
    replies={
        200: Reply("the transaction; its ETag starts with its version", TRANSACTION, ("ETag",)),
        404: Reply("no such group or transaction, the caller is not a member, or it is deleted", ERROR),
    },
)
async def get_transaction(request: web.Request, query: dict[str, Any]) -> web.Response:
    group, _ = await membership(request)
    settlement = await request.app[STORE].get_settlement(
        group.id, request.match_info["transaction_id"], include_deleted=query["include_deleted"] == "true"
    )
    return web.json_response(settlement_json(settlement), headers=version_etag(settlement.version))


@api.delete(
    "/api/groups/{group_id}/transactions/{transaction_id}",
    summary="Delete a transaction; balances move back. It can be restored for RESTORE_DAYS",
    headers={"If-Match": "optional: delete only if still at this version"},
    replies={
        204: Reply("deleted"),
        404: _NOT_FOUND,
        409: Reply("someone it involves has left the group; invite them back first", ERROR),
        412: Reply("the transaction changed since the version sent", ERROR),
    },
)
async def delete_transaction(request: web.Request) -> web.Response:
    group, me = await membership(request)
    await request.app[SERVICES].settlements.delete(
        group, me.user_id, request.match_info["transaction_id"], if_match(request)
    )
    return web.Response(status=204)


@api.post(
    "/api/groups/{group_id}/transactions/{transaction_id}/restore",
    summary="Bring a deleted transaction back, with its balances and its comments",
    headers={"If-Match": "optional: restore only if the deleted transaction is still at this version"},
    replies={
        200: Reply("the restored transaction (its version bumped)", TRANSACTION, ("ETag",)),
        404: Reply("no such group or transaction (or it was purged), or the caller is not a member", ERROR),
        409: Reply(
            "`not_deleted`: it is not deleted; `not_a_member`: its payer or payee has left the group "
            "(details `user_ids` and their `users` names): invite them back first",
            ERROR,
        ),
        410: Reply("`restore_window_passed`: deleted more than RESTORE_DAYS ago", ERROR),
        412: Reply("the transaction changed since the version sent", ERROR),
    },
)
async def restore_transaction(request: web.Request) -> web.Response:
    group, me = await membership(request)
    written = await request.app[SERVICES].settlements.restore(
        group, me.user_id, request.match_info["transaction_id"], if_match(request)
    )
    return json_reply(written.payload_json, headers=version_etag(written.record.version))
