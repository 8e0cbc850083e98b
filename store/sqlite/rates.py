"""Exchange rates: one row per currency and day; the latest on or before a day is one step down
the primary key for each currency, all in one statement."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from domain.rates import RateQuote
from store.sqlite.engine import Db, _Engine

INLINE_QUOTES = 1_000
"""Larger imports (the ECB's history is 200,000 rows) are written off the event loop's thread."""

_UPSERT = """
    INSERT INTO exchange_rates (currency, on_date, per_euro, source) VALUES (?, ?, ?, ?)
    ON CONFLICT (currency, on_date) DO UPDATE SET per_euro = excluded.per_euro, source = excluded.source
    WHERE excluded.source = 'imported' OR exchange_rates.source = 'ecb'
"""
_LATEST = (
    "SELECT * FROM (SELECT currency, on_date, per_euro, source FROM exchange_rates"
    " WHERE currency = ? AND on_date <= ? ORDER BY on_date DESC LIMIT 1)"
)


class _Rates(_Engine):
    """The exchange-rate methods of `SQLiteStore`."""

    async def put_rates(self, quotes: Sequence[RateQuote]) -> int:
        latest = {(q.currency, q.on): q for q in quotes}  # a twin is written once: the last one
        rows = [(q.currency, q.on, q.per_euro, q.source) for q in latest.values()]

        def work(db: Db) -> int:
            return db.executemany(_UPSERT, rows).rowcount

        return await self._write(work, inline=len(rows) <= INLINE_QUOTES) if rows else 0

    async def rates_on(self, currencies: Collection[str], on: str) -> dict[str, RateQuote]:
        wanted = sorted(set(currencies))
        if not wanted:
            return {}
        sql = " UNION ALL ".join([_LATEST] * len(wanted))
        rows = await self._all(sql, tuple(value for currency in wanted for value in (currency, on)))
        return {row[0]: RateQuote(row[0], row[1], row[2], row[3]) for row in rows}
