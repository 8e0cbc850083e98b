"""Periodic work (the recurring-expense scheduler, the exchange-rate fetcher) runs on one worker
of a machine's: the others would only repeat its queries."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from server.app import create_app, runs_machine_chores
from server.config import load_config

CHORES = {"recurring-scheduler", "rates-feed"}


@pytest.mark.parametrize(("worker", "runs"), [(None, True), (0, True), (1, False), (5, False)])
async def test_only_a_lone_server_or_worker_0_runs_the_chores(
    aiohttp_client: Any, tmp_path: Path, worker: int | None, runs: bool
) -> None:
    config = load_config(
        {
            "DATA_DIR": str(tmp_path),
            "RECURRING_INTERVAL_SECONDS": "60",
            # Never reached: the fetcher's first request goes nowhere that answers.
            "EXCHANGE_RATES_URL": "http://127.0.0.1:9/rates.xml",
            "WEB_APP_DIR": "off",
        },
        read_dotenv=False,
    )
    config = dataclasses.replace(config, worker=worker)
    assert runs_machine_chores(config) is runs

    await aiohttp_client(create_app(config))

    running = {task.get_name() for task in asyncio.all_tasks()} & CHORES
    assert running == (CHORES if runs else set())
