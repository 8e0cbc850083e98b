"""When a recurring expense falls due: pure date arithmetic, no clock and no I/O.

A schedule repeats every `interval` days, weeks, months or years from `starts_on`. Occurrence n
is computed from `starts_on` directly (never from occurrence n - 1), so nothing drifts: a rule
starting on the 31st falls on the last day of each shorter month (30 April, 28 or 29 February)
and is back on the 31st whenever the month has one; one starting on 29 February falls on 28
February in other years. `ends_on` (inclusive) and `count` (occurrences in all) bound it.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

EVERY = ("day", "week", "month", "year")
MAX_INTERVAL = 1000
"""The largest `interval` (1000 days is under three years; 1000 years is far beyond any use)."""
MAX_COUNT = 10_000
LAST_DAY = date.max


@dataclass(frozen=True, slots=True)
class Schedule:
    every: str
    interval: int
    starts_on: date
    ends_on: date | None = None
    count: int | None = None

    def __post_init__(self) -> None:
        if self.every not in EVERY:
            raise ValueError(f"every must be one of {EVERY}")
        if not 1 <= self.interval <= MAX_INTERVAL:
            raise ValueError(f"interval must be 1 to {MAX_INTERVAL}")
        if self.count is not None and not 1 <= self.count <= MAX_COUNT:
            raise ValueError(f"count must be 1 to {MAX_COUNT}")

    def occurrence(self, n: int) -> date | None:
        """The date of occurrence `n` (0 is `starts_on`), ignoring `ends_on` and `count`; None
        past the calendar's end."""
        if n < 0:
            raise ValueError("occurrences are numbered from 0")
        start = self.starts_on
        try:
            if self.every == "day":
                return start + timedelta(days=n * self.interval)
            if self.every == "week":
                return start + timedelta(weeks=n * self.interval)
        except OverflowError:
            return None
        months = n * self.interval * (12 if self.every == "year" else 1)
        year, month0 = divmod(start.month - 1 + months, 12)
        year += start.year
        if year > LAST_DAY.year:
            return None
        last = calendar.monthrange(year, month0 + 1)[1]
        return date(year, month0 + 1, min(start.day, last))

    def first_on_or_after(self, day: date) -> tuple[int, date] | None:
        """The first occurrence on or after `day` within `ends_on`, as (its number, its date);
        None when there is none. `count` is not applied here: how many have been made is the
        caller's to know (an edited schedule goes on counting)."""
        n = max(0, self._estimate(day))
        while n > 0:  # the estimate may overshoot by one
            before = self.occurrence(n - 1)
            if before is None or before < day:
                break
            n -= 1
        found = self.occurrence(n)
        while found is not None and found < day:
            n += 1
            found = self.occurrence(n)
        if found is None or (self.ends_on is not None and found > self.ends_on):
            return None
        return n, found

    def _estimate(self, day: date) -> int:
        """About the number of the first occurrence on or after `day` (within one)."""
        if day <= self.starts_on:
            return 0
        if self.every in ("day", "week"):
            step = self.interval * (7 if self.every == "week" else 1)
            return -(-(day - self.starts_on).days // step)
        months = (day.year - self.starts_on.year) * 12 + day.month - self.starts_on.month
        step = self.interval * (12 if self.every == "year" else 1)
        return -(-months // step)


def next_due(schedule: Schedule, *, after: date | None, not_before: date, made: int) -> date | None:
    """The date the next occurrence is due: the first one after `after` (the last one made, None
    if none was) and not before `not_before`, unless `made` has reached `count`."""
    if schedule.count is not None and made >= schedule.count:
        return None
    start = not_before
    if after is not None:
        if after >= LAST_DAY:
            return None
        start = max(not_before, after + timedelta(days=1))
    found = schedule.first_on_or_after(start)
    return None if found is None else found[1]
