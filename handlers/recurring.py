"""Recurring expenses of a group (docs/recurring.md): set up, list, read, change, delete. The
server's scheduler makes each occurrence, an ordinary expense carrying `recurring_id`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from domain.recurring import MAX_RECURRING_PER_GROUP
from handlers.access import membership, membership_with_member_ids
from handlers.components import untitled
from handlers.expenses import EXPENSE, EXPENSE_CHANGES, NEW_EXPENSE
from handlers.fields import DATE, VERSION, based_on_version, if_match
from handlers.idempotency import HEADER_DOC, idempotency
from handlers.schemas import ERROR, ID, TIMESTAMP, Schema
from ledger.recurrence import EVERY, MAX_COUNT, MAX_INTERVAL
from server.keys import SERVICES, STORE
from server.routing import Api, Reply, json_reply
from services.payloads import recurring_json, version_etag

api = Api("recurring")

_NOT_REPEATED = ("date", "receipt_id", "version", "exchange_rate")
"""`exchange_rate` is a card's rate on one day: each occurrence takes its own (edit it)."""
_TEMPLATE: Schema = {
    **untitled(NEW_EXPENSE),
    "description": "the expense to log each time, as for POST .../expenses (no date: each "
    "occurrence is dated on its own day; no receipt)",
    "properties": {k: v for k, v in NEW_EXPENSE["properties"].items() if k not in _NOT_REPEATED},
}
_TEMPLATE_CHANGES: Schema = {
    **untitled(EXPENSE_CHANGES),
    "description": "what changes in the expense to log from now on (send the payers again with "
    "a new total that several people pay)",
    "minProperties": 1,
    "properties": {k: v for k, v in EXPENSE_CHANGES["properties"].items() if k not in _NOT_REPEATED},
}
_SCHEDULE: dict[str, Schema] = {
    "every": {"type": "string", "enum": list(EVERY)},
    "interval": {
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_INTERVAL,
        "description": "every `interval` days, weeks, months or years (default 1)",
    },
    "starts_on": {
        **DATE,
        "description": "the first occurrence (default today in `timezone`); at most 366 days ago, "
        "missed occurrences since are made at once. A monthly rule on the 29th to 31st falls on "
        "the last day of shorter months",
    },
    "ends_on": {**DATE, "type": ["string", "null"], "description": "the last day it may fall on"},
    "count": {
        "type": ["integer", "null"],
        "minimum": 1,
        "maximum": MAX_COUNT,
        "description": "how many occurrences in all",
    },
    "timezone": {
        "type": "string",
        "minLength": 1,
        "maxLength": 64,
        "description": "IANA time zone whose midnight starts each day (default UTC)",
    },
    "paused": {
        "type": "boolean",
        "description": "a paused rule makes nothing; resumed, it goes on from today",
    },
}
NEW_RECURRING: Schema = {
    "title": "NewRecurringExpense",
    "type": "object",
    "required": ["expense", "every"],
    "additionalProperties": False,
    "properties": {"expense": _TEMPLATE, **_SCHEDULE},
}
RECURRING_CHANGES: Schema = {
    "title": "RecurringExpenseChanges",
    "type": "object",
    "additionalProperties": False,
    "properties": {"expense": _TEMPLATE_CHANGES, **_SCHEDULE, "version": VERSION},
}
_REPEATED = ("description", "amount", "currency", "category", "payers", "split", "shares", "notes")
RECURRING: Schema = {
    "title": "RecurringExpense",
    "type": "object",
    "additionalProperties": False,
    "required": [
        "id",
        "group_id",
        "expense",
        "every",
        "interval",
        "starts_on",
        "ends_on",
        "count",
        "timezone",
        "paused",
        "status",
        "stopped",
        "next_on",
        "made",
        "last_on",
        "created_by",
        "created_at",
        "updated_at",
        "version",
    ],  # fmt: skip
    "properties": {
        "id": ID,
        "group_id": ID,
        "expense": {
            "type": "object",
            "additionalProperties": False,
            "required": list(_REPEATED),
            "properties": {k: EXPENSE["properties"][k] for k in _REPEATED},
        },
        **_SCHEDULE,
        "status": {
            "type": "string",
            "enum": ["active", "paused", "finished"],
            "description": "finished: past `ends_on` or `count`",
        },
        "stopped": {
            "type": ["string", "null"],
            "enum": ["members_left", None],
            "description": "why the server paused it: `members_left`, someone its expense involves "
            "(or whoever set it up) left the group",
        },
        "next_on": {**DATE, "type": ["string", "null"], "description": "when the next one is due"},
        "made": {"type": "integer", "description": "occurrences made so far"},
        "last_on": {**DATE, "type": ["string", "null"], "description": "the latest occurrence's date"},
        "created_by": ID,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "version": {"type": "integer"},
    },
}
_LIST: Schema = {
    "type": "object",
    "required": ["items"],
    "additionalProperties": False,
    "properties": {"items": {"type": "array", "maxItems": MAX_RECURRING_PER_GROUP, "items": RECURRING}},
}
_NOT_FOUND = Reply("no such group or recurring expense, or the caller is not a member", ERROR)


@api.post(
    "/api/groups/{group_id}/recurring",
    summary="Set up a recurring expense: the server logs it on each day it falls due",
    body=NEW_RECURRING,
    headers=HEADER_DOC,
    replies={
        201: Reply("the recurring expense", RECURRING, ("ETag",)),
        404: Reply("no such group, or the caller is not a member", ERROR),
        409: Reply(
            f"the group has {MAX_RECURRING_PER_GROUP} already (`too_many_recurring`), or the same "
            "Idempotency-Key is in flight",
            ERROR,
        ),
    },
)
async def create_recurring(request: web.Request, body: dict[str, Any]) -> web.Response:
    group, me, member_ids = await membership_with_member_ids(request)
    async with idempotency(request, body) as slot:
        if slot.replay is not None:
            return slot.replay
        written = await request.app[SERVICES].recurring.create(group, me.user_id, member_ids, body, slot)
    return json_reply(written.payload_json, status=201, headers=version_etag(written.record.version))


@api.get(
    "/api/groups/{group_id}/recurring",
    summary="The group's recurring expenses, oldest first",
    replies={200: Reply("every recurring expense of the group", _LIST), 404: _NOT_FOUND},
)
async def list_recurring(request: web.Request) -> web.Response:
    group, _ = await membership(request)
    rules = await request.app[STORE].list_recurring(group.id)
    return web.json_response({"items": [recurring_json(rule) for rule in rules]})


@api.get(
    "/api/groups/{group_id}/recurring/{recurring_id}",
    summary="One recurring expense",
    replies={200: Reply("the recurring expense", RECURRING, ("ETag",)), 404: _NOT_FOUND},
)
async def get_recurring(request: web.Request) -> web.Response:
    group, _ = await membership(request)
    rule = await request.app[STORE].get_recurring(group.id, request.match_info["recurring_id"])
    return web.json_response(recurring_json(rule), headers=version_etag(rule.version))


@api.patch(
    "/api/groups/{group_id}/recurring/{recurring_id}",
    summary="Change a recurring expense (send only what changes); only occurrences to come change",
    body=RECURRING_CHANGES,
    headers={"If-Match": "the recurring expense's ETag (or send `version` in the body)"},
    replies={
        200: Reply("the recurring expense as it is now", RECURRING, ("ETag",)),
        404: _NOT_FOUND,
        412: Reply("it changed since the version sent (the scheduler's occurrences change it too)", ERROR),
        428: Reply("neither If-Match nor version was sent", ERROR),
    },
)
async def update_recurring(request: web.Request, body: dict[str, Any]) -> web.Response:
    group, me, member_ids = await membership_with_member_ids(request)
    written = await request.app[SERVICES].recurring.update(
        group,
        me.user_id,
        member_ids,
        request.match_info["recurring_id"],
        body,
        expected_version=based_on_version(request, body),
    )
    return json_reply(written.payload_json, headers=version_etag(written.record.version))


@api.delete(
    "/api/groups/{group_id}/recurring/{recurring_id}",
    summary="Delete a recurring expense; the expenses it made stay",
    headers={"If-Match": "optional: delete only if it is still at this version"},
    replies={
        204: Reply("deleted"),
        404: _NOT_FOUND,
        412: Reply("it changed since the version sent", ERROR),
    },
)
async def delete_recurring(request: web.Request) -> web.Response:
    group, me = await membership(request)
    await request.app[SERVICES].recurring.delete(
        group, me.user_id, request.match_info["recurring_id"], if_match(request)
    )
    return web.Response(status=204)
