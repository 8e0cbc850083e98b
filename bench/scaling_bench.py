"""How throughput grows with worker processes (issue 17): POST expense and GET balances on the
embedded defaults with 1 and N workers, beside the bare aiohttp app in 1 and N processes, all in one
run, with the server's CPU microseconds per request (user + system time of every server process,
divided by the requests answered: the figure the machine's noise moves least). The limiter is off
except in the scenarios marked "limited", which measure what the per-request round trip to the
supervisor's shared buckets costs (with one worker the buckets are in-process).

    python bench/scaling_bench.py [--workers 2] [--seconds 5] [--connections 64] [--rounds 2]

Each server set-up starts on a store of its own, seeded alike (a group of three with 30 expenses);
each scenario runs `--rounds` times, interleaved with the others, and its best round is kept.

Beside them, the floor: `GET /healthz` (public, no store read) through the same middleware stack
(request id, errors, metrics, limiter, authentication's public check, security headers), which is
what any route of ours costs before it does its own work.

Targets: per process, POST expense >= 0.20 and GET balances >= 0.40 of bare; from 1 to N, our
throughput grows at least 0.9 times as much as the bare app's (the ratio of the two growth
factors); p99 below 50 ms at 64 connections.
The load generator runs on the same cores as the servers, so with N = cores neither side can
double; the growth ratio compares the two under the same squeeze.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from load import api_env, api_server, bare_servers, call, cpu_seconds, load, pick_engine, token_for
from money_bench import three_person_group

LIMITED = {"RATE_LIMIT_PER_MINUTE": "1000000", "RATE_LIMIT_WRITES_PER_MINUTE": "1000000"}


def seed(api: str, env: dict[str, str]) -> tuple[str, str]:
    """Ana's group of three (money_bench's) with 30 expenses; her token and the group's id."""
    ana = token_for("ana@example.com", env)
    group = three_person_group(api, env, ana, "trip")
    for number in range(30):
        call(
            "POST",
            f"{api}/api/groups/{group}/expenses",
            ana,
            {"description": f"d{number}", "amount": "31.40"},
        )
    return ana, group


def roots(processes: object) -> list[int]:
    """The processes whose CPU time is the server's: the supervisor (it counts its workers) or each
    of the bare app's processes."""
    started = processes if isinstance(processes, list) else [processes]
    return [process.pid for process in started if isinstance(process, subprocess.Popen)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2, help="each scenario's best round is kept")
    parser.add_argument("--engine", choices=("auto", "wrk", "aiohttp"), default="auto")
    parser.add_argument("--only", help="run only the set-ups whose label starts so (no summary)")
    args = parser.parse_args()
    engine, n = pick_engine(args.engine), args.workers
    configs: list[tuple[str, int, dict[str, str] | None]] = [
        ("bare x1", 1, None),
        ("api x1", 1, {}),
        ("api x1 limited", 1, LIMITED),
        (f"bare x{n}", n, None),
        (f"api x{n}", n, {}),
        (f"api x{n} limited", n, LIMITED),
    ]
    if args.only:
        configs = [config for config in configs if config[0].startswith(args.only)]
    results: dict[str, dict] = {}
    for _ in range(args.rounds):
        for label, processes, limits in configs:
            for kind, figures in run_config(engine, processes, limits, args).items():
                name = f"{label} {kind}"
                if name not in results or figures["rps"] > results[name]["rps"]:
                    results[name] = figures
    summary = {} if args.only else summarise(results, n)
    context = {"engine": engine, "connections": args.connections, "seconds": args.seconds}
    print_table(results, summary, **context, rounds=args.rounds, workers=n)


def run_config(
    engine: str, processes: int, limits: dict[str, str] | None, args: argparse.Namespace
) -> dict[str, dict]:
    """GET and POST against one server set-up: the bare app (`limits` None) or the API on a store
    of its own, seeded alike, so that no scenario inherits another's history."""
    expense = json.dumps({"description": "bench", "amount": "31.40"})
    if limits is None:
        with bare_servers(processes) as (base, started):
            return {
                kind: measure_all(engine, f"{base}/bare", kind, None, body, roots(started), args)
                for kind, body in (("GET", None), ("POST", expense))
            }
    data_dir = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        env = api_env(data_dir)
        with api_server(env) as (api, _):
            token, group = seed(api, env)
        with api_server(api_env(data_dir, **limits), processes) as (base, supervisor):
            return {
                "floor": measure_all(engine, f"{base}/healthz", "GET", None, None, roots(supervisor), args),
                "GET": measure_all(
                    engine, f"{base}/api/groups/{group}/balances", "GET", token, None, roots(supervisor), args
                ),
                "POST": measure_all(
                    engine,
                    f"{base}/api/groups/{group}/expenses",
                    "POST",
                    token,
                    expense,
                    roots(supervisor),
                    args,
                ),
            }
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def measure_all(
    engine: str,
    url: str,
    method: str,
    token: str | None,
    body: str | None,
    roots: list[int],
    args: argparse.Namespace,
) -> dict:
    """One load run, with the CPU time the server's processes (`roots` and their children) spent."""
    before = sum(cpu_seconds(root) for root in roots)
    figures = load(engine, url, method, token, body, args.seconds, args.connections)
    spent = sum(cpu_seconds(root) for root in roots) - before
    figures["cpu_us_per_request"] = round(spent / max(1, figures["requests"]) * 1e6, 1)
    return figures


def summarise(results: dict[str, dict], n: int) -> dict[str, float]:
    """The issue's targets as ratios: per process against bare, growth from 1 to N against bare's,
    and the limiter's round trip as a share of throughput and as CPU per request."""
    rps = {name: figures["rps"] for name, figures in results.items()}
    cpu = {name: figures["cpu_us_per_request"] for name, figures in results.items()}
    summary: dict[str, float] = {}
    for kind in ("GET", "POST"):
        summary[f"{kind} per process vs bare"] = rps[f"api x1 {kind}"] / rps[f"bare x1 {kind}"]
        bare_growth = rps[f"bare x{n} {kind}"] / rps[f"bare x1 {kind}"]
        our_growth = rps[f"api x{n} {kind}"] / rps[f"api x1 {kind}"]
        summary[f"{kind} bare growth x1->x{n}"] = bare_growth
        summary[f"{kind} our growth x1->x{n}"] = our_growth
        summary[f"{kind} growth vs bare's"] = our_growth / bare_growth
        summary[f"{kind} limiter cost x{n} (rps share)"] = (
            1 - rps[f"api x{n} limited {kind}"] / rps[f"api x{n} {kind}"]
        )
        summary[f"{kind} limiter cost x{n} (cpu us)"] = (
            cpu[f"api x{n} limited {kind}"] - cpu[f"api x{n} {kind}"]
        )
        summary[f"{kind} limiter cost x1 (cpu us)"] = cpu[f"api x1 limited {kind}"] - cpu[f"api x1 {kind}"]
    summary["floor (GET /healthz) per process vs bare"] = rps["api x1 floor"] / rps["bare x1 GET"]
    summary["floor cpu us over bare"] = cpu["api x1 floor"] - cpu["bare x1 GET"]
    summary["worst p99 ms (api)"] = max(
        f["p99_ms"] for name, f in results.items() if name.startswith("api") and "floor" not in name
    )
    return {name: round(value, 3) for name, value in summary.items()}


def print_table(results: dict[str, dict], summary: dict[str, float], **context: object) -> None:
    print(", ".join(f"{k}: {v}" for k, v in context.items()))
    print(f"{'scenario':<26}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'cpu us/req':>12}")
    for name, f in results.items():
        print(
            f"{name:<26}{f['rps']:>9.0f}{f['p50_ms']:>9.2f}{f['p99_ms']:>9.2f}"
            f"{f['errors']:>8}{f['cpu_us_per_request']:>12.1f}"
        )
    print()
    for name, value in summary.items():
        print(f"{name:<38}{value:>9.3f}")
    print(json.dumps({**context, "results": results, "summary": summary}))


if __name__ == "__main__":
    main()
