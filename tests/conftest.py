"""Shared test infrastructure: real services started once per session, fresh tables per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from store.dynamodb import DynamoDBSettings, create_tables
from tests.services import moto_server, oidc_provider_mock, redis_server

_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session", autouse=True)
def aws_credentials() -> Iterator[None]:
    """Dummy credentials, so no test can ever reach a real AWS account."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in _AWS_ENV.items():
            patch.setenv(name, value)
        patch.delenv("AWS_PROFILE", raising=False)
        yield


@pytest.fixture(scope="session")
def moto_url(aws_credentials: None) -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


def make_dynamodb_settings(endpoint_url: str) -> DynamoDBSettings:
    """Settings naming tables no other test uses."""
    prefix = f"t{uuid.uuid4().hex[:12]}"
    return DynamoDBSettings(
        region=_AWS_ENV["AWS_DEFAULT_REGION"],
        endpoint_url=endpoint_url,
        users_table=f"{prefix}-users",
        groups_table=f"{prefix}-groups",
        expenses_table=f"{prefix}-expenses",
        transactions_table=f"{prefix}-transactions",
        chats_table=f"{prefix}-chats",
    )


@pytest.fixture
async def dynamodb_settings(moto_url: str) -> AsyncIterator[DynamoDBSettings]:
    settings = make_dynamodb_settings(moto_url)
    await create_tables(settings)
    yield settings


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite3"


@pytest.fixture(scope="session")
def oidc_issuer() -> Iterator[str]:
    """The issuer URL of an oidc-provider-mock process shared by the session."""
    with oidc_provider_mock() as issuer:
        yield issuer
