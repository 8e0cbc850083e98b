"""The files an import reads, as drafts: Splitwise's CSV export and this project's own JSON
export (`GET .../export?format=json`), each turned into the records it would make, with the
file's own names for people (a Splitwise column, an export's user id) still in place."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from domain import Invalid
from ledger import parse_amount, parse_currency
from ledger.conversion import CONVERSION
from ledger.money import format_amount, invalid
from ledger.splitwise import MAX_ROWS, check_totals, payment_sides, read_splitwise, rebuild
from services.expenses import exchange_of
from services.records import parse_date

Format = Literal["splitwise", "expense_tracker"]
RecordKind = Literal["expense", "transaction"]


@dataclass(frozen=True, slots=True)
class FilePerson:
    """Someone the file names: `key` is how its records name them."""

    key: str
    name: str
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Draft:
    """One record the file makes, its people still the file's keys. `source` identifies it within
    the file (the same line content, or the exported record's id), so that its id can be drawn
    from it and a second import of the file finds it there."""

    where: str
    line: int | None
    kind: RecordKind
    source: str
    date: str
    description: str
    category: str
    amount: int
    currency: str
    paid: dict[str, int] = field(default_factory=dict)
    owed: dict[str, int] = field(default_factory=dict)
    notes: str = ""
    moves: tuple[dict[str, str], ...] = ()
    """A recorded conversion's moves (`ledger.conversion`), with the file's keys as user ids."""
    conversion: dict[str, Any] | None = None
    """A recorded conversion's split without its moves (`currency`, `on`, `rates`)."""
    exchange_rate: str | None = None
    exchange_currency: str | None = None
    from_key: str = ""
    to_key: str = ""
    exported: tuple[str, str] | None = None
    """(group id, record id) of an exported record: back in the group it came from, it keeps its
    id, so importing a group's own export into it makes nothing."""

    @property
    def people(self) -> set[str]:
        found = set(self.paid) | set(self.owed) | {m["user_id"] for m in self.moves}
        return found | ({self.from_key, self.to_key} if self.kind == "transaction" else set())


@dataclass(frozen=True, slots=True)
class Skipped:
    where: str
    line: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class ReadFile:
    format: Format
    people: tuple[FilePerson, ...]
    drafts: tuple[Draft, ...]
    skipped: tuple[Skipped, ...]
    checked: tuple[int, ...]
    """The lines of the file's own totals that the records were checked against."""


def read_csv(lines: Iterable[str]) -> ReadFile:
    """A Splitwise export; `Invalid` (`import_file`, with the line) for anything else."""
    file = read_splitwise(lines)
    check_totals(file)
    drafts: list[Draft] = []
    skipped: list[Skipped] = []
    seen: dict[str, int] = {}
    for line in file.lines:
        where = f"line {line.line}"
        content = "\x1f".join(
            [line.date, line.description, line.category, str(line.cost), line.currency]
            + [f"{person}={net}" for person, net in sorted(line.nets.items())]
        )
        seen[content] = seen.get(content, 0) + 1
        source = f"{content}\x1e{seen[content]}"  # the n-th line with this content
        if not line.nets:
            skipped.append(Skipped(where, line.line, "moves nobody's balance"))
            continue
        common: dict[str, Any] = {
            "where": where,
            "line": line.line,
            "source": source,
            "date": line.date,
            "description": line.description,
            "currency": line.currency,
            "amount": line.cost,
        }
        if line.kind == "payment":
            payer, payee = payment_sides(line)
            drafts.append(Draft(kind="transaction", category="", from_key=payer, to_key=payee, **common))
        else:
            paid, owed = rebuild(line)
            drafts.append(Draft(kind="expense", category=line.category, paid=paid, owed=owed, **common))
    people = tuple(FilePerson(person, person) for person in file.people)
    return ReadFile("splitwise", people, tuple(drafts), tuple(skipped), tuple(t.line for t in file.totals))


def read_json(data: Any) -> ReadFile:
    """This project's own export; `Invalid` (the field's path) for anything else."""
    if not isinstance(data, dict) or not isinstance(data.get("expenses"), list):
        raise invalid("file", 'is not an export of this server: no "expenses" list')
    transactions = data.get("transactions", [])
    users = data.get("users", {})
    if not isinstance(transactions, list) or not isinstance(users, dict):
        raise invalid("file", '"transactions" must be a list and "users" an object')
    if len(data["expenses"]) + len(transactions) > MAX_ROWS:
        raise invalid("file", f"holds more than the {MAX_ROWS:,} records one import may hold")
    origin = str(data.get("group_id", ""))
    drafts = [_json_expense(item, index, origin) for index, item in enumerate(data["expenses"])]
    drafts += [_json_transaction(item, index, origin) for index, item in enumerate(transactions)]
    first: dict[str, str] = {}
    for draft in drafts:
        if draft.source in first:
            raise invalid(draft.where, f"repeats the record of {first[draft.source]}")
        first[draft.source] = draft.where
    keys = sorted(set().union(*(d.people for d in drafts)) if drafts else set())
    people = []
    for key in keys:
        known = users.get(key)
        known = known if isinstance(known, dict) else {}
        name = known.get("name") if isinstance(known.get("name"), str) else key
        email = known.get("email") if isinstance(known.get("email"), str) else None
        people.append(FilePerson(key, str(name), email))
    return ReadFile("expense_tracker", tuple(people), tuple(drafts), (), ())


def _json_expense(item: Any, index: int, origin: str) -> Draft:
    where = f"expenses[{index}]"
    if not isinstance(item, dict):
        raise invalid(where, "must be an expense object")
    try:
        currency = parse_currency(item.get("currency"), field=f"{where}.currency")
        split: dict[str, Any] = item["split"] if isinstance(item.get("split"), dict) else {}
        converts = split.get("kind") == CONVERSION
        amount = parse_amount(item.get("amount"), currency, field=f"{where}.amount", allow_zero=converts)
        paid = _shares(item.get("payers"), currency, f"{where}.payers", empty=converts)
        owed = _shares(item.get("shares"), currency, f"{where}.shares", empty=converts)
        if sum(paid.values()) != amount or sum(owed.values()) != amount:
            raise invalid(where, "its payers and shares must each add up to its amount")
        moves: tuple[dict[str, str], ...] = ()
        conversion = None
        if converts:
            moves = tuple(_move(m, f"{where}.split.moves") for m in _list(split.get("moves"), where))
            _check_moves(moves, currency, f"{where}.split.moves")
            conversion = {
                "kind": CONVERSION,
                "currency": currency,
                "on": _date(split.get("on"), f"{where}.split.on"),
                "rates": _rates(split.get("rates"), f"{where}.split.rates"),
            }
        rate, target = item.get("exchange_rate"), item.get("exchange_currency")
        if rate is not None:
            target = parse_currency(target, field=f"{where}.exchange_currency")
            try:
                rate, target = exchange_of(rate, currency, target, amount)
            except Invalid as refused:
                raise invalid(f"{where}.exchange_rate", str(refused)) from None
        exported_id = _text(item.get("id"), where, "id", 64)
        return Draft(
            where=where,
            line=None,
            kind="expense",
            source=f"{origin}\x1fexpense\x1f{exported_id}",
            exported=(origin, exported_id),
            date=_date(item.get("date"), f"{where}.date"),
            description=_text(item.get("description"), where, "description", 200),
            category=item["category"] if isinstance(item.get("category"), str) else "",
            amount=amount,
            currency=currency,
            paid=paid,
            owed=owed,
            notes=_text(item.get("notes", ""), where, "notes", 2000, empty=True),
            moves=moves,
            conversion=conversion,
            exchange_rate=rate,
            exchange_currency=target if rate is not None else None,
        )
    except Invalid:
        raise
    except (TypeError, ValueError, KeyError) as exc:
        raise invalid(where, f"is not an expense as the export writes it ({exc})") from None


def _json_transaction(item: Any, index: int, origin: str) -> Draft:
    where = f"transactions[{index}]"
    if not isinstance(item, dict):
        raise invalid(where, "must be a transaction object")
    currency = parse_currency(item.get("currency"), field=f"{where}.currency")
    from_key = _text(item.get("from_user"), where, "from_user", 64)
    to_key = _text(item.get("to_user"), where, "to_user", 64)
    if from_key == to_key:
        raise invalid(where, "is from someone to themselves")
    exported_id = _text(item.get("id"), where, "id", 64)
    return Draft(
        where=where,
        line=None,
        kind="transaction",
        source=f"{origin}\x1ftransaction\x1f{exported_id}",
        exported=(origin, exported_id),
        date=_date(item.get("date"), f"{where}.date"),
        description=_text(item.get("note", ""), where, "note", 500, empty=True),
        category="",
        amount=parse_amount(item.get("amount"), currency, field=f"{where}.amount"),
        currency=currency,
        from_key=from_key,
        to_key=to_key,
    )


def _shares(value: Any, currency: str, where: str, *, empty: bool = False) -> dict[str, int]:
    """An export's `payers` or `shares`: user id → minor units (a share may be zero, and a
    conversion's lists may be `empty`)."""
    if not isinstance(value, list) or not (value or empty):
        raise invalid(where, 'must be a list of {"user_id", "amount"} objects')
    shares: dict[str, int] = {}
    for index, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise invalid(f"{where}[{index}]", 'must be an object with "user_id" and "amount"')
        user = _text(entry.get("user_id"), f"{where}[{index}]", "user_id", 64)
        shares[user] = shares.get(user, 0) + parse_amount(
            entry.get("amount"), currency, field=f"{where}[{index}].amount", allow_zero=True
        )
    return shares


def _move(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise invalid(where, 'must hold {"user_id", "currency", "amount"} objects')
    currency = parse_currency(value.get("currency"), field=f"{where}.currency")
    amount = parse_amount(value.get("amount"), currency, field=where, allow_zero=True, allow_negative=True)
    return {
        "user_id": _text(value.get("user_id"), where, "user_id", 64),
        "currency": currency,
        "amount": format_amount(amount, currency),
    }


def _check_moves(moves: tuple[dict[str, str], ...], currency: str, where: str) -> None:
    """A conversion's moves as `ledger.conversion` writes them: one per member and currency, none
    in the conversion's own currency, each currency's summing to zero."""
    sums: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    for move in moves:
        key = (move["user_id"], move["currency"])
        if key in seen or move["currency"] == currency:
            raise invalid(where, "a conversion moves each member once per other currency")
        seen.add(key)
        amount = parse_amount(
            move["amount"], move["currency"], field=where, allow_zero=True, allow_negative=True
        )
        sums[move["currency"]] = sums.get(move["currency"], 0) + amount
    if any(sums.values()):
        raise invalid(where, "a conversion's moves in each currency must add up to zero")


def _rates(value: Any, where: str) -> list[dict[str, str]]:
    """A conversion's rates as `services.rates.used_rate_json` writes them: a short list of
    objects of short strings."""
    items = _list(value, where)
    if len(items) > 64 or not all(
        isinstance(r, dict) and len(r) <= 8 and all(isinstance(v, str) and len(v) <= 40 for v in r.values())
        for r in items
    ):
        raise invalid(where, "must list at most 64 rates, each an object of short strings")
    return items


def _date(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) != 10:
        raise invalid(where, "must be a date, YYYY-MM-DD")
    return parse_date(value, where)


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise invalid(where, "a conversion's split must list its moves and rates")
    return value


def _text(value: Any, where: str, name: str, longest: int, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()) or len(value) > longest:
        raise invalid(
            f"{where}.{name}", f"must be a {'' if empty else 'non-empty '}string of at most {longest}"
        )
    return value


def record_id(group_id: str, file_format: Format, source: str) -> str:
    """The id an imported record gets: drawn from the group, the file's kind and the record's
    `source`, so importing the same file again names the same records (32 hex digits, as every id)."""
    digest = hashlib.sha256(f"{group_id}\x1d{file_format}\x1d{source}".encode()).hexdigest()
    return digest[:32]


def people_in(drafts: Iterable[Draft]) -> set[str]:
    return set().union(*(d.people for d in drafts))
