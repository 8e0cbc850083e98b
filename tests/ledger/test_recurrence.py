"""Recurrence dates (ledger/recurrence.py) against a reference: dateutil's relativedelta, whose
month and year steps clip to the month's last day, as the month-end rule says."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.recurrence import EVERY, Schedule, next_due

DATES = st.dates(min_value=date(1990, 1, 1), max_value=date(2200, 12, 31))


def reference(schedule: Schedule, n: int) -> date | None:
    """Occurrence n, None past the calendar's end (year 9999)."""
    step = n * schedule.interval
    start = schedule.starts_on
    try:
        if schedule.every == "day":
            return start + timedelta(days=step)
        if schedule.every == "week":
            return start + timedelta(weeks=step)
        if schedule.every == "month":
            return start + relativedelta(months=step)
        return start + relativedelta(years=step)
    except (ValueError, OverflowError):
        return None


@st.composite
def schedules(draw: Any) -> Schedule:
    return Schedule(
        every=draw(st.sampled_from(EVERY)),
        interval=draw(st.integers(1, 40)),
        starts_on=draw(DATES),
    )


@settings(max_examples=400, deadline=None)
@given(schedules(), st.integers(0, 300))
def test_occurrences_match_the_reference(schedule: Schedule, n: int) -> None:
    assert schedule.occurrence(n) == reference(schedule, n)


@settings(max_examples=400, deadline=None)
@given(schedules(), DATES)
def test_first_on_or_after_is_the_first_reference_date_not_before_the_day(
    schedule: Schedule, day: date
) -> None:
    found = schedule.first_on_or_after(day)
    if found is None:  # only past the calendar's end
        assert all((d := reference(schedule, n)) is None or d < day for n in range(0, 10_000, 97))
        return
    n, when = found
    assert when == reference(schedule, n) and when >= day
    before = reference(schedule, n - 1) if n else None
    assert before is None or before < day


@settings(max_examples=200, deadline=None)
@given(schedules(), st.integers(1, 30), st.integers(0, 40))
def test_next_due_walks_the_reference_and_stops_at_count(schedule: Schedule, count: int, skip: int) -> None:
    counted = Schedule(schedule.every, schedule.interval, schedule.starts_on, count=count)
    made, after, seen = 0, None, []
    while (due := next_due(counted, after=after, not_before=counted.starts_on, made=made)) is not None:
        seen.append(due)
        made, after = made + 1, due
    assert seen == [reference(counted, n) for n in range(count)]


def test_the_31st_falls_on_the_last_day_of_shorter_months_and_comes_back() -> None:
    monthly = Schedule("month", 1, date(2025, 1, 31))
    assert [monthly.occurrence(n) for n in range(5)] == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
        date(2025, 5, 31),
    ]
    assert Schedule("month", 1, date(2024, 1, 30)).occurrence(1) == date(2024, 2, 29)


def test_29_february_falls_on_28_february_in_other_years() -> None:
    yearly = Schedule("year", 1, date(2024, 2, 29))
    assert [yearly.occurrence(n) for n in range(5)] == [
        date(2024, 2, 29),
        date(2025, 2, 28),
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
    ]


def test_ends_on_is_inclusive_and_bounds_what_is_found() -> None:
    weekly = Schedule("week", 2, date(2026, 1, 5), ends_on=date(2026, 2, 2))
    assert weekly.first_on_or_after(date(2026, 2, 2)) == (2, date(2026, 2, 2))
    assert weekly.first_on_or_after(date(2026, 2, 3)) is None
    assert next_due(weekly, after=date(2026, 2, 2), not_before=date(2026, 1, 1), made=3) is None


def test_next_due_skips_what_lies_before_not_before() -> None:
    # a paused rule resumed, or an edited schedule: nothing before the day of the change is due
    daily = Schedule("day", 1, date(2026, 1, 1))
    assert next_due(daily, after=date(2026, 1, 3), not_before=date(2026, 1, 10), made=3) == date(2026, 1, 10)
    assert next_due(daily, after=None, not_before=date(2025, 12, 1), made=0) == date(2026, 1, 1)


def test_the_calendars_end_is_no_occurrence() -> None:
    assert Schedule("year", 1000, date(9000, 1, 1)).occurrence(1) is None
    assert Schedule("day", 1, date(9999, 12, 30)).first_on_or_after(date(9999, 12, 31)) == (
        1,
        date(9999, 12, 31),
    )
    assert (
        next_due(Schedule("day", 1, date(9999, 12, 30)), after=date.max, not_before=date.max, made=1) is None
    )


@pytest.mark.parametrize(
    "fields",
    [{"every": "fortnight"}, {"interval": 0}, {"interval": 1001}, {"count": 0}],
)
def test_an_impossible_schedule_is_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Schedule(**{"every": "day", "interval": 1, "starts_on": date(2026, 1, 1), **fields})
