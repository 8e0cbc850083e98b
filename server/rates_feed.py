"""Fetching the ECB's reference rates from EXCHANGE_RATES_URL, at start-up and then every
EXCHANGE_RATES_INTERVAL_SECONDS, into the store as `ecb` quotes.

Each fetch is a conditional GET (If-None-Match / If-Modified-Since from the last good answer),
so an unchanged file costs one small request. A failed fetch (the network, a status other than
200 or 304, a body that is not the ECB's format) logs one warning line and is tried again
sooner, after at most RETRY_SECONDS; the rates already stored stay in use. Several instances
may all fetch: storing the same quotes again changes nothing."""

from __future__ import annotations

import asyncio
import logging

import aiohttp

from domain import Invalid, Unavailable
from ledger.ecb import MAX_FILE_BYTES
from services.rates import Imported, Rates

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 60
RETRY_SECONDS = 300


class FeedError(Exception):
    """The rates could not be fetched; str() says why, in one line."""


async def _body(response: aiohttp.ClientResponse) -> bytes:
    """The whole body, read to its end (one `read` returns only what has arrived so far), up to
    MAX_FILE_BYTES."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > MAX_FILE_BYTES:
            raise FeedError(f"sent more than {MAX_FILE_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class RatesFeed:
    def __init__(self, url: str, rates: Rates, session: aiohttp.ClientSession) -> None:
        self._url = url
        self._rates = rates
        self._session = session
        self._validators: dict[str, str] = {}

    async def fetch(self) -> Imported | None:
        """Fetch and store the rates; None when the file has not changed since the last fetch.
        Raises FeedError, or Invalid (`rates_file`) for a body that is not the ECB's format."""
        try:
            async with self._session.get(
                self._url,
                headers=self._validators,
                timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
            ) as response:
                if response.status == 304:
                    return None
                if response.status != 200:
                    raise FeedError(f"answered HTTP {response.status}")
                data = await _body(response)
                validators = {
                    request: response.headers[answer]
                    for request, answer in (("If-None-Match", "ETag"), ("If-Modified-Since", "Last-Modified"))
                    if answer in response.headers
                }
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:  # a cut body too: ClientPayloadError
            raise FeedError(f"could not be fetched: {exc!r}") from None
        imported = await self._rates.load(data, "ecb")
        self._validators = validators  # only once stored: a failed store is fetched in full again
        return imported

    async def run(self, seconds: int) -> None:
        """Fetch now and every `seconds` until cancelled; never raises but CancelledError."""
        while True:
            pause = seconds
            try:
                imported = await self.fetch()
            except (FeedError, Invalid, Unavailable) as exc:
                log.warning("EXCHANGE_RATES_URL %s: %s", self._url, getattr(exc, "message", exc))
                pause = min(seconds, RETRY_SECONDS)
            except Exception as exc:  # anything else must not end the feed for good either
                log.warning("EXCHANGE_RATES_URL %s: unexpected %r", self._url, exc)
                pause = min(seconds, RETRY_SECONDS)
            else:
                if imported is not None:
                    days = imported.parsed.days
                    log.info(
                        "exchange rates fetched: %d for %s to %s",
                        len(imported.parsed.quotes),
                        days[0],
                        days[-1],
                    )
            await asyncio.sleep(pause)
