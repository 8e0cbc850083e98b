"""What the changes feed (issue 14) costs on the embedded defaults, beside a bare aiohttp app in the
same run: a page of 100 changes read from a group with a short history and from one with a long
history (it should not grow with the history), an expense page for comparison, and POST expense
(every write now also logs its change, through SQLite triggers); and a page of the caller's own
feed naming 100 groups joined, after a long history of profile edits.

    python bench/changes_bench.py [--seconds 5] [--connections 64] [--history 3000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote

from load import call, load, pick_engine, report, servers, token_for


def group_with_history(api: str, token: str, name: str, history: int) -> tuple[str, str]:
    """A group with `history` expenses, then a cursor, then 100 more: its id and that cursor."""
    group = call("POST", f"{api}/api/groups", token, {"name": name})
    expenses = f"{api}/api/groups/{group['id']}/expenses"
    for number in range(history):
        call("POST", expenses, token, {"description": f"old {number}", "amount": "4.00"})
    cursor = call("GET", f"{api}/api/groups/{group['id']}/changes", token)["next_cursor"]
    for number in range(100):
        call("POST", expenses, token, {"description": f"new {number}", "amount": "5.00"})
    return group["id"], cursor


def user_with_history(api: str, token: str, history: int) -> str:
    """`history` profile edits, then a cursor, then 100 groups made: that cursor."""
    for number in range(history):
        call("PATCH", f"{api}/api/user", token, {"name": f"Ana {number}"})
    cursor: str = call("GET", f"{api}/api/user/changes", token)["next_cursor"]
    for number in range(100):
        call("POST", f"{api}/api/groups", token, {"name": f"Joined {number}"})
    return cursor


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--history", type=int, default=3000)
    parser.add_argument("--engine", choices=("auto", "wrk", "aiohttp"), default="auto")
    args = parser.parse_args()
    engine = pick_engine(args.engine)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        with servers(data_dir) as (api, bare, env):
            ana = token_for("ana@example.com", env)
            short, short_cursor = group_with_history(api, ana, "Short", 10)
            long, long_cursor = group_with_history(api, ana, "Long", args.history)
            mine = user_with_history(api, ana, args.history)
            body = json.dumps({"description": "bench", "amount": "7.00"})
            scenarios = {
                "bare GET": (f"{bare}/bare", "GET", None, None),
                "GET changes (100 of 110)": (
                    f"{api}/api/groups/{short}/changes?limit=100&cursor={quote(short_cursor)}",
                    "GET",
                    ana,
                    None,
                ),
                f"GET changes (100 of {args.history + 100})": (
                    f"{api}/api/groups/{long}/changes?limit=100&cursor={quote(long_cursor)}",
                    "GET",
                    ana,
                    None,
                ),
                f"GET user changes (100 groups of {args.history + 100})": (
                    f"{api}/api/user/changes?limit=100&cursor={quote(mine)}",
                    "GET",
                    ana,
                    None,
                ),
                "GET expenses (50)": (f"{api}/api/groups/{long}/expenses?limit=50", "GET", ana, None),
                "bare POST": (f"{bare}/bare", "POST", None, body),
                "POST expense": (f"{api}/api/groups/{short}/expenses", "POST", ana, body),
            }
            results = {
                name: load(engine, *scenario, args.seconds, args.connections)
                for name, scenario in scenarios.items()
            }
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    report(
        results,
        {name: ("bare POST" if name.startswith("POST") else "bare GET") for name in results},
        engine=engine,
        connections=args.connections,
        seconds_per_scenario=args.seconds,
        history=args.history,
    )


if __name__ == "__main__":
    main()
