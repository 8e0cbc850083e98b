"""Splitwise's CSV export, written (pure): a group's records as the lines Splitwise's "Export as
spreadsheet" holds, so that the file goes into Splitwise's own tools, into a spreadsheet, or back
into this server (`ledger.splitwise` reads it) with the same balances.

Each line is one record's effect in one currency, as Splitwise keeps it: each person's net
(positive: the others owe them that much more), adding up to zero. So:

- an expense is one line, its cost its amount;
- an expense with its payer's own exchange rate is one line in the currency its balances moved
  in (the group's), its cost the exchanged total;
- a recorded conversion is one line per currency it moved, its cost what the people owed
  something are owed (Splitwise writes its own conversions so too);
- a settlement is a `Payment` line: the payer's net up by its amount, the payee's down.

The `Total balance` lines at the end, one per currency, add up the lines above (they are what the
reader checks), dated the day of the export.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from domain import Expense, Settlement
from ledger.effects import Record, effects, exchanged_sides, is_conversion
from ledger.money import format_amount
from ledger.splitwise import normal_person

HEADER = ("Date", "Description", "Category", "Cost", "Currency")
PAYMENT = "Payment"


@dataclass(frozen=True, slots=True)
class ExportLine:
    """One line: a record's nets in one currency (zeros left out), and its cost there."""

    date: str
    description: str
    category: str
    cost: int
    currency: str
    nets: dict[str, int]


def record_lines(record: Record, category_name: Callable[[str], str]) -> list[ExportLine]:
    """The lines `record` is written as (none when it moves nobody's balance); `category_name`
    turns an expense's category id into the name the file shows."""
    by_currency: dict[str, dict[str, int]] = {}
    for (person, currency), delta in effects(None, record).balances.items():
        by_currency.setdefault(currency, {})[person] = delta
    if isinstance(record, Settlement):
        nets = by_currency.get(record.currency, {})
        description = record.note.strip() or PAYMENT
        return (
            [ExportLine(record.date, description, PAYMENT, record.amount, record.currency, nets)]
            if nets
            else []
        )
    category = category_name(record.category)
    if category.strip().casefold() == PAYMENT.casefold():
        category = "General"  # the reader takes a `Payment` line for a transaction
    lines = []
    for currency, nets in sorted(by_currency.items()):
        lines.append(
            ExportLine(
                record.date, record.description, category, _cost(record, currency, nets), currency, nets
            )
        )
    return lines


def _cost(expense: Expense, currency: str, nets: Mapping[str, int]) -> int:
    """What the line says the record cost in `currency`: its amount, or with its payer's rate the
    exchanged total; for a conversion what those owed something are owed (the least cost those
    nets can have, which reads back as the same nets)."""
    if is_conversion(expense):
        return sum(net for net in nets.values() if net > 0)
    if expense.exchange_rate is not None:
        _, paid, _ = exchanged_sides(expense)
        return sum(paid.values())
    return expense.amount


def columns(names: Mapping[str, str]) -> dict[str, str]:
    """Each person's column heading (person id → name): their name, numbered ` (2)`, ` (3)`, ...
    in id order when names (compared as the reader compares them) repeat; `Person` for none."""
    headings: dict[str, str] = {}
    taken: set[str] = set()
    for person, name in sorted(names.items(), key=lambda item: (normal_person(item[1]), item[0])):
        base = " ".join(name.split())[:190] or "Person"
        heading, number = base, 1
        while normal_person(heading) in taken:
            number += 1
            heading = f"{base} ({number})"
        taken.add(normal_person(heading))
        headings[person] = heading
    return headings


class SplitwiseWriter:
    """Writes the file a line at a time (each `bytes` ready to send), keeping the sums that the
    `Total balance` lines at the end show."""

    def __init__(self, headings: Mapping[str, str]) -> None:
        self._people = sorted(headings, key=lambda person: normal_person(headings[person]))
        self._headings = headings
        self._sums: dict[str, dict[str, int]] = {}

    def header(self) -> bytes:
        return _csv([*HEADER, *(self._headings[person] for person in self._people)])

    def covers(self, line: ExportLine) -> bool:
        """Whether every person the line moves has a column."""
        return all(person in self._headings for person in line.nets)

    def line(self, line: ExportLine) -> bytes:
        held = self._sums.setdefault(line.currency, {})
        for person, net in line.nets.items():
            held[person] = held.get(person, 0) + net
        cells = [
            line.date,
            line.description,
            line.category,
            format_amount(line.cost, line.currency),
            line.currency,
        ]
        return _csv(
            cells + [format_amount(line.nets.get(person, 0), line.currency) for person in self._people]
        )

    def totals(self, on: str) -> bytes:
        """A blank line, then one `Total balance` line per currency the lines moved."""
        rows = [_csv([])]
        for currency, held in sorted(self._sums.items()):
            cells = [on, "Total balance", " ", " ", currency]
            rows.append(
                _csv(cells + [format_amount(held.get(person, 0), currency) for person in self._people])
            )
        return b"".join(rows)


def write_splitwise(
    records: Iterable[Record], names: Mapping[str, str], category_name: Callable[[str], str], on: str
) -> str:
    """The whole file at once (for tests and small groups; the export streams with the writer)."""
    writer = SplitwiseWriter(columns(names))
    parts = [writer.header()]
    parts += [writer.line(line) for record in records for line in record_lines(record, category_name)]
    parts.append(writer.totals(on))
    return b"".join(parts).decode()


def _csv(values: list[str] | tuple[str, ...]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue().encode()
