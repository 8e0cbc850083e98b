"""Expense writes and balance reads on the embedded defaults, beside a bare aiohttp app, and balance
reads at 10 versus 10,000 expenses in a group (incremental balances should make them equal).

    python bench/money_bench.py [--seconds 5] [--connections 64] [--history 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
from pathlib import Path

import aiohttp
from load import call, load, pick_engine, report, servers, token_for


async def seed(api: str, token: str, group_id: str, count: int) -> None:
    """`count` expenses through the API itself, 32 at a time."""
    headers = {"Authorization": f"Bearer {token}"}
    queue = iter(range(count))
    async with aiohttp.ClientSession(headers=headers) as session:

        async def worker() -> None:
            for number in queue:
                body = {"description": f"expense {number}", "amount": f"{number % 97 + 1}.25"}
                async with session.post(f"{api}/api/groups/{group_id}/expenses", json=body) as r:
                    assert r.status == 201, await r.text()

        await asyncio.gather(*(worker() for _ in range(32)))


def three_person_group(api: str, env: dict[str, str], owner: str, name: str) -> str:
    group = call("POST", f"{api}/api/groups", owner, {"name": name, "default_currency": "EUR"})
    for friend in ("bea", "cem"):
        invite = call("POST", f"{api}/api/groups/{group['id']}/invites", owner, {})
        call(
            "POST",
            f"{api}/api/invites/{invite['token']}/accept",
            token_for(f"{friend}.{name}@example.com", env),
        )
    return group["id"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--history", type=int, default=10_000)
    parser.add_argument("--engine", choices=("auto", "wrk", "aiohttp"), default="auto")
    args = parser.parse_args()
    engine = pick_engine(args.engine)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        with servers(data_dir) as (api, bare, env):
            owner = token_for("ana@example.com", env)
            small = three_person_group(api, env, owner, "small")
            large = three_person_group(api, env, owner, "large")
            writes = three_person_group(api, env, owner, "writes")
            asyncio.run(seed(api, owner, small, 10))
            asyncio.run(seed(api, owner, large, args.history))
            expense = json.dumps({"description": "coffee", "amount": "4.50"})
            scenarios = {
                "bare GET": (f"{bare}/bare", "GET", None, None),
                "GET balances (10 expenses)": (f"{api}/api/groups/{small}/balances", "GET", owner, None),
                f"GET balances ({args.history} expenses)": (
                    f"{api}/api/groups/{large}/balances",
                    "GET",
                    owner,
                    None,
                ),
                "bare POST": (f"{bare}/bare", "POST", None, expense),
                "POST expense": (f"{api}/api/groups/{writes}/expenses", "POST", owner, expense),
            }
            results = {
                name: load(engine, *scenario, args.seconds, args.connections)
                for name, scenario in scenarios.items()
            }
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    large_name = f"GET balances ({args.history} expenses)"
    report(
        results,
        {"GET balances (10 expenses)": "bare GET", large_name: "bare GET", "POST expense": "bare POST"},
        engine=engine,
        connections=args.connections,
        seconds_per_scenario=args.seconds,
        balances_slowdown_at_history=round(
            results["GET balances (10 expenses)"]["rps"] / results[large_name]["rps"], 3
        ),
    )


if __name__ == "__main__":
    main()
