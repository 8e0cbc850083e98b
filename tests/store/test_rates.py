"""Store contract, exchange rates: the latest quote on or before a day, per currency, and an
imported quote that a fetched one never replaces."""

from __future__ import annotations

import pytest

from domain.rates import RateQuote, RateSource
from store.base import Store


def ecb(currency: str, on: str, per_euro: str) -> RateQuote:
    return RateQuote(currency, on, per_euro, "ecb")


async def test_the_latest_quote_on_or_before_a_day_is_found_per_currency(store: Store) -> None:
    written = await store.put_rates(
        [
            ecb("USD", "2024-01-02", "1.0956"),
            ecb("USD", "2024-01-04", "1.0953"),
            ecb("USD", "2024-01-05", "1.0921"),
            ecb("JPY", "2024-01-02", "155.92"),
            ecb("GBP", "2024-01-05", "0.86"),
        ]
    )
    assert written == 5
    found = await store.rates_on(["USD", "JPY", "GBP", "CHF"], "2024-01-04")
    assert found == {"USD": ecb("USD", "2024-01-04", "1.0953"), "JPY": ecb("JPY", "2024-01-02", "155.92")}
    assert await store.rates_on(["USD"], "2024-01-03") == {"USD": ecb("USD", "2024-01-02", "1.0956")}
    assert await store.rates_on(["USD"], "2099-12-31") == {"USD": ecb("USD", "2024-01-05", "1.0921")}
    assert await store.rates_on(["USD"], "2024-01-01") == {}
    assert await store.rates_on([], "2024-01-04") == {}


async def test_putting_the_same_quotes_again_changes_nothing(store: Store) -> None:
    quotes = [ecb("USD", "2024-01-02", "1.0956"), ecb("USD", "2024-01-03", "1.0919")]
    await store.put_rates(quotes)
    await store.put_rates(quotes)
    assert await store.rates_on(["USD"], "2024-01-03") == {"USD": quotes[1]}
    assert await store.put_rates([]) == 0


async def test_a_fetched_quote_never_replaces_an_imported_one(store: Store) -> None:
    corrected = RateQuote("USD", "2024-01-02", "1.1", "imported")
    await store.put_rates([ecb("USD", "2024-01-02", "1.0956")])
    assert await store.put_rates([corrected]) == 1  # an import replaces a fetched quote
    assert await store.put_rates([ecb("USD", "2024-01-02", "1.0956")]) == 0
    assert await store.rates_on(["USD"], "2024-01-02") == {"USD": corrected}
    again = RateQuote("USD", "2024-01-02", "1.2", "imported")
    assert await store.put_rates([again]) == 1  # and a later import replaces an earlier one
    assert await store.rates_on(["USD"], "2024-01-02") == {"USD": again}


@pytest.mark.parametrize("source", ["ecb", "imported"])
async def test_many_quotes_are_all_stored(store: Store, source: RateSource) -> None:
    """Imported quotes go in batches on DynamoDB, fetched ones one by one: all arrive, and the
    count says so."""
    quotes = [
        RateQuote(currency, f"2023-{month:02d}-{day:02d}", f"1.{month:02d}{day:02d}", source)
        for currency in ("USD", "GBP")
        for month in range(1, 13)
        for day in range(1, 29)
    ]
    assert await store.put_rates([*quotes, quotes[0]]) == len(quotes)  # a twin is written once
    found = await store.rates_on(["USD", "GBP"], "2023-07-31")
    assert found == {c: RateQuote(c, "2023-07-28", "1.0728", source) for c in ("USD", "GBP")}
