"""Export of a group's whole history, streamed page by page so memory stays flat however long it is."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

from domain import Expense, Page, Settlement
from handlers.access import membership
from handlers.schemas import ERROR, Schema
from ledger import format_amount
from server.keys import STORE
from server.routing import Api, Reply
from services.payloads import expense_json, settlement_json
from store import Store

api = Api("export")

PAGE_SIZE = 100
Item = TypeVar("Item")
CSV_COLUMNS = (
    "type",
    "id",
    "date",
    "description",
    "category",
    "currency",
    "amount",
    "paid_by",
    "owed_by",
    "from_user",
    "to_user",
    "notes",
    "created_by",
    "created_at",
)
EXPORT_QUERY: Schema = {
    "type": "object",
    "properties": {"format": {"type": "string", "enum": ["csv", "json"], "default": "csv"}},
}


@api.get(
    "/api/groups/{group_id}/export",
    summary="Every expense (with its split) and transaction of the group, as CSV or JSON",
    query=EXPORT_QUERY,
    replies={
        200: Reply("the export, streamed (text/csv or application/json)"),
        404: Reply("no such group, or the caller is not a member", ERROR),
    },
)
async def export_group(request: web.Request, query: dict[str, Any]) -> web.StreamResponse:
    group, _ = await membership(request)
    store = request.app[STORE]
    fmt = query["format"]
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8" if fmt == "csv" else "application/json",
            "Content-Disposition": f'attachment; filename="group-{group.id}.{fmt}"',
        }
    )
    await response.prepare(request)
    if fmt == "csv":
        await response.write(_csv_line(CSV_COLUMNS))
        async for expense in _expenses(store, group.id):
            await response.write(_csv_line(_expense_row(expense)))
        async for settlement in _settlements(store, group.id):
            await response.write(_csv_line(_settlement_row(settlement)))
    else:
        await response.write(b'{"group_id": ' + json.dumps(group.id).encode() + b', "expenses": [')
        await _write_json_items(response, (expense_json(e) async for e in _expenses(store, group.id)))
        await response.write(b'], "transactions": [')
        await _write_json_items(response, (settlement_json(s) async for s in _settlements(store, group.id)))
        await response.write(b"]}")
    await response.write_eof()
    return response


def _expenses(store: Store, group_id: str) -> AsyncIterator[Expense]:
    return _every(lambda cursor: store.list_expenses(group_id, limit=PAGE_SIZE, cursor=cursor))


def _settlements(store: Store, group_id: str) -> AsyncIterator[Settlement]:
    return _every(lambda cursor: store.list_settlements(group_id, limit=PAGE_SIZE, cursor=cursor))


async def _every(fetch: Callable[[str | None], Awaitable[Page[Item]]]) -> AsyncIterator[Item]:
    """Every item of a paged listing, one page in memory at a time."""
    cursor = None
    while True:
        page = await fetch(cursor)
        for item in page.items:
            yield item
        if (cursor := page.next_cursor) is None:
            return


async def _write_json_items(response: web.StreamResponse, items: AsyncIterator[Any]) -> None:
    first = True
    async for item in items:
        await response.write((b"" if first else b", ") + json.dumps(item).encode())
        first = False


def _csv_line(values: tuple[Any, ...] | list[Any]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue().encode()


def _people(amounts: dict[str, int], currency: str) -> str:
    return ";".join(f"{user}:{format_amount(amount, currency)}" for user, amount in amounts.items())


def _expense_row(e: Expense) -> list[Any]:
    return [
        "expense",
        e.id,
        e.date,
        e.description,
        e.category,
        e.currency,
        format_amount(e.amount, e.currency),
        _people(e.paid, e.currency),
        _people(e.owed, e.currency),
        "",
        "",
        e.notes,
        e.created_by,
        e.created_at.isoformat(),
    ]


def _settlement_row(s: Settlement) -> list[Any]:
    return [
        "transaction",
        s.id,
        s.date,
        s.note,
        "",
        s.currency,
        format_amount(s.amount, s.currency),
        "",
        "",
        s.from_user,
        s.to_user,
        "",
        s.created_by,
        s.created_at.isoformat(),
    ]
