"""Writing Splitwise's CSV export: what the reader makes of the written file moves every balance as
the records did, to the minor unit, and its Total balance lines check out."""

from __future__ import annotations

import io
from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from domain import Expense, Settlement
from ledger.effects import Record, effects
from ledger.splitwise import balances, check_totals, read_splitwise, rebuild
from ledger.splitwise_export import columns, write_splitwise

PEOPLE = {"u1": "Ann", "u2": "Bo", "u3": "Cy"}
NOW = datetime(2024, 5, 1, tzinfo=timezone.utc)


def expense(paid: dict[str, int], owed: dict[str, int], currency: str = "EUR", **fields: object) -> Expense:
    values: dict[str, object] = {
        "id": "e", "group_id": "g", "description": "Dinner", "amount": sum(paid.values()),
        "currency": currency, "date": "2024-04-02", "category": "groceries", "paid": paid,
        "owed": owed, "split": {"kind": "exact"}, "notes": "", "receipt_id": None,
        "created_by": "u1", "created_at": NOW, "updated_at": NOW, "version": 1, **fields,
    }  # fmt: skip
    return Expense(**values)  # type: ignore[arg-type]


def settlement(payer: str, payee: str, amount: int, currency: str = "EUR") -> Settlement:
    return Settlement(
        id="s", group_id="g", from_user=payer, to_user=payee, amount=amount, currency=currency,
        date="2024-04-03", note="", created_by=payer, created_at=NOW, version=1,
    )  # fmt: skip


def sums(records: list[Record]) -> dict[str, dict[str, int]]:
    """currency → column heading → balance, as the records leave them (zeros left out)."""
    out: dict[str, dict[str, int]] = {}
    for record in records:
        for (person, currency), delta in effects(None, record).balances.items():
            held = out.setdefault(currency, {})
            held[PEOPLE[person]] = held.get(PEOPLE[person], 0) + delta
    kept = {c: {p: a for p, a in held.items() if a} for c, held in sorted(out.items())}
    return {c: held for c, held in kept.items() if held}


def read_back(records: list[Record]) -> dict[str, dict[str, int]]:
    text = write_splitwise(records, PEOPLE, lambda c: c.title(), "2024-05-01")
    file = read_splitwise(io.StringIO(text, newline=""))
    check_totals(file)
    assert {t.currency for t in file.totals} == {line.currency for line in file.lines}
    for line in file.lines:
        if line.kind == "expense":
            paid, owed = rebuild(line)  # every line is one the reader can rebuild
            assert sum(paid.values()) == sum(owed.values()) == line.cost
    return balances(file)


@st.composite
def records(draw: st.DrawFn) -> Record:
    currency = draw(st.sampled_from(["EUR", "JPY", "KWD"]))
    people = list(PEOPLE)
    if draw(st.booleans()):
        payer, payee = draw(st.permutations(people))[:2]
        return settlement(payer, payee, draw(st.integers(1, 10**9)), currency)
    payers = draw(st.lists(st.sampled_from(people), min_size=1, max_size=3, unique=True))
    paid = {p: draw(st.integers(1, 10**7)) for p in payers}
    total = sum(paid.values())
    owers = draw(st.lists(st.sampled_from(people), min_size=1, max_size=3, unique=True))
    cuts = sorted(draw(st.lists(st.integers(0, total), min_size=len(owers) - 1, max_size=len(owers) - 1)))
    shares = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
    return expense(paid, dict(zip(owers, shares, strict=True)), currency)


@settings(max_examples=200, deadline=None)
@given(st.lists(records(), max_size=12))
def test_what_the_file_reads_back_is_what_the_records_moved(written: list[Record]) -> None:
    assert read_back(written) == sums(written)


def test_an_exchanged_expense_is_written_where_its_balances_moved() -> None:
    hotel = expense(
        {"u2": 10_000}, {"u1": 3_334, "u2": 6_666}, "USD", exchange_rate="0.9", exchange_currency="EUR"
    )
    text = write_splitwise([hotel], PEOPLE, str, "2024-05-01")
    line = text.splitlines()[1]
    assert line.startswith("2024-04-02,Dinner,groceries,90.00,EUR,"), line
    assert read_back([hotel]) == sums([hotel]) == {"EUR": {"Ann": -3001, "Bo": 3001}}


def test_a_conversion_is_a_line_per_currency_it_moved() -> None:
    moves = [
        {"user_id": "u1", "currency": "USD", "amount": "-5.00"},
        {"user_id": "u2", "currency": "USD", "amount": "5.00"},
        {"user_id": "u1", "currency": "EUR", "amount": "4.50"},
        {"user_id": "u2", "currency": "EUR", "amount": "-4.50"},
    ]
    conversion = expense(
        {}, {}, "EUR", amount=0, split={"kind": "conversion", "on": "2024-04-02", "rates": [], "moves": moves}
    )
    lines = write_splitwise([conversion], PEOPLE, str, "2024-05-01").splitlines()
    assert [line.split(",")[3:5] for line in lines[1:3]] == [["4.50", "EUR"], ["5.00", "USD"]]
    assert read_back([conversion]) == sums([conversion])


def test_columns_keep_names_apart_as_the_reader_compares_them() -> None:
    assert columns({"b": "Ann  Lee", "a": "ann lee", "c": "", "d": "Bo"}) == {
        "c": "Person",
        "a": "ann lee",
        "b": "Ann Lee (2)",
        "d": "Bo",
    }


def test_what_the_reader_would_mistake_is_written_apart() -> None:
    """(From review.) An expense called "Total balance" is not a total; a note of spaces is no
    description; an expense in a category called "Payment" is not a payment."""
    total = expense({"u1": 500}, {"u2": 500}, description="Total balance")
    payment = expense({"u1": 700}, {"u2": 300, "u3": 400}, category="payment")
    paid = settlement("u2", "u1", 300)
    blank = Settlement(
        id="s2", group_id="g", from_user="u3", to_user="u1", amount=100, currency="EUR",
        date="2024-04-03", note="   ", created_by="u3", created_at=NOW, version=1,
    )  # fmt: skip
    records: list[Record] = [total, payment, paid, blank]
    text = write_splitwise(records, PEOPLE, lambda c: c.title(), "2024-05-01")
    file = read_splitwise(io.StringIO(text, newline=""))
    assert [(line.description, line.kind) for line in file.lines] == [
        ("Total balance", "expense"),
        ("Dinner", "expense"),
        ("Payment", "payment"),
        ("Payment", "payment"),
    ]
    assert read_back(records) == sums(records)
