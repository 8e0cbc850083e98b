"""`expense-tracker rates import FILE` loads the ECB's rates into the store, and refuses a file
that is not theirs without storing any of it."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from domain.rates import RateQuote
from store.sqlite import SQLiteStore
from tests.server.processes import command_env, run_command

HISTORY_CSV = (
    "Date,USD,JPY,CYP,\n"
    "2024-01-04,1.0953,155.92,N/A,\n"
    "2024-01-03,1.0919,155.11,N/A,\n"
    "2008-01-02,1.4717,163.43,0.585274,\n"
)


def rates_on(path: Path, on: str) -> dict[str, RateQuote]:
    async def read() -> dict[str, RateQuote]:
        async with SQLiteStore.open(path) as store:
            return await store.rates_on(["USD", "JPY"], on)

    return asyncio.run(read())


def test_a_history_file_is_imported_and_a_broken_one_refused(tmp_path: Path) -> None:
    env = command_env(tmp_path / "data", SECRET_KEY="r" * 40)
    (tmp_path / "hist.csv").write_text(HISTORY_CSV)
    done = run_command("rates", "import", "hist.csv", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 rates for 2 currencies on 3 day(s), 2008-01-02 to 2024-01-04; 6 written" in done.stdout
    assert "skipped (the euro, or not an active ISO 4217 currency): CYP" in done.stdout
    store_path = tmp_path / "data" / "expense-tracker.sqlite3"
    assert rates_on(store_path, "2024-01-03") == {
        "USD": RateQuote("USD", "2024-01-03", "1.0919", "imported"),
        "JPY": RateQuote("JPY", "2024-01-03", "155.11", "imported"),
    }

    (tmp_path / "broken.csv").write_text("Date,USD,\n2024-01-05,1.09,\n2024-01-06,one,\n")
    refused = run_command("rates", "import", "broken.csv", env=env, cwd=tmp_path)
    assert refused.returncode == 2
    assert "broken.csv: exchange rates file: line 3: USD on 2024-01-06: 'one' is not" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert rates_on(store_path, "2024-01-05")["USD"].on == "2024-01-04"  # line 2 was not stored either

    missing = run_command("rates", "import", "nowhere.xml", env=env, cwd=tmp_path)
    assert missing.returncode == 2
    assert "cannot read nowhere.xml" in missing.stderr
    with sqlite3.connect(store_path) as db:
        assert db.execute("SELECT COUNT(*) FROM exchange_rates").fetchone() == (6,)
