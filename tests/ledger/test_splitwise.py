"""Reading Splitwise's CSV export: each line's nets, exactly; an expense rebuilt with those nets
and its cost; payments; the Total balance lines as checks; every broken line named."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import Invalid
from ledger.money import format_amount
from ledger.splitwise import balances, check_totals, payment_sides, read_splitwise, rebuild

PEOPLE = ["Ann Lee", "Bo", "Cy Dee"]


def written(rows: list[list[str]], people: list[str] = PEOPLE) -> io.StringIO:
    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow(["Date", "Description", "Category", "Cost", "Currency", *people])
    out.writerow([])
    for row in rows:
        out.writerow(row)
    return io.StringIO(buffer.getvalue(), newline="")


@st.composite
def lines(draw: st.DrawFn) -> tuple[int, dict[str, int], str]:
    """(cost, nets, currency) as a Splitwise line holds them: nets summing to zero, the people
    owed something owed at most the cost."""
    currency = draw(st.sampled_from(["EUR", "JPY", "KWD"]))
    owing = draw(st.lists(st.integers(0, 10**7), min_size=len(PEOPLE), max_size=len(PEOPLE)))
    creditors = draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=3, unique=True))
    nets = {p: -owing[i] for i, p in enumerate(PEOPLE) if p not in creditors}
    total_owed = -sum(nets.values())
    if total_owed == 0:
        nets = {creditors[0]: 0}
    weights = {p: draw(st.integers(1, 5)) for p in creditors}
    parts = {p: total_owed * w // sum(weights.values()) for p, w in weights.items()}
    parts[creditors[0]] += total_owed - sum(parts.values())
    nets.update(parts)
    cost = total_owed + draw(st.integers(0, 10**6))
    return cost, {p: n for p, n in nets.items() if n}, currency


@settings(max_examples=200, deadline=None)
@given(st.lists(lines(), min_size=1, max_size=8))
def test_rebuilt_expenses_have_the_lines_nets_and_cost(drawn: list[tuple[int, dict[str, int], str]]) -> None:
    rows = []
    for n, (cost, nets, currency) in enumerate(drawn):
        cells = [format_amount(nets.get(p, 0), currency) for p in PEOPLE]
        rows.append(
            [f"2024-01-{1 + n:02d}", f"thing {n}", "General", format_amount(cost, currency), currency, *cells]
        )
    sums: dict[str, dict[str, int]] = {}
    for _cost, nets, currency in drawn:
        for p, net in nets.items():
            sums.setdefault(currency, {})[p] = sums.get(currency, {}).get(p, 0) + net
    for currency, held in sorted(sums.items()):
        rows.append(
            [
                "",
                "Total balance",
                "",
                "",
                currency,
                *(format_amount(held.get(p, 0), currency) for p in PEOPLE),
            ]
        )
    file = read_splitwise(written(rows))
    check_totals(file)
    assert [(line.cost, line.nets, line.currency) for line in file.lines] == drawn
    for line in file.lines:
        if not line.nets:
            continue
        paid, owed = rebuild(line)
        assert sum(paid.values()) == sum(owed.values()) == line.cost
        assert all(v > 0 for v in paid.values()) and all(v > 0 for v in owed.values())
        people = set(paid) | set(owed)
        assert {
            p: paid.get(p, 0) - owed.get(p, 0) for p in people if paid.get(p, 0) != owed.get(p, 0)
        } == line.nets
    expected = {c: {p: a for p, a in held.items() if a} for c, held in sorted(sums.items())}
    assert balances(file) == {c: held for c, held in expected.items() if held}


def test_a_payment_goes_from_the_person_whose_balance_rises() -> None:
    file = read_splitwise(written([["2024-01-02", "Payment", "Payment", "5.00", "EUR", "5.00", "-5.00", ""]]))
    (line,) = file.lines
    assert line.kind == "payment" and payment_sides(line) == ("Ann Lee", "Bo")


def test_decimals_past_the_currencys_own_are_read_when_they_are_zeros() -> None:
    file = read_splitwise(
        written([["2024-01-02", "Sushi", "Dining out", "1000.0", "JPY", "500.00", "-500", ""]])
    )
    assert file.lines[0].cost == 1000 and file.lines[0].nets == {"Ann Lee": 500, "Bo": -500}


@pytest.mark.parametrize(
    ("header", "row", "line", "says"),
    [
        ("Date,Description,Category,Cost", None, 1, "must start"),
        ("Date,Description,Category,Cost,Currency", None, 1, "names nobody"),
        ("Date,Description,Category,Cost,Currency,Al,al", None, 1, "twice"),
        (None, ["2024-01-02", "", "General", "1.00", "EUR", "1.00", "-1.00", ""], 3, "no description"),
        (None, ["2024-01-02", "x", "General", "-1.00", "EUR", "1.00", "-1.00", ""], 3, "negative cost"),
        (None, ["2024-01-02", "x", "Payment", "2.00", "EUR", "1.00", "-1.00", ""], 3, "payment"),
        (None, ["2024-01-02", "x", "General", "1.00", "EUR", "1.00", "-1.00", "", "9"], 3, "columns"),
        (None, ["2024-01-02", "x", "General", "1e3", "EUR", "", "", ""], 3, "not a decimal"),
    ],
)
def test_broken_files_name_the_line(header: str | None, row: list[str] | None, line: int, says: str) -> None:
    text = written([row] if row else []) if header is None else io.StringIO(header + "\n", newline="")
    with pytest.raises(Invalid) as refused:
        read_splitwise(text)
    assert refused.value.code == "import_file"
    assert refused.value.details == {"line": line, "problem": refused.value.details["problem"]}
    assert says in str(refused.value), refused.value


def test_a_total_that_disagrees_is_refused_on_its_line() -> None:
    file = read_splitwise(
        written(
            [
                ["2024-01-02", "x", "General", "3.00", "EUR", "2.00", "-1.00", "-1.00"],
                ["", "Total balance", "", "", "EUR", "2.00", "-2.00", "0.00"],
            ]
        )
    )
    with pytest.raises(Invalid) as refused:
        check_totals(file)
    assert refused.value.details["line"] == 4 and "Bo" in str(refused.value)
