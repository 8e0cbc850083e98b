"""The aioboto3 client, and the one way every request goes through it: a botocore failure becomes
one of this package's exceptions or a domain error (no boto type escapes the backend), and a
transaction or batch read is retried, a bounded number of times, with jittered backoff."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import aioboto3
from aiobotocore.config import AioConfig
from botocore.exceptions import BotoCoreError, ClientError

from domain import Unavailable
from domain.metrics import STORE_RETRIES, STORE_SECONDS
from store.dynamodb.items import _plain
from store.settings import DynamoDBSettings

_BATCH_GET_LIMIT = 100
_ATTEMPTS = 5
"""Tries of a transaction that keeps losing races, and of a batch read that keeps leaving keys."""
_LEDGER_ATTEMPTS = 10
"""Ledger writes all touch the group's busy membership items, so they may lose more races."""
_CONFIG = AioConfig(connect_timeout=5, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"})


class _ConditionFailed(Exception):
    """A single-item write's ConditionExpression was false; `item` is the old item, if asked for."""

    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("condition failed")
        self.item = item


class _ServiceError(Unavailable):
    """Any other DynamoDB failure; `aws_code` lets create_tables tell "no such table" apart."""

    def __init__(self, message: str, aws_code: str) -> None:
        super().__init__(message)
        self.aws_code = aws_code


class _Cancelled(Exception):
    """A transaction failed a condition; `reasons` holds one cancellation code per action, and
    `items` the old item of each action that asked for it (ReturnValuesOnConditionCheckFailure)
    and failed."""

    def __init__(self, reasons: list[str], items: list[dict[str, Any] | None] | None = None) -> None:
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons
        self.items = items or [None] * len(reasons)

    def failed(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index] == "ConditionalCheckFailed"

    def old_item(self, index: int) -> dict[str, Any] | None:
        return self.items[index] if index < len(self.items) else None


def _cancellation(exc: ClientError) -> _Cancelled:
    reasons = exc.response.get("CancellationReasons", [])
    return _Cancelled(
        [str(reason.get("Code", "None")) for reason in reasons],
        [_plain(reason["Item"]) if reason.get("Item") else None for reason in reasons],
    )


_session: aioboto3.Session | None = None


def _shared_session() -> aioboto3.Session:
    """One aioboto3 session per process: a new session loads and parses botocore's service models
    again (~0.1 s of CPU for each client), and a session holds no connection of its own, so every
    client of the process can come from the same one."""
    global _session
    if _session is None:
        _session = aioboto3.Session()
    return _session


def _client(settings: DynamoDBSettings) -> Any:
    """An aioboto3 client (an async context manager) for the settings' region and endpoint, with
    this backend's timeouts and botocore's standard retries."""
    return _shared_session().client(
        "dynamodb", region_name=settings.region, endpoint_url=settings.endpoint_url, config=_CONFIG
    )


async def _call(client: Any, operation: str, **params: Any) -> dict[str, Any]:
    """Run one API call, turning every botocore failure into one of this module's exceptions or
    a domain error."""
    started = time.perf_counter()
    try:
        response: dict[str, Any] = await getattr(client, operation)(**params)
        return response
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _THROTTLES:
            STORE_RETRIES.labels("dynamodb", "throttled").inc()  # botocore's retries ran out
        if code == "ConditionalCheckFailedException":
            item = exc.response.get("Item")
            raise _ConditionFailed(_plain(item) if item else None) from None
        if code == "TransactionCanceledException":
            raise _cancellation(exc) from None
        raise _ServiceError(f"DynamoDB {operation} failed: {code or exc}", code) from exc
    except BotoCoreError as exc:
        raise _ServiceError(f"DynamoDB {operation} failed: {exc}", "") from exc
    finally:
        STORE_SECONDS.labels("dynamodb", operation).observe(time.perf_counter() - started)


_THROTTLES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)


async def _backoff(attempt: int) -> None:
    """Wait before try `attempt + 1`: a random time up to 20 ms, doubling per try, at most 1 s."""
    await asyncio.sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))


async def _batch_get(client: Any, table: str, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """BatchGetItem in chunks of 100, asking again for UnprocessedKeys a bounded number of
    times."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), _BATCH_GET_LIMIT):
        pending: dict[str, Any] = {
            table: {"Keys": keys[start : start + _BATCH_GET_LIMIT], "ConsistentRead": True}
        }
        for attempt in range(_ATTEMPTS):
            response = await _call(client, "batch_get_item", RequestItems=pending)
            found += [_plain(item) for item in response.get("Responses", {}).get(table, [])]
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                break
            STORE_RETRIES.labels("dynamodb", "unprocessed").inc()
            await _backoff(attempt)
        else:
            raise Unavailable("DynamoDB kept leaving keys unprocessed")
    return found


async def _transact(client: Any, actions: list[dict[str, Any]], attempts: int = _ATTEMPTS) -> None:
    """One TransactWriteItems, retried (bounded) only when it lost to a concurrent transaction.

    Raises _Cancelled when a condition failed, for the caller to interpret."""
    for attempt in range(attempts):
        try:
            await _call(client, "transact_write_items", TransactItems=actions)
            return
        except _Cancelled as exc:
            if "ConditionalCheckFailed" in exc.reasons:
                raise
            if "TransactionConflict" not in exc.reasons:
                raise Unavailable(f"DynamoDB transaction cancelled: {exc.reasons}") from None
        STORE_RETRIES.labels("dynamodb", "conflict").inc()
        await _backoff(attempt)
    raise Unavailable("DynamoDB transaction kept conflicting; try again")
