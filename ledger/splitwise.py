"""Splitwise's CSV export, read (pure): what each line moves, in minor units, exactly.

The file Splitwise writes ("Export as spreadsheet") has a header `Date,Description,Category,
Cost,Currency,<person>,<person>,...`, then one line per expense or payment with each person's net
in it (positive: the others owe them that much more; the columns add up to zero), blank lines, and
at the end one `Total balance` line per currency with each person's balance, which is a check on
the lines above, not a record. A payment is a line whose category is `Payment`.

Splitwise keeps only the nets, not who paid what, so an expense is rebuilt as the simplest one
with exactly those nets and its cost: the people owed something paid it (their net, plus their own
part of what is left, `cost - sum of positive nets`, shared in proportion to their nets by largest
remainder), and everyone owing something owes it. Balances come out exactly as in the file.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Literal

from domain import Invalid
from ledger.allocation import MAX_PARTICIPANTS, allocate_largest_remainder
from ledger.currencies import CURRENCY_EXPONENTS
from ledger.money import MAX_MINOR_UNITS, format_amount

MAX_ROWS = 10_000
"""Lines one import may hold (expenses and payments; blank and total lines not counted)."""
MAX_CELL_CHARS = 1_000
_HEAD = ("date", "description", "category", "cost", "currency")
_PAYMENT = "payment"
_TOTAL = "total balance"
_NUMBER = re.compile(r"-?\d+(?:\.(\d+))?")


@dataclass(frozen=True, slots=True)
class Line:
    """One expense or payment line: its line number in the file (1 is the header), and what it
    says. `nets` (person → minor units, zeros left out) add up to zero."""

    line: int
    kind: Literal["expense", "payment"]
    date: str
    description: str
    category: str
    cost: int
    currency: str
    nets: dict[str, int]


@dataclass(frozen=True, slots=True)
class Total:
    """A `Total balance` line: each person's balance in `currency` (zeros left out)."""

    line: int
    currency: str
    balances: dict[str, int]


@dataclass(frozen=True, slots=True)
class SplitwiseFile:
    people: tuple[str, ...]
    lines: tuple[Line, ...]
    totals: tuple[Total, ...]


def read_splitwise(text_lines: Iterable[str]) -> SplitwiseFile:
    """Read the whole file (lines as decoded, with their line ends); `Invalid` (code
    `import_file`, details `line`) naming the first line that is not as Splitwise writes it."""
    reader = csv.reader(_without_bom(text_lines), strict=True)
    try:
        header = next(reader, None)
        people = _people(header)
        lines: list[Line] = []
        totals: list[Total] = []
        for row in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(people) + len(_HEAD):
                extra = [cell for cell in row[len(people) + len(_HEAD) :] if cell.strip()]
                if extra:
                    raise broken(number, f"has {len(row)} columns; the header has {len(people) + 5}")
            row = row + [""] * (len(people) + len(_HEAD) - len(row))
            if any(len(cell) > MAX_CELL_CHARS for cell in row):
                raise broken(number, f"has a cell longer than {MAX_CELL_CHARS} characters")
            # Splitwise leaves a total's Cost blank; an expense that is called so has one.
            if row[1].strip().casefold() == _TOTAL and not row[3].strip():
                totals.append(_total(number, row, people))
                continue
            if len(lines) >= MAX_ROWS:
                raise broken(number, f"is past the {MAX_ROWS:,} expenses and payments one import may hold")
            lines.append(_line(number, row, people))
    except csv.Error as exc:
        raise broken(reader.line_num, f"is not CSV ({exc})") from None
    return SplitwiseFile(tuple(people), tuple(lines), tuple(totals))


def rebuild(line: Line) -> tuple[dict[str, int], dict[str, int]]:
    """(paid, owed) of an expense line, each summing to its cost, whose nets are the line's."""
    owed_to = {person: net for person, net in line.nets.items() if net > 0}
    left = line.cost - sum(owed_to.values())
    own = allocate_largest_remainder(left, owed_to)
    paid = {person: net + own[person] for person, net in owed_to.items()}
    owed = {person: share for person, share in own.items() if share}
    owed.update({person: -net for person, net in line.nets.items() if net < 0})
    return paid, owed


def payment_sides(line: Line) -> tuple[str, str]:
    """(from, to) of a payment line: who paid (their balance goes up) and who was paid."""
    (payer,) = [person for person, net in line.nets.items() if net > 0]
    (payee,) = [person for person, net in line.nets.items() if net < 0]
    return payer, payee


def broken(line: int | None, problem: str) -> Invalid:
    where = f"line {line}: " if line is not None else ""
    return Invalid(
        f"import file: {where}{problem}", code="import_file", details={"line": line, "problem": problem}
    )


def normal_person(name: str) -> str:
    """A person's name as matched: Unicode NFKC, case folded, inner spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def _without_bom(text_lines: Iterable[str]) -> Iterator[str]:
    first = True
    for text in text_lines:
        if first:
            text, first = text.removeprefix("\ufeff"), False
        yield text


def _people(header: list[str] | None) -> list[str]:
    if header is None:
        raise broken(1, "the file is empty")
    head = [cell.strip().casefold() for cell in header[: len(_HEAD)]]
    if tuple(head) != _HEAD:
        raise broken(1, "is not a Splitwise export: it must start Date,Description,Category,Cost,Currency")
    people = [cell.strip() for cell in header[len(_HEAD) :]]
    while people and not people[-1]:
        people.pop()
    if not people:
        raise broken(1, "names nobody after the Currency column")
    if len(people) > MAX_PARTICIPANTS:
        raise broken(1, f"names {len(people)} people; a group has at most {MAX_PARTICIPANTS} members")
    seen: set[str] = set()
    for person in people:
        if not person or len(person) > 200:
            raise broken(1, "has a person's column without a name (or with one over 200 characters)")
        if normal_person(person) in seen:
            raise broken(1, f"names {person!r} twice")
        seen.add(normal_person(person))
    return people


def _line(number: int, row: list[str], people: list[str]) -> Line:
    day = _date(number, row[0])
    description = " ".join(row[1].split())
    if not description:
        raise broken(number, "has no description")
    currency = _currency(number, row[4])
    cost = _amount(number, row[3], currency, "Cost")
    nets = _nets(number, row, people, currency)
    kind: Literal["expense", "payment"] = "payment" if row[2].strip().casefold() == _PAYMENT else "expense"
    if cost < 0:
        raise broken(number, f"has a negative cost ({row[3].strip()})")
    owed_to = sum(net for net in nets.values() if net > 0)
    if kind == "payment":
        positive = [net for net in nets.values() if net > 0]
        negative = [net for net in nets.values() if net < 0]
        if len(positive) != 1 or len(negative) != 1 or positive[0] != cost:
            raise broken(number, "is a payment, but not of its cost from one person to another")
    elif owed_to > cost:
        raise broken(
            number,
            f"costs {format_amount(cost, currency)} but its people are owed "
            f"{format_amount(owed_to, currency)}",
        )
    return Line(number, kind, day, description[:200], row[2].strip(), cost, currency, nets)


def _total(number: int, row: list[str], people: list[str]) -> Total:
    currency = _currency(number, row[4])
    return Total(number, currency, _nets(number, row, people, currency))


def _nets(number: int, row: list[str], people: list[str], currency: str) -> dict[str, int]:
    nets: dict[str, int] = {}
    for person, cell in zip(people, row[len(_HEAD) :], strict=False):
        if cell.strip():
            net = _amount(number, cell, currency, person)
            if net:
                nets[person] = net
    total = sum(nets.values())
    if total:
        raise broken(number, f"its people's columns add up to {format_amount(total, currency)}, not zero")
    return nets


def _date(number: int, text: str) -> str:
    try:
        return date.fromisoformat(text.strip()[:10]).isoformat()
    except ValueError:
        raise broken(number, f"{text.strip()[:40]!r} is not a date (YYYY-MM-DD)") from None


def _currency(number: int, text: str) -> str:
    code = text.strip().upper()
    if code not in CURRENCY_EXPONENTS:
        raise broken(number, f"{text.strip()[:8]!r} is not an ISO 4217 currency code")
    return code


def _amount(number: int, text: str, currency: str, column: str) -> int:
    """Minor units of a plain decimal, as Splitwise writes them (it may add zeros past the
    currency's own decimals, `1000.0` yen; digits that are not zeros there are refused)."""
    text = text.strip()
    match = _NUMBER.fullmatch(text)
    places = CURRENCY_EXPONENTS[currency]
    if match is None:
        raise broken(number, f"{column}: {text[:40]!r} is not a decimal amount")
    whole, _, fraction = text.lstrip("-").partition(".")
    if fraction[places:].strip("0"):
        raise broken(number, f"{column}: {text!r} has more decimals than {currency} has ({places})")
    minor = int(whole + (fraction[:places]).ljust(places, "0"))
    if minor > MAX_MINOR_UNITS:
        raise broken(number, f"{column}: {text[:40]!r} is larger than any amount may be")
    return -minor if text.startswith("-") else minor


def balances(file: SplitwiseFile) -> dict[str, dict[str, int]]:
    """currency → person → what the file's lines add up to (zeros left out)."""
    sums: dict[str, dict[str, int]] = {}
    for line in file.lines:
        held = sums.setdefault(line.currency, {})
        for person, net in line.nets.items():
            held[person] = held.get(person, 0) + net
    kept = {c: {p: a for p, a in held.items() if a} for c, held in sorted(sums.items())}
    return {c: held for c, held in kept.items() if held}


def check_totals(file: SplitwiseFile) -> None:
    """`Invalid` (the `Total balance` line) unless each total line says what the lines add up to."""
    sums = balances(file)
    for total in file.totals:
        found = sums.get(total.currency, {})
        for person in file.people:
            want, got = total.balances.get(person, 0), found.get(person, 0)
            if want != got:
                raise broken(
                    total.line,
                    f"the Total balance says {person} holds {format_amount(want, total.currency)} "
                    f"{total.currency}, but the lines above add up to {format_amount(got, total.currency)}",
                )
