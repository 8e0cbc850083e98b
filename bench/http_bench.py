"""Requests per second and latency of the API on its embedded defaults, beside a bare aiohttp app.

Starts both servers itself, loads each endpoint with a fixed number of connections for a fixed time
(wrk where installed, else an aiohttp client), and prints a table and one JSON line.

    python bench/http_bench.py [--seconds 5] [--connections 64] [--engine auto|wrk|aiohttp]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited early with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def run_wrk(url: str, method: str, token: str | None, body: str | None, seconds: float,
            connections: int) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    lua = "\n".join(
        [f'wrk.method = "{method}"']
        + [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
        + ([f"wrk.body = {json.dumps(body)}"] if body else [])
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    try:
        output = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
             "-s", script.name, url],
            capture_output=True, text=True, timeout=seconds + 30, check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)

    def percentile(label: str) -> float:
        value, unit = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", output).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {"rps": rps, "p50_ms": percentile("50"), "p99_ms": percentile("99"),
            "errors": int(non_2xx.group(1)) if non_2xx else 0}


async def run_aiohttp(url: str, method: str, token: str | None, body: str | None,
                      seconds: float, connections: int) -> dict:
    import aiohttp

    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            started = time.perf_counter()
            async with session.request(method, url, data=body, headers=headers) as reply:
                await reply.read()
                if reply.status >= 300:
                    errors += 1
            latencies.append((time.perf_counter() - started) * 1000)

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.monotonic()
        await asyncio.gather(*(worker(session) for _ in range(connections)))
        elapsed = time.monotonic() - began
    cuts = statistics.quantiles(latencies, n=100)
    return {"rps": len(latencies) / elapsed, "p50_ms": cuts[49], "p99_ms": cuts[98],
            "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--engine", choices=("auto", "wrk", "aiohttp"), default="auto")
    args = parser.parse_args()
    engine = args.engine if args.engine != "auto" else ("wrk" if shutil.which("wrk") else "aiohttp")

    data_dir = Path(tempfile.mkdtemp(prefix="bench-"))
    env = {**os.environ, "DATA_DIR": str(data_dir), "SECRET_KEY": "b" * 48,
           "STORE_BACKEND": "sqlite", "LOG_LEVEL": "WARNING"}
    env.pop("REDIS_URL", None)
    api_port, bare_port = free_port(), free_port()
    api = subprocess.Popen([str(BIN / "expense-tracker"), "serve", "--host", "127.0.0.1",
                            "--port", str(api_port)], env=env, stdout=subprocess.DEVNULL)
    bare = subprocess.Popen([sys.executable, str(HERE / "bare_server.py"), str(bare_port)])
    try:
        wait_healthy(f"http://127.0.0.1:{api_port}/healthz", api)
        wait_healthy(f"http://127.0.0.1:{bare_port}/bare", bare)
        token = subprocess.run([str(BIN / "expense-tracker"), "token", "bench@example.com"],
                               env=env, capture_output=True, text=True, check=True).stdout.strip()
        for number in range(20):
            request = urllib.request.Request(
                f"http://127.0.0.1:{api_port}/api/groups", method="POST",
                data=json.dumps({"name": f"group {number}"}).encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            urllib.request.urlopen(request).close()
        group_body = json.dumps({"name": "bench group", "default_currency": "EUR"})
        scenarios = [
            ("bare GET", f"http://127.0.0.1:{bare_port}/bare", "GET", None, None),
            ("GET /api/groups", f"http://127.0.0.1:{api_port}/api/groups", "GET", token, None),
            ("bare POST", f"http://127.0.0.1:{bare_port}/bare", "POST", None, group_body),
            ("POST /api/groups", f"http://127.0.0.1:{api_port}/api/groups", "POST", token, group_body),
        ]
        results = {}
        for name, url, method, bearer, body in scenarios:
            if engine == "wrk":
                results[name] = run_wrk(url, method, bearer, body, args.seconds, args.connections)
            else:
                results[name] = asyncio.run(
                    run_aiohttp(url, method, bearer, body, args.seconds, args.connections))
    finally:
        for process in (api, bare):
            process.terminate()
            process.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)

    print(f"engine: {engine}, connections: {args.connections}, seconds per scenario: {args.seconds}")
    print(f"{'scenario':<20}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}{'vs bare':>9}")
    for name, figures in results.items():
        bare_name = "bare GET" if "GET" in name else "bare POST"
        ratio = figures["rps"] / results[bare_name]["rps"]
        figures["ratio_to_bare"] = round(ratio, 3)
        print(f"{name:<20}{figures['rps']:>10.0f}{figures['p50_ms']:>10.2f}"
              f"{figures['p99_ms']:>10.2f}{figures['errors']:>8}{ratio:>9.2f}")
    print(json.dumps({"engine": engine, "connections": args.connections, "results": results}))


if __name__ == "__main__":
    main()
