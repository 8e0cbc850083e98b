"""Fixtures of the tests that run the real server as processes."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.server.processes import command_env, run_command


@pytest.fixture(params=["sqlite", "dynamodb"])
def shared_store_env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The environment of instances sharing one store of each backend (fresh DynamoDB tables)."""
    extra = {"SECRET_KEY": "c" * 40}
    if request.param == "dynamodb":
        prefix = f"c{uuid.uuid4().hex[:10]}"
        extra["DYNAMODB_ENDPOINT_URL"] = request.getfixturevalue("moto_url")
        extra.update(
            {
                f"DYNAMODB_{name}_TABLE": f"{prefix}-{name.lower()}"
                for name in ("USERS", "GROUPS", "EXPENSES", "TRANSACTIONS", "CHATS")
            }
        )
    env = command_env(tmp_path / "data", **extra)
    if request.param == "dynamodb":
        assert run_command("create-tables", env=env, cwd=tmp_path).returncode == 0
    return env
