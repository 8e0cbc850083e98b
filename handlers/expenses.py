"""Expenses of a group: create, list, read, edit, delete, restore. Each write moves balances
atomically. A deleted expense is kept for RESTORE_DAYS: reads show it only with
`include_deleted=true`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from domain import ExpenseFilter
from domain.categories import matching
from handlers.access import membership, membership_with_member_ids
from handlers.fields import AMOUNT, DATE, VERSION, based_on_version, if_match
from handlers.idempotency import HEADER_DOC, idempotency
from handlers.receipts import check_attachable
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
from ledger import SPLIT_KINDS
from ledger.itemized import MAX_DESCRIPTION, MAX_ITEMS
from ledger.splits import MAX_SHARE_WEIGHT
from server.keys import SERVICES, STORE
from server.routing import Api, Reply, json_reply
from services.payloads import expense_json, version_etag
from services.people import expense_people
from services.records import parse_date

api = Api("expenses")

_PAYERS: Schema = {
    "type": "array",
    "description": "who paid and how much; default: the caller paid everything",
    "items": {
        "title": "Payer",
        "type": "object",
        "required": ["user_id", "amount"],
        "additionalProperties": False,
        "properties": {"user_id": ID, "amount": AMOUNT},
    },
}
_SPLIT: Schema = {
    "title": "Split",
    "examples": [
        {"kind": "equal", "members": ["u_ana", "u_ben"]},
        {"kind": "exact", "amounts": {"u_ana": "10.00", "u_ben": "20.00"}},
        {"kind": "percent", "percents": {"u_ana": "66.67", "u_ben": "33.33"}},
        {"kind": "shares", "shares": {"u_ana": 2, "u_ben": 1}},
        {
            "kind": "items",
            "items": [{"description": "Pizza", "amount": "18.00", "members": ["u_ana", "u_ben"]}],
            "tip": "2.00",
        },
    ],
    "type": "object",
    "description": "how the total is owed; default: equally among all members",
    "required": ["kind"],
    "additionalProperties": False,
    "properties": {
        "kind": {"type": "string", "enum": list(SPLIT_KINDS)},
        "members": {
            "type": "array",
            "items": ID,
            "description": "kind equal: who shares it; kind items: who shares the lines with no "
            "members (default: every member)",
        },
        "amounts": {"type": "object", "additionalProperties": AMOUNT, "description": "kind exact"},
        "percents": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": 'kind percent: "33.33" per member, summing to 100',
        },
        "shares": {
            "type": "object",
            "additionalProperties": {"type": "integer", "minimum": 1, "maximum": MAX_SHARE_WEIGHT},
            "description": "kind shares: whole-number weights",
        },
        "items": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_ITEMS,
            "description": "kind items: the receipt's lines, each split equally among its members "
            "(none yet: the split's members share it)",
            "items": {
                "type": "object",
                "required": ["amount"],
                "additionalProperties": False,
                "properties": {
                    "description": {"type": "string", "maxLength": MAX_DESCRIPTION},
                    "amount": AMOUNT,
                    "members": {"type": "array", "items": ID},
                },
            },
        },
        **{
            extra: {
                **AMOUNT,
                "description": f"kind items: {what}, spread in proportion to each member's lines",
            }
            for extra, what in (("tax", "tax"), ("tip", "tip"), ("discount", "a discount, taken off"))
        },
    },
}
_FIELDS: Schema = {
    "description": {"type": "string", "minLength": 1, "maxLength": 200, "x-trim": True},
    "amount": AMOUNT,
    "currency": CURRENCY,
    "date": DATE,
    "category": {
        "type": "string",
        "minLength": 1,
        "maxLength": 50,
        "x-trim": True,
        "description": "a category's id or name, any case (GET /api/categories, or the group's own at "
        "/api/groups/{group_id}/categories); stored as its id; default `general`",
    },
    "payers": _PAYERS,
    "split": _SPLIT,
    "notes": {"type": "string", "maxLength": 2000},
    "receipt_id": {"type": ["string", "null"], "maxLength": 128},
    "exchange_rate": {
        "type": ["string", "null"],
        "maxLength": 25,
        "description": "for an expense in another currency than the group's: the payer's own rate "
        '(1 `currency` = `exchange_rate` of the group\'s currency, a decimal string like "0.9215"); '
        "balances and spending then move in the group's currency. null: none. Dropped when "
        "`currency` changes unless sent again",
    },
}
NEW_EXPENSE: Schema = {
    "title": "NewExpense",
    "type": "object",
    "required": ["description", "amount"],
    "additionalProperties": False,
    "properties": _FIELDS,
    "examples": [
        {"description": "Dinner", "amount": "60.00"},
        {
            "description": "Groceries",
            "amount": "45.10",
            "currency": "EUR",
            "date": "2026-11-28",
            "category": "groceries",
            "payers": [{"user_id": "u_ana", "amount": "30.00"}, {"user_id": "u_ben", "amount": "15.10"}],
            "split": {"kind": "shares", "shares": {"u_ana": 2, "u_ben": 1, "u_cat": 1}},
        },
    ],
}
EXPENSE_CHANGES: Schema = {
    "title": "ExpenseChanges",
    "type": "object",
    "additionalProperties": False,
    "properties": {**_FIELDS, "version": VERSION},
}
_SHARE: Schema = {
    "title": "Share",
    "type": "object",
    "required": ["user_id", "amount"],
    "additionalProperties": False,
    "properties": {"user_id": ID, "amount": AMOUNT},
}
EXPENSE: Schema = {
    "title": "Expense",
    "type": "object",
    "additionalProperties": False,
    "required": [
        "id",
        "group_id",
        "description",
        "amount",
        "currency",
        "date",
        "category",
        "payers",
        "split",
        "shares",
        "notes",
        "receipt_id",
        "created_by",
        "created_at",
        "updated_at",
        "version",
        "recurring_id",
        "exchange_rate",
        "exchange_currency",
        "exchanged",
    ],
    "properties": {
        "id": ID,
        "group_id": ID,
        "description": {"type": "string"},
        "amount": AMOUNT,
        "currency": {"type": "string"},
        "date": DATE,
        "category": {
            "type": "string",
            "description": "the category's id (free text for expenses made before the catalogue)",
        },
        "payers": {"type": "array", "items": _SHARE},
        "split": {"type": "object"},
        "shares": {"type": "array", "items": _SHARE, "description": "what each member owes"},
        "notes": {"type": "string"},
        "receipt_id": {"type": ["string", "null"]},
        "created_by": ID,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "version": {"type": "integer"},
        "recurring_id": {
            "type": ["string", "null"],
            "description": "the recurring expense that made this one (/api/groups/{group_id}/recurring)",
        },
        "exchange_rate": {"type": ["string", "null"], "description": "the payer's own rate, if any"},
        "exchange_currency": {
            "type": ["string", "null"],
            "description": "with `exchange_rate`: the currency balances move in (the group's, when set)",
        },
        "exchanged": {
            "type": ["object", "null"],
            "description": "with `exchange_rate`: the total, payers and shares in `exchange_currency`, "
            "as the balances move (the total rounded half to even, each side by largest remainder)",
            "required": ["currency", "amount", "payers", "shares"],
            "additionalProperties": False,
            "properties": {
                "currency": {"type": "string"},
                "amount": AMOUNT,
                "payers": {"type": "array", "items": _SHARE},
                "shares": {"type": "array", "items": _SHARE},
            },
        },
        **DELETION,
    },
}
LIST_QUERY: Schema = {
    "type": "object",
    "properties": {
        **PAGE_QUERY["properties"],
        "date_from": DATE,
        "date_to": DATE,
        "category": {
            "type": "string",
            "minLength": 1,
            "maxLength": 50,
            "description": "a category's id or name, any case; a parent takes its subcategories along",
        },
        "member": {**ID, "description": "only expenses this member paid or shares"},
        "include_deleted": INCLUDE_DELETED,
    },
}
ONE_QUERY: Schema = {"type": "object", "properties": {"include_deleted": INCLUDE_DELETED}}

_NOT_FOUND = Reply("no such group or expense, or the caller is not a member", ERROR)
_VERSION_REPLIES = {
    412: Reply("the expense changed since the version sent; nothing was changed", ERROR),
    428: Reply("neither If-Match nor version was sent", ERROR),
}


@api.post(
    "/api/groups/{group_id}/expenses",
    summary="Log an expense; balances move in the same atomic write",
    body=NEW_EXPENSE,
    headers=HEADER_DOC,
    replies={
        201: Reply("the expense", EXPENSE, ("ETag",)),
        404: Reply("no such group, or the caller is not a member", ERROR),
        409: Reply("a participant left meanwhile, or the same Idempotency-Key is in flight", ERROR),
    },
)
async def create_expense(request: web.Request, body: dict[str, Any]) -> web.Response:
    group, me, member_ids = await membership_with_member_ids(request)
    async with idempotency(request, body) as slot:
        if slot.replay is not None:
            return slot.replay
        await check_attachable(request, body.get("receipt_id"))
        written = await request.app[SERVICES].expenses.create(group, me.user_id, member_ids, body, slot)
    return json_reply(written.payload_json, status=201, headers=version_etag(written.record.version))


@api.get(
    "/api/groups/{group_id}/expenses",
    summary="The group's expenses, newest first, with optional filters",
    query=LIST_QUERY,
    replies={
        200: Reply("one page of expenses, with everyone they name", with_user_names(page_of(EXPENSE))),
        400: Reply("the cursor is not one this server issued", ERROR),
        404: Reply("no such group, or the caller is not a member", ERROR),
    },
)
async def list_expenses(request: web.Request, query: dict[str, Any]) -> web.Response:
    group, _ = await membership(request)
    filters = ExpenseFilter(
        date_from=parse_date(query["date_from"], "date_from") if "date_from" in query else None,
        date_to=parse_date(query["date_to"], "date_to") if "date_to" in query else None,
        categories=matching(query["category"], group.categories) if "category" in query else None,
        member=query.get("member"),
    )
    page = await request.app[STORE].list_expenses(
        group.id,
        limit=query["limit"],
        cursor=query.get("cursor"),
        filters=filters,
        include_deleted=query["include_deleted"] == "true",
    )
    users = await request.app[SERVICES].people.names(expense_people(page.items))
    return web.json_response(
        {"items": [expense_json(e) for e in page.items], "next_cursor": page.next_cursor, "users": users}
    )


@api.get(
    "/api/groups/{group_id}/expenses/{expense_id}",
    summary="One expense (a deleted one only with include_deleted=true)",
    query=ONE_QUERY,
    replies={
        200: Reply(
            "the expense, with everyone it names; its ETag starts with its version",
            with_user_names(EXPENSE),
            ("ETag",),
        ),
        404: Reply("no such group or expense, the caller is not a member, or it is deleted", ERROR),
    },
)
async def get_expense(request: web.Request, query: dict[str, Any]) -> web.Response:
    group, _ = await membership(request)
    expense = await request.app[STORE].get_expense(
        group.id, request.match_info["expense_id"], include_deleted=query["include_deleted"] == "true"
    )
    users = await request.app[SERVICES].people.names(expense_people([expense]))
    return web.json_response({**expense_json(expense), "users": users}, headers=version_etag(expense.version))


@api.put(
    "/api/groups/{group_id}/expenses/{expense_id}",
    summary="Edit an expense (send only what changes); balances move by the difference",
    body=EXPENSE_CHANGES,
    headers={"If-Match": "the expense's ETag (or send `version` in the body)"},
    replies={
        200: Reply("the edited expense", EXPENSE, ("ETag",)),
        404: _NOT_FOUND,
        409: Reply("a participant left meanwhile", ERROR),
        **_VERSION_REPLIES,
    },
)
async def update_expense(request: web.Request, body: dict[str, Any]) -> web.Response:
    group, me, member_ids = await membership_with_member_ids(request)
    written = await request.app[SERVICES].expenses.update(
        group,
        me.user_id,
        member_ids,
        request.match_info["expense_id"],
        body,
        expected_version=based_on_version(request, body),
        check_receipt=lambda receipt_id: check_attachable(request, receipt_id),
    )
    return json_reply(written.payload_json, headers=version_etag(written.record.version))


@api.delete(
    "/api/groups/{group_id}/expenses/{expense_id}",
    summary="Delete an expense; balances move back. It can be restored for RESTORE_DAYS",
    headers={"If-Match": "optional: delete only if the expense is still at this version"},
    replies={
        204: Reply("deleted"),
        404: _NOT_FOUND,
        409: Reply("someone it involves has left the group; invite them back first", ERROR),
        412: Reply("the expense changed since the version sent", ERROR),
    },
)
async def delete_expense(request: web.Request) -> web.Response:
    group, me = await membership(request)
    await request.app[SERVICES].expenses.delete(
        group, me.user_id, request.match_info["expense_id"], if_match(request)
    )
    return web.Response(status=204)


@api.post(
    "/api/groups/{group_id}/expenses/{expense_id}/restore",
    summary="Bring a deleted expense back, with its balances and its comments",
    headers={"If-Match": "optional: restore only if the deleted expense is still at this version"},
    replies={
        200: Reply("the restored expense (its version bumped)", EXPENSE, ("ETag",)),
        404: Reply("no such group or expense (or it was purged), or the caller is not a member", ERROR),
        409: Reply(
            "`not_deleted`: it is not deleted; `not_a_member`: someone it involves has left the group "
            "(details `user_ids` and their `users` names): invite them back first",
            ERROR,
        ),
        410: Reply("`restore_window_passed`: deleted more than RESTORE_DAYS ago", ERROR),
        412: Reply("the expense changed since the version sent", ERROR),
    },
)
async def restore_expense(request: web.Request) -> web.Response:
    group, me = await membership(request)
    written = await request.app[SERVICES].expenses.restore(
        group, me.user_id, request.match_info["expense_id"], if_match(request)
    )
    return json_reply(written.payload_json, headers=version_etag(written.record.version))
