"""Reading the ECB's reference rates in each format it publishes, and refusing what is not one."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import Invalid
from domain.rates import RateQuote
from ledger.ecb import parse_rates

DAILY_XML = """<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
\t<gesmes:subject>Reference rates</gesmes:subject>
\t<gesmes:Sender>
\t\t<gesmes:name>European Central Bank</gesmes:name>
\t</gesmes:Sender>
\t<Cube>
\t\t<Cube time='2024-01-04'>
\t\t\t<Cube currency='USD' rate='1.0953'/>
\t\t\t<Cube currency='JPY' rate='155.92'/>
\t\t\t<Cube currency='IDR' rate='16985.18'/>
\t\t</Cube>
\t</Cube>
</gesmes:Envelope>
"""
HISTORY_XML = DAILY_XML.replace(
    "\t</Cube>\n</gesmes",
    "\t\t<Cube time='2008-01-02'><Cube currency='USD' rate='1.4717'/><Cube currency='CYP' rate='0.585274'/>"
    "</Cube>\n\t</Cube>\n</gesmes",
)
DAILY_CSV = "Date, USD, JPY, BGN, \n04 January 2024, 1.0953, 155.92, 1.9558, \n"
HISTORY_CSV = (
    "Date,USD,JPY,CYP,BGN,\n"
    "2024-01-04,1.0953,155.92,N/A,1.9558,\n"
    "2024-01-03,1.0919,155.11,N/A,1.9558,\n"
    "2008-01-02,1.4717,163.43,0.585274,N/A,\n"
)


def test_the_daily_xml_is_read_exactly_as_published() -> None:
    parsed = parse_rates(DAILY_XML.encode(), "ecb")
    assert parsed.quotes == [
        RateQuote("IDR", "2024-01-04", "16985.18", "ecb"),
        RateQuote("JPY", "2024-01-04", "155.92", "ecb"),
        RateQuote("USD", "2024-01-04", "1.0953", "ecb"),
    ]
    assert parsed.skipped == []
    assert parsed.days == ["2024-01-04"]


def test_the_history_xml_skips_the_currencies_the_euro_replaced() -> None:
    parsed = parse_rates(HISTORY_XML, "imported")
    assert RateQuote("USD", "2008-01-02", "1.4717", "imported") in parsed.quotes
    assert parsed.skipped == ["CYP"]
    assert parsed.days == ["2008-01-02", "2024-01-04"]


def test_both_csv_layouts_are_read() -> None:
    daily = parse_rates(DAILY_CSV, "ecb")
    assert [(q.currency, q.on, q.per_euro) for q in daily.quotes] == [
        ("BGN", "2024-01-04", "1.9558"),
        ("JPY", "2024-01-04", "155.92"),
        ("USD", "2024-01-04", "1.0953"),
    ]
    history = parse_rates(("\ufeff" + HISTORY_CSV).encode(), "imported")
    assert len(history.quotes) == 8  # N/A is no rate, and CYP is skipped
    assert history.skipped == ["CYP"]
    assert RateQuote("BGN", "2024-01-03", "1.9558", "imported") in history.quotes


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ("", "line 1: is neither ECB XML nor CSV"),
        ("hello, world\n", "line 1: is neither ECB XML nor CSV"),
        ("Date,USD,\n2024-01-04,1.09,\n2024-13-01,1.1,\n", "line 3: '2024-13-01' is not a date"),
        ("Date,USD,\n2024-01-04,1.09,2.0\n", "line 2: has more rates than its 1 currency columns"),
        (
            "Date,USD,\n2024-01-04,-1.09,\n",
            "line 2: USD on 2024-01-04: '-1.09' is not a positive decimal rate",
        ),
        ("Date,USD,\n2024-01-04,1e3,\n", "line 2: USD on 2024-01-04: '1e3' is not a positive decimal rate"),
        ("Date,USD,\n2024-01-04,0,\n", "line 2: USD on 2024-01-04: '0' is not a positive decimal rate"),
        ("Date,usd dollars,\n2024-01-04,1.1,\n", "line 2: 'USD DOLLARS' is not a currency code"),
        ("Date,USD,\n", "holds no exchange rates"),
        ("Date,USD,\n2024-01-04,N/A,\n", "holds no exchange rates"),
        ("<Cube><Cube time='2024-01-04'>", "line 1: is not well-formed XML"),
        ("<html><body>Not here</body></html>", "has no <Cube time=...>"),
        (
            "<Cube><Cube time='yesterday'><Cube currency='USD' rate='1.1'/></Cube></Cube>",
            "'yesterday' is not a date",
        ),
        ("<Cube><Cube time='2024-01-04'><Cube currency='USD' rate='1,1'/></Cube></Cube>", "'1,1' is not"),
        (b"Date,USD,\n2024-01-04,\xff,\n", "is not UTF-8 text"),
    ],
)
def test_what_is_not_an_ecb_file_is_refused_with_where(data: str | bytes, problem: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_rates(data, "imported")
    assert caught.value.code == "rates_file"
    assert problem in caught.value.message


def test_an_entity_expansion_bomb_is_refused_not_expanded() -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{i} "{"&lol;" * 10 if i == 1 else f"&lol{i - 1};" * 10}">' for i in range(1, 10)
        )
        + "]><Cube><Cube time='2024-01-04'><Cube currency='USD' rate='&lol9;'/></Cube></Cube>"
    )
    with pytest.raises(Invalid):
        parse_rates(bomb, "imported")


_CODES = ["USD", "JPY", "GBP", "CHF", "IDR", "KWD"]
_days = st.dates(min_value=date(1999, 1, 4), max_value=date(2030, 12, 31)).map(date.isoformat)
_rates = st.builds(
    lambda whole, part: f"{whole}.{part}" if part else str(whole),
    st.integers(min_value=0, max_value=99_999),
    st.text(alphabet="0123456789", max_size=6),
).filter(lambda text: Fraction(text) > 0)


@given(st.dictionaries(st.tuples(_days, st.sampled_from(_CODES)), _rates, min_size=1, max_size=40))
@settings(max_examples=60, deadline=None)
def test_what_is_written_in_either_format_reads_back_exactly(table: dict[tuple[str, str], str]) -> None:
    """Rates rendered the ECB's ways (XML cubes; CSV with N/A gaps, long or ISO dates) read back
    as exactly the quotes written, whatever the days and decimals."""
    expected = sorted((day, code, rate) for (day, code), rate in table.items())
    days = sorted({day for day, _ in table})
    cubes = "".join(
        f"<Cube time='{day}'>"
        + "".join(f"<Cube currency='{code}' rate='{rate}'/>" for (d, code), rate in table.items() if d == day)
        + "</Cube>"
        for day in days
    )
    xml = f"<gesmes:Envelope xmlns:gesmes='g' xmlns='e'><Cube>{cubes}</Cube></gesmes:Envelope>"
    long_dates = "\n".join(
        f"{date.fromisoformat(day).strftime('%d %B %Y')}, "
        + "".join(f"{table.get((day, code), 'N/A')}, " for code in _CODES)
        for day in days
    )
    csv_text = "Date, " + "".join(f"{code}, " for code in _CODES) + "\n" + long_dates + "\n"
    for text in (xml, csv_text):
        parsed = parse_rates(text, "imported")
        assert [(q.on, q.currency, q.per_euro) for q in parsed.quotes] == expected
