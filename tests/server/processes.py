"""Running the real `expense-tracker` command as a separate process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tests.services import free_port
from tests.waiting import wait_until_sync

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
    """Return once the server answers /healthz with 200; fail at once if it exits instead."""

    def healthy() -> bool:
        if process.poll() is not None:
            assert process.stderr is not None
            raise RuntimeError(f"server exited with {process.returncode}: {process.stderr.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as reply:
                return bool(reply.status == 200)
        except OSError:
            return False

    wait_until_sync(
        healthy, timeout=START_TIMEOUT_SECONDS, interval=0.1, what=f"the server on port {port} healthy"
    )


@contextmanager
def two_instances(env: dict[str, str], cwd: Path) -> Iterator[list[str]]:
    """Two server processes sharing `env`'s store, for as long as the block runs; their base URLs."""
    with ExitStack() as stack:
        urls = []
        for _ in range(2):
            port = free_port()
            stack.enter_context(serving(env, cwd, port))
            urls.append(f"http://127.0.0.1:{port}")
        yield urls
