"""Running the real `expense-tracker` command as a separate process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

COMMAND = str(Path(sys.executable).parent / "expense-tracker")
START_TIMEOUT_SECONDS = 20


def command_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a fresh install: none of the caller's store, broker or key settings."""
    inherited = ("DYNAMODB_", "REDIS_", "SECRET_", "STORE_", "SQLITE_", "APP_ENV", "LOG_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(inherited)}
    env.update({"DATA_DIR": str(data_dir), **extra})
    return env


def run_command(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([COMMAND, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


@contextmanager
def serving(env: dict[str, str], cwd: Path, port: int) -> Iterator[subprocess.Popen[str]]:
    """A server process on `port`, ready to answer; stopped with SIGTERM on exit if still running."""
    process = subprocess.Popen(
        [COMMAND, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_healthy(process, port)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_healthy(process: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {process.stderr.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"server on port {port} did not become healthy")
