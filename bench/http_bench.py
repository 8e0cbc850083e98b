"""Requests per second and latency of the groups API on its embedded defaults, beside a bare
aiohttp app measured in the same run.

    python bench/http_bench.py [--seconds 5] [--connections 64] [--engine auto|wrk|aiohttp]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from load import call, load, pick_engine, report, servers, token_for


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--engine", choices=("auto", "wrk", "aiohttp"), default="auto")
    args = parser.parse_args()
    engine = pick_engine(args.engine)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        with servers(data_dir) as (api, bare, env):
            token = token_for("bench@example.com", env)
            for number in range(20):
                call("POST", f"{api}/api/groups", token, {"name": f"group {number}"})
            group_body = json.dumps({"name": "bench group", "default_currency": "EUR"})
            scenarios = {
                "bare GET": (f"{bare}/bare", "GET", None, None),
                "GET /api/groups": (f"{api}/api/groups", "GET", token, None),
                "bare POST": (f"{bare}/bare", "POST", None, group_body),
                "POST /api/groups": (f"{api}/api/groups", "POST", token, group_body),
            }
            results = {
                name: load(engine, *scenario, args.seconds, args.connections)
                for name, scenario in scenarios.items()
            }
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    report(
        results,
        {"GET /api/groups": "bare GET", "POST /api/groups": "bare POST"},
        engine=engine,
        connections=args.connections,
        seconds_per_scenario=args.seconds,
    )


if __name__ == "__main__":
    main()
