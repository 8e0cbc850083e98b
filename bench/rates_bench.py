"""Balances and settle-up in one currency (`?currency=`, ECB rates looked up per request) beside
the same views per currency and a bare aiohttp handler, on the embedded defaults, with the ECB's
whole history imported (about 200,000 quotes, synthesised in its CSV layout): the rate look-up is
a step down an index, so the history's size should not show.

    python bench/rates_bench.py [--seconds 5] [--connections 64] [--days 6500]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import zlib
from datetime import date, timedelta
from pathlib import Path

from load import BIN, call, load, pick_engine, report, servers, token_for
from money_bench import three_person_group

CURRENCIES = ["USD", "JPY", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "AUD", "CAD"]
CURRENCIES += ["CNY", "HKD", "INR", "KRW", "MXN", "NZD", "SGD", "THB", "ZAR", "BRL", "IDR", "ILS"]
CURRENCIES += ["ISK", "MYR", "PHP", "RON", "TRY", "BGN"]


def history_csv(days: int) -> str:
    """`days` working days of rates for 30 currencies, in the layout of eurofxref-hist.csv."""
    lines = ["Date," + ",".join(CURRENCIES) + ","]
    day = date(2026, 11, 30)
    while len(lines) <= days:
        if day.weekday() < 5:
            rates = ",".join(f"{1 + zlib.crc32(f'{c}{day}'.encode()) % 9000 / 1000:.4f}" for c in CURRENCIES)
            lines.append(f"{day.isoformat()},{rates},")
        day -= timedelta(days=1)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--days", type=int, default=6500)
    parser.add_argument("--engine", choices=("auto", "wrk", "aiohttp"), default="auto")
    args = parser.parse_args()
    engine = pick_engine(args.engine)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        with servers(data_dir) as (api, bare, env):
            history = data_dir / "eurofxref-hist.csv"
            history.write_text(history_csv(args.days))
            imported = subprocess.run(
                [str(BIN / "expense-tracker"), "rates", "import", str(history)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            owner = token_for("ana@example.com", env)
            gid = three_person_group(api, env, owner, "trip")
            for currency, amount in (("EUR", "90.00"), ("USD", "45.50"), ("JPY", "12000"), ("GBP", "30.10")):
                call(
                    "POST",
                    f"{api}/api/groups/{gid}/expenses",
                    owner,
                    {"description": currency, "amount": amount, "currency": currency},
                )
            base = f"{api}/api/groups/{gid}"
            scenarios = {
                "bare GET": (f"{bare}/bare", "GET", None, None),
                "GET balances": (f"{base}/balances", "GET", owner, None),
                "GET balances?currency=CHF": (f"{base}/balances?currency=CHF", "GET", owner, None),
                "GET settle-up": (f"{base}/settle-up", "GET", owner, None),
                "GET settle-up?currency=CHF": (f"{base}/settle-up?currency=CHF", "GET", owner, None),
            }
            results = {
                name: load(engine, *scenario, args.seconds, args.connections)
                for name, scenario in scenarios.items()
            }
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    report(
        results,
        {name: "bare GET" for name in results},
        engine=engine,
        connections=args.connections,
        seconds_per_scenario=args.seconds,
        rates_imported=imported.stdout.strip().splitlines()[0],
        in_one_currency_vs_per_currency=round(
            results["GET balances?currency=CHF"]["rps"] / results["GET balances"]["rps"], 3
        ),
    )


if __name__ == "__main__":
    main()
