"""The `store` fixture of the contract suite: every test that takes it runs once per backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from store.base import Store
from store.dynamodb import DynamoDBSettings, DynamoDBStore
from store.sqlite import SQLiteStore


@pytest.fixture(params=["sqlite", "dynamodb"])
def backend(request: pytest.FixtureRequest) -> Path | DynamoDBSettings:
    """Where a fresh, empty store lives: a SQLite file, or DynamoDB tables on moto no other test uses."""
    target: Path | DynamoDBSettings = request.getfixturevalue(
        "sqlite_path" if request.param == "sqlite" else "dynamodb_settings"
    )
    return target


@pytest.fixture
async def store(backend: Path | DynamoDBSettings) -> AsyncIterator[Store]:
    """An open store on `backend`, closed after the test."""
    if isinstance(backend, Path):
        async with SQLiteStore.open(backend) as sqlite_store:
            yield sqlite_store
    else:
        async with DynamoDBStore.open(backend) as dynamodb_store:
            yield dynamodb_store
