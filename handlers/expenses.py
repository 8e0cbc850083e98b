"""Expenses of a group: create, list, read, edit, delete. Each write moves balances atomically."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from domain import Expense, ExpenseFilter, Group
from domain.clock import to_text, utc_now
from domain.ids import new_id
from handlers.access import membership, membership_with_member_ids, new_activity
from handlers.balances import moves_json, with_moves
from handlers.fields import (
    AMOUNT,
    DATE,
    VERSION,
    based_on_version,
    check_version,
    delete_current,
    parse_date,
    require_members,
)
from handlers.idempotency import HEADER_DOC, idempotency
from handlers.receipts import check_attachable
from handlers.schemas import CURRENCY, ERROR, ID, PAGE_QUERY, TIMESTAMP, Schema, page_of
from ledger import (
    SPLIT_KINDS,
    compute_split,
    format_amount,
    negate,
    parse_amount,
    parse_currency,
    parse_payers,
    parse_split,
    payers_to_json,
    split_to_json,
)
from ledger.money import invalid
from ledger.moves import balance_moves, net_of, spending_moves
from realtime.events import publish_group_event
from server.keys import STORE
from server.routing import Api, Reply, json_reply, json_text

api = Api("expenses")

_PAYERS: Schema = {
    "type": "array",
    "description": "who paid and how much; default: the caller paid everything",
    "items": {
        "type": "object",
        "required": ["user_id", "amount"],
        "additionalProperties": False,
        "properties": {"user_id": ID, "amount": AMOUNT},
    },
}
_SPLIT: Schema = {
    "type": "object",
    "description": "how the total is owed; default: equally among all members",
    "required": ["kind"],
    "additionalProperties": False,
    "properties": {
        "kind": {"type": "string", "enum": list(SPLIT_KINDS)},
        "members": {"type": "array", "items": ID, "description": "kind equal"},
        "amounts": {"type": "object", "additionalProperties": AMOUNT, "description": "kind exact"},
        "percents": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": 'kind percent: "33.33" per member, summing to 100',
        },
        "shares": {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "kind shares: whole-number weights",
        },
    },
}
_FIELDS: Schema = {
    "description": {"type": "string", "minLength": 1, "maxLength": 200, "x-trim": True},
    "amount": AMOUNT,
    "currency": CURRENCY,
    "date": DATE,
    "category": {"type": "string", "minLength": 1, "maxLength": 50, "x-trim": True},
    "payers": _PAYERS,
    "split": _SPLIT,
    "notes": {"type": "string", "maxLength": 2000},
    "receipt_id": {"type": ["string", "null"], "maxLength": 128},
}
NEW_EXPENSE: Schema = {
    "type": "object",
    "required": ["description", "amount"],
    "additionalProperties": False,
    "properties": _FIELDS,
}
EXPENSE_CHANGES: Schema = {
    "type": "object",
    "additionalProperties": False,
    "properties": {**_FIELDS, "version": VERSION},
}
_SHARE: Schema = {
    "type": "object",
    "required": ["user_id", "amount"],
    "additionalProperties": False,
    "properties": {"user_id": ID, "amount": AMOUNT},
}
EXPENSE: Schema = {
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
    ],
    "properties": {
        "id": ID,
        "group_id": ID,
        "description": {"type": "string"},
        "amount": AMOUNT,
        "currency": {"type": "string"},
        "date": DATE,
        "category": {"type": "string"},
        "payers": {"type": "array", "items": _SHARE},
        "split": {"type": "object"},
        "shares": {"type": "array", "items": _SHARE, "description": "what each member owes"},
        "notes": {"type": "string"},
        "receipt_id": {"type": ["string", "null"]},
        "created_by": ID,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "version": {"type": "integer"},
    },
}
LIST_QUERY: Schema = {
    "type": "object",
    "properties": {
        **PAGE_QUERY["properties"],
        "date_from": DATE,
        "date_to": DATE,
        "category": {"type": "string", "minLength": 1, "maxLength": 50},
        "member": {**ID, "description": "only expenses this member paid or shares"},
    },
}
DEFAULT_CATEGORY = "general"

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
    store = request.app[STORE]
    async with idempotency(request, body) as slot:
        if slot.replay is not None:
            return slot.replay
        await check_attachable(request, body.get("receipt_id"))
        expense = _build_expense(
            body,
            group=group,
            member_ids=member_ids,
            expense_id=new_id(),
            created_by=me.user_id,
            created_at=utc_now(),
            version=1,
        )
        payload = expense_json(expense)
        payload_json = json_text(payload)
        deltas = balance_moves((expense.currency, net_of(expense.paid, expense.owed)))
        await store.create_expense(
            expense,
            deltas=deltas,
            spending=spending_moves(_spent(1, expense)),
            activity=new_activity(request, group.id, "expense.created", expense.id, _summary(expense)),
            reply=slot.reply(201, payload, _etag(expense)),
        )
        publish_group_event(request, group.id, "expense.created", with_moves(payload_json, deltas))
    return json_reply(payload_json, status=201, headers=_etag(expense))


@api.get(
    "/api/groups/{group_id}/expenses",
    summary="The group's expenses, newest first, with optional filters",
    query=LIST_QUERY,
    replies={
        200: Reply("one page of expenses", page_of(EXPENSE)),
        400: Reply("the cursor is not one this server issued", ERROR),
        404: Reply("no such group, or the caller is not a member", ERROR),
    },
)
async def list_expenses(request: web.Request, query: dict[str, Any]) -> web.Response:
    group, _ = await membership(request)
    filters = ExpenseFilter(
        date_from=parse_date(query["date_from"], "date_from") if "date_from" in query else None,
        date_to=parse_date(query["date_to"], "date_to") if "date_to" in query else None,
        category=query.get("category"),
        member=query.get("member"),
    )
    page = await request.app[STORE].list_expenses(
        group.id, limit=query["limit"], cursor=query.get("cursor"), filters=filters
    )
    return web.json_response(
        {"items": [expense_json(e) for e in page.items], "next_cursor": page.next_cursor}
    )


@api.get(
    "/api/groups/{group_id}/expenses/{expense_id}",
    summary="One expense",
    replies={200: Reply("the expense; its ETag is its version", EXPENSE, ("ETag",)), 404: _NOT_FOUND},
)
async def get_expense(request: web.Request) -> web.Response:
    group, _ = await membership(request)
    expense = await request.app[STORE].get_expense(group.id, request.match_info["expense_id"])
    return web.json_response(expense_json(expense), headers=_etag(expense))


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
    group, _, member_ids = await membership_with_member_ids(request)
    store = request.app[STORE]
    expected = based_on_version(request, body)
    current = await store.get_expense(group.id, request.match_info["expense_id"])
    check_version(expected, current.version)
    if body.get("receipt_id") != current.receipt_id:
        await check_attachable(request, body.get("receipt_id"))
    edited = _build_expense(
        _merged(current, body),
        group=group,
        member_ids=member_ids,
        expense_id=current.id,
        created_by=current.created_by,
        created_at=current.created_at,
        version=current.version + 1,
    )
    changes = _changes(current, edited)
    deltas = balance_moves(
        (current.currency, negate(net_of(current.paid, current.owed))),
        (edited.currency, net_of(edited.paid, edited.owed)),
    )
    await store.update_expense(
        edited,
        expected_version=current.version,
        deltas=deltas,
        spending=spending_moves(_spent(-1, current), _spent(1, edited)),
        activity=new_activity(request, group.id, "expense.updated", edited.id, changes),
    )
    payload = expense_json(edited)
    payload_json = json_text(payload)
    publish_group_event(request, group.id, "expense.updated", with_moves(payload_json, deltas))
    return json_reply(payload_json, headers=_etag(edited))


@api.delete(
    "/api/groups/{group_id}/expenses/{expense_id}",
    summary="Delete an expense; balances move back",
    headers={"If-Match": "optional: delete only if the expense is still at this version"},
    replies={
        204: Reply("deleted"),
        404: _NOT_FOUND,
        409: Reply("someone it involves has left the group; invite them back first", ERROR),
        412: Reply("the expense changed since the version sent", ERROR),
    },
)
async def delete_expense(request: web.Request) -> web.Response:
    group, _ = await membership(request)
    store = request.app[STORE]

    async def delete(current: Expense) -> None:
        deltas = balance_moves((current.currency, negate(net_of(current.paid, current.owed))))
        await store.delete_expense(
            group.id,
            current.id,
            expected_version=current.version,
            deltas=deltas,
            spending=spending_moves(_spent(-1, current)),
            activity=new_activity(request, group.id, "expense.deleted", current.id, _summary(current)),
        )
        publish_group_event(
            request,
            group.id,
            "expense.deleted",
            {"id": current.id, "group_id": group.id, "balance_moves": moves_json(deltas)},
        )

    await delete_current(
        request, lambda: store.get_expense(group.id, request.match_info["expense_id"]), delete
    )
    return web.Response(status=204)


def _build_expense(
    body: dict[str, Any],
    *,
    group: Group,
    member_ids: list[str],
    expense_id: str,
    created_by: str,
    created_at: datetime,
    version: int,
) -> Expense:
    """Parse and compute: amounts in minor units, who paid, who owes, checked against members."""
    currency = parse_currency(body.get("currency", group.default_currency))
    total = parse_amount(body["amount"], currency, field="amount")
    payers = parse_payers(body["payers"], currency) if "payers" in body else {created_by: total}
    split_body = body.get("split") or {"kind": "equal", "members": member_ids}
    split = parse_split(split_body, currency)
    result = compute_split(total, currency, payers, split)
    require_members(result.paid, member_ids, "payers")
    require_members(result.owed, member_ids, "split")
    return Expense(
        id=expense_id,
        group_id=group.id,
        description=body["description"],
        amount=total,
        currency=currency,
        date=parse_date(body["date"], "date") if "date" in body else utc_now().date().isoformat(),
        category=body.get("category", DEFAULT_CATEGORY),
        paid=result.paid,
        owed=result.owed,
        split=split_to_json(split, currency),
        notes=body.get("notes", ""),
        receipt_id=body.get("receipt_id"),
        created_by=created_by,
        created_at=created_at,
        updated_at=utc_now(),
        version=version,
    )


def _merged(current: Expense, changes: dict[str, Any]) -> dict[str, Any]:
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
    }
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
    )
    return {f: {"from": old[f], "to": new[f]} for f in fields if old[f] != new[f]}


def _spent(sign: int, expense: Expense) -> tuple[int, str, str, str, dict[str, int]]:
    """The expense's shares as one (sign, date, category, currency, owed) change of spending."""
    return (sign, expense.date, expense.category, expense.currency, expense.owed)


def _summary(expense: Expense) -> dict[str, Any]:
    return {
        "description": expense.description,
        "amount": format_amount(expense.amount, expense.currency),
        "currency": expense.currency,
    }


def _etag(expense: Expense) -> dict[str, str]:
    return {"ETag": f'"{expense.version}"'}


def expense_json(expense: Expense) -> dict[str, Any]:
    return {
        "id": expense.id,
        "group_id": expense.group_id,
        "description": expense.description,
        "amount": format_amount(expense.amount, expense.currency),
        "currency": expense.currency,
        "date": expense.date,
        "category": expense.category,
        "payers": payers_to_json(expense.paid, expense.currency),
        "split": expense.split,
        "shares": payers_to_json(expense.owed, expense.currency),
        "notes": expense.notes,
        "receipt_id": expense.receipt_id,
        "created_by": expense.created_by,
        "created_at": to_text(expense.created_at),
        "updated_at": to_text(expense.updated_at),
        "version": expense.version,
    }
