"""Load-generation pieces the benchmarks share: starting the servers, loading an endpoint for a
fixed time with a fixed number of connections (wrk where installed, else an aiohttp client), and
printing results beside the bare aiohttp handler's."""

from __future__ import annotations

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
from collections.abc import Iterator
from contextlib import contextmanager
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


def run_wrk(
    url: str,
    method: str,
    token: str | None,
    body: str | None,
    seconds: float,
    connections: int,
    extra_headers: dict[str, str] | None = None,
) -> dict:
    headers = {"Content-Type": "application/json", **(extra_headers or {})}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    lua = "\n".join(
        [f'wrk.method = "{method}"']
        + [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
        + ([f"wrk.body = {json.dumps(body)}"] if body else [])
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    try:
        output = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--latency",
                "-s",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)

    def percentile(label: str) -> float:
        value, unit = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", output).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {
        "rps": rps,
        "requests": requests,
        "p50_ms": percentile("50"),
        "p99_ms": percentile("99"),
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
    }


async def run_aiohttp(
    url: str,
    method: str,
    token: str | None,
    body: str | None,
    seconds: float,
    connections: int,
    extra_headers: dict[str, str] | None = None,
) -> dict:
    import aiohttp

    headers = {"Content-Type": "application/json", **(extra_headers or {})}
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
                # As wrk counts: a 304 (a conditional GET's answer) is not an error.
                if reply.status >= 300 and reply.status != 304:
                    errors += 1
            latencies.append((time.perf_counter() - started) * 1000)

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.monotonic()
        await asyncio.gather(*(worker(session) for _ in range(connections)))
        elapsed = time.monotonic() - began
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "rps": len(latencies) / elapsed,
        "requests": len(latencies),
        "p50_ms": cuts[49],
        "p99_ms": cuts[98],
        "errors": errors,
    }


def api_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The API's environment on its embedded defaults, without the limiter unless `extra` sets it."""
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "SECRET_KEY": "b" * 48,
        "STORE_BACKEND": "sqlite",
        "LOG_LEVEL": "WARNING",
        # Throughput, not the limiter, is measured here.
        "RATE_LIMIT_PER_MINUTE": "0",
        "RATE_LIMIT_WRITES_PER_MINUTE": "0",
    }
    for name in ("REDIS_URL", "DYNAMODB_ENDPOINT_URL", "WEB_CONCURRENCY"):
        env.pop(name, None)
    return {**env, **extra}


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=60)


@contextmanager
def api_server(env: dict[str, str], workers: int = 1) -> Iterator[tuple[str, subprocess.Popen]]:
    """`expense-tracker serve --workers N` on a free port: its base URL and its process."""
    port = free_port()
    command = [str(BIN / "expense-tracker"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    api = subprocess.Popen([*command, "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", api)
        if workers > 1:
            wait_workers(f"http://127.0.0.1:{port}/healthz", workers)
        yield f"http://127.0.0.1:{port}", api
    finally:
        _stop([api])


def wait_workers(url: str, workers: int) -> None:
    """Until `/healthz` has been answered by each of the `workers` (it names the one answering)."""
    seen: set[object] = set()
    deadline = time.monotonic() + 30
    while len(seen) < workers:
        if time.monotonic() > deadline:
            raise SystemExit(f"only workers {sorted(map(str, seen))} of {workers} answered")
        with urllib.request.urlopen(url, timeout=2) as reply:
            seen.add(json.loads(reply.read()).get("worker"))


@contextmanager
def bare_servers(processes: int = 1) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """The bare app in `processes` processes sharing one port (SO_REUSEPORT)."""
    port = free_port()
    command = [sys.executable, str(HERE / "bare_server.py"), str(port)]
    started = [subprocess.Popen([*command, *(["shared"] if processes > 1 else [])]) for _ in range(processes)]
    try:
        for process in started:
            wait_healthy(f"http://127.0.0.1:{port}/bare", process)
        yield f"http://127.0.0.1:{port}", started
    finally:
        _stop(started)


@contextmanager
def servers(data_dir: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """The API on its embedded defaults and the bare app; yields both base URLs and the API's env."""
    env = api_env(data_dir)
    with api_server(env) as (api, _), bare_servers() as (bare, _):
        yield api, bare, env


def cpu_seconds(root: int) -> float:
    """User plus system CPU seconds of process `root` and of its living descendants, from /proc."""
    total, pending = 0.0, [root]
    tick = os.sysconf("SC_CLK_TCK")
    while pending:
        pid = pending.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
        pending.extend(int(child) for child in children)
    return total


def token_for(email: str, env: dict[str, str]) -> str:
    return subprocess.run(
        [str(BIN / "expense-tracker"), "token", email], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def call(method: str, url: str, token: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        url,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as reply:
        return json.loads(reply.read() or b"null")


def load(
    engine: str,
    url: str,
    method: str,
    token: str | None,
    body: str | None,
    seconds: float,
    connections: int,
    extra_headers: dict[str, str] | None = None,
) -> dict:
    if engine == "wrk":
        return run_wrk(url, method, token, body, seconds, connections, extra_headers)
    return asyncio.run(run_aiohttp(url, method, token, body, seconds, connections, extra_headers))


def pick_engine(requested: str) -> str:
    return requested if requested != "auto" else ("wrk" if shutil.which("wrk") else "aiohttp")


def report(results: dict[str, dict], baseline_of: dict[str, str], **context: object) -> None:
    """A table with each scenario's ratio to its bare baseline, then the same as one JSON line."""
    print(", ".join(f"{k}: {v}" for k, v in context.items()))
    print(f"{'scenario':<34}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}{'vs bare':>9}")
    for name, figures in results.items():
        baseline = results.get(baseline_of.get(name, name), figures)
        figures["ratio_to_bare"] = round(figures["rps"] / baseline["rps"], 3)
        print(
            f"{name:<34}{figures['rps']:>10.0f}{figures['p50_ms']:>10.2f}"
            f"{figures['p99_ms']:>10.2f}{figures['errors']:>8}{figures['ratio_to_bare']:>9.2f}"
        )
    print(json.dumps({**context, "results": results}))
