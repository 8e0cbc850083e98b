"""Real backing services for tests, each on a free loopback port, always stopped afterwards."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from tests.waiting import NeverHappened, wait_until_sync

STARTUP_TIMEOUT = 30.0


class ServiceUnavailable(RuntimeError):
    pass


def _binary(name: str) -> str:
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which(name)
    if found is None:
        raise ServiceUnavailable(f"{name} is not installed (looked beside {sys.executable} and on PATH)")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _process(
    name: str,
    args: list[str],
    ready: Callable[[], bool],
    cwd: str | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[None]:
    """Run `args` until the block ends, once `ready()` holds; fail clearly if it never does.

    Output goes to a file, not a pipe: a chatty server would block once a pipe's buffer filled."""
    log = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_started(name, process, ready, log)
        yield
    finally:
        process.terminate()
        try:
            # One of the servers (seen at the session's end) ignores SIGTERM: it cost 10 s per run.
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_started(
    name: str, process: subprocess.Popen[bytes], ready: Callable[[], bool], log: IO[str]
) -> None:
    """Return once `ready()` holds; raise ServiceUnavailable if the process exits or takes too long."""

    def started() -> bool:
        if ready():
            return True
        if process.poll() is not None:
            log.seek(0)
            raise ServiceUnavailable(f"{name} exited with status {process.returncode}: {log.read()[-2000:]}")
        return False

    try:
        wait_until_sync(started, timeout=STARTUP_TIMEOUT, interval=0.1, what=f"{name} ready")
    except NeverHappened:
        raise ServiceUnavailable(f"{name} did not start within {STARTUP_TIMEOUT:.0f}s") from None


def _answers_http(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


# moto_server's threaded werkzeug server runs requests side by side with no locking, so two
# TransactWriteItems can both pass a condition that only one of them should (seen: eight members
# joining a group with room for three). DynamoDB applies each item's writes one at a time; running
# moto_server's own entry point with requests serialised restores that, and keeps the concurrency
# tests meaningful.
_SERIALISED_MOTO = """
import sys, threading
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.server import main
lock, call = threading.Lock(), DomainDispatcherApplication.__call__
def serialised(self, environ, start_response):
    with lock:
        return call(self, environ, start_response)
DomainDispatcherApplication.__call__ = serialised
main(sys.argv[1:])
"""


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server (every AWS service over HTTP) that handles one request at a time; yields its
    endpoint URL."""
    if importlib.util.find_spec("moto.server") is None or importlib.util.find_spec("flask") is None:
        raise ServiceUnavailable(f"moto[server] is not installed for {sys.executable}")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-c", _SERIALISED_MOTO, "-H", "127.0.0.1", "-p", str(port)]
    with _process("moto_server", args, lambda: _answers_http(url)):
        yield url


@contextmanager
def redis_server(port: int | None = None) -> Iterator[str]:
    """A throwaway redis-server with persistence off; yields its redis:// URL. Pass the `port` of
    a stopped one to start it again at the same address (empty, as after a crash)."""
    binary = _binary("redis-server")
    port = port or free_port()
    with tempfile.TemporaryDirectory(prefix="redis-") as workdir:
        args = [binary, "--port", str(port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no"]
        with _process("redis-server", args, lambda: _answers_ping(port), cwd=workdir):
            yield f"redis://127.0.0.1:{port}/0"


@contextmanager
def oidc_provider_mock() -> Iterator[str]:
    """oidc-provider-mock (a real OpenID Connect provider for tests) in its own process; yields its
    issuer URL. Any client id and secret are accepted; users are set up with `PUT /users/{sub}`."""
    binary = _binary("oidc-provider-mock")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    args = [binary, "--host", "127.0.0.1", "--port", str(port)]
    with _process(
        "oidc-provider-mock",
        args,
        lambda: _answers_http(f"{issuer}/.well-known/openid-configuration"),
    ):
        yield issuer


@contextmanager
def vite_dev_server(web_dir: Path, api_origin: str, port: int | None = None) -> Iterator[str]:
    """The web app's Vite dev server (what `npm run dev` starts, on `port` or a free one) talking to
    the API at `api_origin`; yields its origin."""
    port = port or free_port()
    origin = f"http://127.0.0.1:{port}"
    args = [
        str(web_dir / "node_modules" / ".bin" / "vite"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--strictPort",
        # Vite 8 refuses a second dev server of one project: a developer's own `npm run dev`
        # must not fail the suite.
        "--bypass-lock",
    ]
    env = {**os.environ, "VITE_API_BASE_URL": api_origin}
    with _process("vite", args, lambda: _answers_http(origin + "/"), cwd=str(web_dir), env=env):
        yield origin
