"""The ECB's euro foreign exchange reference rates, read from the formats it publishes.

- XML (`eurofxref-daily.xml`, `eurofxref-hist.xml`): `<Cube time="2024-01-04">` holding
  `<Cube currency="USD" rate="1.0953"/>`, in the `gesmes:Envelope`.
- CSV (`eurofxref.csv`, `eurofxref-hist.csv`): a `Date` column, then one column per currency;
  dates as `2024-01-04` or `04 January 2024`, `N/A` where a currency has no rate that day, and a
  trailing comma on every line.

Rates are kept as the decimal strings published (each checked with `ledger.conversion.parse_rate`).
Currencies that are not active ISO 4217 codes (the ECB's history has CYP, DEM and friends) are
skipped and reported, as is the euro itself (always 1). A file that is not one of these formats is
refused with the line that broke it; nothing of a broken file is used.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from domain import Invalid
from domain.rates import BASE_CURRENCY, RateQuote, RateSource
from ledger.conversion import parse_rate
from ledger.currencies import is_currency

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Far above the ECB's whole history as XML (about 10 MB): the import and the feed read no more."""
MAX_QUOTES = 1_000_000
"""More than the ECB's whole history since 1999 (about 200,000): a bigger file is not rates."""

_CODE = re.compile(r"[A-Z]{3}", re.ASCII)
_MISSING = {"", "N/A", "NA", "-"}


@dataclass(frozen=True, slots=True)
class ParsedRates:
    quotes: list[RateQuote]
    skipped: list[str]
    """Currency codes seen but not kept (not active ISO 4217, or the euro), sorted."""

    @property
    def days(self) -> list[str]:
        return sorted({quote.on for quote in self.quotes})


def parse_rates(data: bytes | str, source: RateSource) -> ParsedRates:
    """The quotes in an ECB XML or CSV file (told apart by its first character)."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise _broken(None, "is not UTF-8 text") from None
    else:
        text = data.removeprefix("\ufeff")
    rows = _xml_rows(text) if text.lstrip().startswith("<") else _csv_rows(text)
    kept: dict[tuple[str, str], RateQuote] = {}
    skipped: set[str] = set()
    for line, day, currency, rate in rows:
        if not _CODE.fullmatch(currency):
            raise _broken(line, f"{currency!r} is not a currency code")
        if currency == BASE_CURRENCY or not is_currency(currency):
            skipped.add(currency)
            continue
        if rate.strip() in _MISSING:
            continue
        try:
            parse_rate(rate.strip())
        except Invalid:
            raise _broken(line, f"{currency} on {day}: {rate!r} is not a positive decimal rate") from None
        kept[(currency, day)] = RateQuote(currency, day, rate.strip(), source)
        if len(kept) > MAX_QUOTES:
            raise _broken(line, f"more than {MAX_QUOTES} rates")
    if not kept:
        raise _broken(None, "holds no exchange rates")
    return ParsedRates(sorted(kept.values(), key=lambda q: (q.on, q.currency)), sorted(skipped))


_Row = tuple[int | None, str, str, str]
"""(line, day, currency, rate) as read, before checking."""


def _xml_rows(text: str) -> Iterator[_Row]:
    try:
        root = ET.fromstring(text)  # expat >= 2.4 refuses entity expansion bombs
    except ET.ParseError as exc:
        raise _broken(exc.position[0], "is not well-formed XML") from None
    found = False
    for day_cube in root.iter():
        if _local(day_cube.tag) != "Cube" or "time" not in day_cube.attrib:
            continue
        found = True
        day = _day(day_cube.attrib["time"], None)
        for cube in day_cube:
            if _local(cube.tag) == "Cube" and "currency" in cube.attrib:
                yield None, day, cube.attrib["currency"].strip(), cube.attrib.get("rate", "")
    if not found:
        raise _broken(None, "is XML, but has no <Cube time=...> of ECB reference rates")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _csv_rows(text: str) -> Iterator[_Row]:
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    try:
        header = next(reader, None)
        if not header or header[0].strip().lower() != "date":
            raise _broken(1, "is neither ECB XML nor CSV with a first column named Date")
        currencies = [cell.strip().upper() for cell in header[1:]]
        while currencies and not currencies[-1]:  # the ECB ends every line with a comma
            currencies.pop()
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            day = _day(row[0], line)
            cells = row[1:]
            extra = [cell for cell in cells[len(currencies) :] if cell.strip()]
            if extra:
                raise _broken(line, f"has more rates than its {len(currencies)} currency columns")
            for currency, rate in zip(currencies, cells, strict=False):
                if currency:
                    yield line, day, currency, rate
    except csv.Error as exc:
        raise _broken(reader.line_num, f"is not CSV ({exc})") from None


def _day(text: str, line: int | None) -> str:
    """An ISO date from `2024-01-04` or `04 January 2024`."""
    text = text.strip()
    for layout in ("%Y-%m-%d", "%d %B %Y"):  # %B is English: the server runs in the C locale
        try:
            return datetime.strptime(text, layout).date().isoformat()
        except ValueError:
            continue
    raise _broken(line, f"{text!r} is not a date")


def _broken(line: int | None, problem: str) -> Invalid:
    where = f"line {line}: " if line is not None else ""
    return Invalid(
        f"exchange rates file: {where}{problem}",
        code="rates_file",
        details={"line": line, "problem": problem},
    )
