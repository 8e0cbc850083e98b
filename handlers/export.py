"""Export of a group's whole history, streamed page by page so memory stays flat however long it is.
Names come with the ids: CSV has a name column beside each column of user ids, JSON a `users` map;
every timestamp is RFC 3339 UTC, as everywhere in the API. `splitwise` writes Splitwise's own CSV
(`ledger.splitwise_export`), which the import reads back with the same balances."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web

from domain import Expense, Group, Page, Settlement
from domain.categories import category_named
from domain.clock import to_text
from handlers.access import membership
from handlers.schemas import ERROR, Schema
from ledger import effects, format_amount
from ledger.splitwise_export import SplitwiseWriter, columns, record_lines
from server.keys import CLOCK, SERVICES, STORE
from server.routing import Api, Reply
from services.payloads import expense_json, settlement_json
from services.people import People, expense_people, settlement_people
from store import Store

api = Api("export")
log = logging.getLogger(__name__)

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
    "paid_by_names",
    "owed_by",
    "owed_by_names",
    "from_user",
    "from_user_name",
    "to_user",
    "to_user_name",
    "notes",
    "created_by",
    "created_by_name",
    "created_at",
)
"""`paid_by` and `owed_by` hold `<user id>:<amount>` pairs joined by `;`; their `_names` columns
hold the names of the same people, in the same order, joined by `;`."""
EXPORT_QUERY: Schema = {
    "type": "object",
    "properties": {
        "format": {
            "type": "string",
            "enum": ["csv", "json", "splitwise"],
            "default": "csv",
            "description": "`csv`: a line per record with ids and names; `json`: this server's "
            "export, which the import reads; `splitwise`: Splitwise's CSV export (each person's "
            "net per line, `Total balance` lines at the end), which the import reads too",
        }
    },
}


@api.get(
    "/api/groups/{group_id}/export",
    summary="Every expense (with its split) and transaction of the group, as CSV, JSON or Splitwise's CSV",
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
    as_csv = fmt in ("csv", "splitwise")
    filename = f"group-{group.id}" + ("-splitwise.csv" if fmt == "splitwise" else f".{fmt}")
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8" if as_csv else "application/json",
            "Content-Disposition": f'attachment; filename="{filename}"',
        }
    )
    if fmt == "splitwise":
        # Its columns are everyone its lines move, so it reads the history once before writing.
        headings = columns(await _people_of(store, group, request.app[SERVICES].people))
        await response.prepare(request)
        await _write_splitwise(response, store, group, headings, request.app[CLOCK]())
        await response.write_eof()
        return response
    await response.prepare(request)
    names = _Names(request.app[SERVICES].people)
    if fmt == "csv":
        await response.write(_csv_line(CSV_COLUMNS))
        async for expenses in _pages(_expense_pages(store, group.id)):
            await names.cover(expense_people(expenses))
            for expense in expenses:
                await response.write(_csv_line(_expense_row(expense, names)))
        async for settlements in _pages(_settlement_pages(store, group.id)):
            await names.cover(settlement_people(settlements))
            for settlement in settlements:
                await response.write(_csv_line(_settlement_row(settlement, names)))
    else:
        await response.write(b'{"group_id": ' + json.dumps(group.id).encode() + b', "expenses": [')
        first = True
        async for expenses in _pages(_expense_pages(store, group.id)):
            await names.cover(expense_people(expenses))
            first = await _write_json_items(response, map(expense_json, expenses), first)
        await response.write(b'], "transactions": [')
        first = True
        async for settlements in _pages(_settlement_pages(store, group.id)):
            await names.cover(settlement_people(settlements))
            first = await _write_json_items(response, map(settlement_json, settlements), first)
        await response.write(b'], "users": ' + json.dumps(dict(sorted(names.users.items()))).encode() + b"}")
    await response.write_eof()
    return response


async def _people_of(store: Store, group: Group, people: People) -> dict[str, str]:
    """Everyone the group's records move (former members too) and its members: id → name."""
    ids = {member.user_id for member in await store.list_members(group.id)}
    async for expenses in _pages(_expense_pages(store, group.id)):
        ids.update(person for expense in expenses for person, _ in effects(None, expense).balances)
    async for settlements in _pages(_settlement_pages(store, group.id)):
        ids.update(person for s in settlements for person in (s.from_user, s.to_user))
    known = await people.names(ids)
    return {person: str(known.get(person, {}).get("name", "")) for person in ids}


async def _write_splitwise(
    response: web.StreamResponse, store: Store, group: Group, headings: dict[str, str], now: datetime
) -> None:
    def category_name(category_id: str) -> str:
        known = category_named(category_id)
        own = next((c.name for c in group.categories if c.id == category_id), None)
        return known.name if known is not None else own or category_id

    writer = SplitwiseWriter(headings)
    await response.write(writer.header())
    async for records in _pages(_expense_pages(store, group.id)):
        await _write_lines(response, writer, records, category_name)
    async for settlements in _pages(_settlement_pages(store, group.id)):
        await _write_lines(response, writer, settlements, category_name)
    await response.write(writer.totals(now.date().isoformat()))


async def _write_lines(
    response: web.StreamResponse,
    writer: SplitwiseWriter,
    records: Sequence[Expense] | Sequence[Settlement],
    category_name: Callable[[str], str],
) -> None:
    for record in records:
        for line in record_lines(record, category_name):
            if writer.covers(line):
                await response.write(writer.line(line))
            else:  # someone who joined after the columns were read: written when exported again
                log.info("export of group %s leaves out a line of record %s", record.group_id, record.id)


class _Names:
    """The names of everyone the export has mentioned so far, read a page's new ids at a time."""

    def __init__(self, people: People) -> None:
        self._people = people
        self._asked: set[str] = set()
        self.users: dict[str, dict[str, Any]] = {}

    async def cover(self, user_ids: set[str]) -> None:
        missing = user_ids - self._asked
        if missing:
            self._asked |= missing
            self.users.update(await self._people.names(missing))

    def name(self, user_id: str) -> str:
        known = self.users.get(user_id)
        return "" if known is None else str(known["name"])

    def names(self, user_ids: Iterable[str]) -> str:
        return ";".join(self.name(user_id) for user_id in user_ids)


def _expense_pages(store: Store, group_id: str) -> Callable[[str | None], Awaitable[Page[Expense]]]:
    return lambda cursor: store.list_expenses(group_id, limit=PAGE_SIZE, cursor=cursor)


def _settlement_pages(store: Store, group_id: str) -> Callable[[str | None], Awaitable[Page[Settlement]]]:
    return lambda cursor: store.list_settlements(group_id, limit=PAGE_SIZE, cursor=cursor)


async def _pages(fetch: Callable[[str | None], Awaitable[Page[Item]]]) -> AsyncIterator[list[Item]]:
    """Every page of a paged listing, one in memory at a time."""
    cursor = None
    while True:
        page = await fetch(cursor)
        if page.items:
            yield page.items
        if (cursor := page.next_cursor) is None:
            return


async def _write_json_items(response: web.StreamResponse, items: Iterable[Any], first: bool) -> bool:
    """Write `items` as members of a JSON array; whether the array is still empty after."""
    for item in items:
        await response.write((b"" if first else b", ") + json.dumps(item).encode())
        first = False
    return first


def _csv_line(values: tuple[Any, ...] | list[Any]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue().encode()


def _people(amounts: dict[str, int], currency: str) -> str:
    return ";".join(f"{user}:{format_amount(amount, currency)}" for user, amount in amounts.items())


def _expense_row(e: Expense, names: _Names) -> list[Any]:
    return [
        "expense",
        e.id,
        e.date,
        e.description,
        e.category,
        e.currency,
        format_amount(e.amount, e.currency),
        _people(e.paid, e.currency),
        names.names(e.paid),
        _people(e.owed, e.currency),
        names.names(e.owed),
        "",
        "",
        "",
        "",
        e.notes,
        e.created_by,
        names.name(e.created_by),
        to_text(e.created_at),
    ]


def _settlement_row(s: Settlement, names: _Names) -> list[Any]:
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
        "",
        "",
        s.from_user,
        names.name(s.from_user),
        s.to_user,
        names.name(s.to_user),
        "",
        s.created_by,
        names.name(s.created_by),
        to_text(s.created_at),
    ]
