"""`expense-tracker serve --workers N` (or `WEB_CONCURRENCY=N`): N server processes on one port.

The supervisor (this module, the process the operator started) starts each worker as
`expense-tracker serve` with one worker, in a session of its own, and:

- the port: with SO_REUSEPORT (Linux, the BSDs) each worker binds the port itself and the kernel
  spreads connections over them; elsewhere the supervisor binds it once and the workers inherit
  the listening socket (`LISTEN_FD_ENV`);
- what workers share: without `REDIS_URL`, the supervisor serves one broker, one ticket store and
  one set of rate-limit buckets on a Unix socket (`server.machine`); with it, Redis does that as it
  does for several machines. The store (SQLite's file, or DynamoDB) is shared as it is anyway;
- OCR: `OCR_WORKERS` is the machine's number of OCR processes, divided among the workers;
- metrics: prometheus-client's multiprocess mode, in a directory of the supervisor's, so `/metrics`
  on any worker counts every worker's requests;
- SIGTERM or SIGINT: passed to every worker, each of which stops listening and drains its requests
  and WebSockets within its grace period; the supervisor exits once all have;
- a worker that exits on its own is started again (after a growing pause if it keeps failing).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path

from realtime.settings import MACHINE_SOCKET_ENV
from server.buckets import Budget
from server.config import WORKER_ENV, Config
from server.machine import MachineService

log = logging.getLogger("expense_tracker")

LISTEN_FD_ENV = "EXPENSE_TRACKER_LISTEN_FD"
"""Not a setting: the inherited listening socket of a worker, where SO_REUSEPORT is missing."""
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
STOP_GRACE_SECONDS = 45
"""How long a worker may take to drain after SIGTERM (its own grace period is 30 s) before it is
killed."""
RESTART_PAUSE_SECONDS = (0.5, 10.0)


def reuse_port_available() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def ocr_shares(total: int, workers: int) -> list[int]:
    """The machine's `total` OCR processes spread over `workers` (each worker has at least one)."""
    return [max(1, total // workers + (1 if slot < total % workers else 0)) for slot in range(workers)]


def supervise(config: Config, *, host: str, port: int, workers: int) -> int:
    return asyncio.run(_Supervisor(config, host=host, port=port, workers=workers).run())


class _Supervisor:
    def __init__(self, config: Config, *, host: str, port: int, workers: int) -> None:
        self._config = config
        self._host = host
        self._port = port
        self._workers = workers
        self._stopping = asyncio.Event()
        self._processes: dict[int, asyncio.subprocess.Process] = {}

    async def run(self) -> int:
        directory = Path(tempfile.mkdtemp(prefix="expense-tracker-"))
        machine: MachineService | None = None
        listening: socket.socket | None = None
        try:
            env = self._base_env(directory)
            if self._config.redis_url is None:
                limits = self._config.rate_limits
                budget = Budget(limits.per_minute, limits.writes_per_minute) if limits.enabled else None
                machine = MachineService(history=self._config.realtime.history, budget=budget)
                await machine.start(str(directory / "machine.sock"))
                env[MACHINE_SOCKET_ENV] = str(directory / "machine.sock")
            if not reuse_port_available():
                listening = socket.create_server((self._host, self._port), backlog=1024)
                listening.set_inheritable(True)
                env[LISTEN_FD_ENV] = str(listening.fileno())
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, self._stopping.set)
            shares = ocr_shares(self._config.ocr.workers, self._workers)
            keepers = [
                asyncio.create_task(self._keep(slot, {**env, "OCR_WORKERS": str(shares[slot])}, listening))
                for slot in range(self._workers)
            ]
            print(
                f"expense-tracker: {self._workers} workers on http://{self._host}:{self._port} "
                f"(shared through {'redis' if self._config.redis_url else 'this supervisor'})",
                flush=True,
            )
            await self._stopping.wait()
            await self._stop_all()
            await asyncio.gather(*keepers, return_exceptions=True)
            return 0
        finally:
            if machine is not None:
                await machine.stop()
            if listening is not None:
                listening.close()
            shutil.rmtree(directory, ignore_errors=True)

    def _base_env(self, directory: Path) -> dict[str, str]:
        metrics = directory / "metrics"
        metrics.mkdir()
        env = {k: v for k, v in os.environ.items() if k not in (MACHINE_SOCKET_ENV, LISTEN_FD_ENV)}
        env.update({"WEB_CONCURRENCY": "1", METRICS_DIR_ENV: str(metrics)})
        return env

    async def _keep(self, slot: int, env: dict[str, str], listening: socket.socket | None) -> None:
        """Run worker `slot` until the supervisor stops, starting it again whenever it exits."""
        loop = asyncio.get_running_loop()
        pause = RESTART_PAUSE_SECONDS[0]
        command = [
            sys.executable,
            "-m",
            "server.cli",
            "serve",
            "--host",
            self._host,
            "--port",
            str(self._port),
        ]
        while not self._stopping.is_set():
            started = loop.time()
            process = await asyncio.create_subprocess_exec(
                *command,
                env={**env, WORKER_ENV: str(slot)},
                start_new_session=True,
                pass_fds=(listening.fileno(),) if listening is not None else (),
            )
            self._processes[slot] = process
            code = await process.wait()
            self._processes.pop(slot, None)
            _forget_metrics_of(process.pid, env[METRICS_DIR_ENV])
            if self._stopping.is_set():
                return
            pause = RESTART_PAUSE_SECONDS[0] if loop.time() - started > 30 else pause
            log.error(
                "worker %d (pid %d) exited with %s; starting another in %.1fs", slot, process.pid, code, pause
            )
            try:
                await asyncio.wait_for(self._stopping.wait(), pause)
            except asyncio.TimeoutError:
                pass
            pause = min(pause * 2, RESTART_PAUSE_SECONDS[1])

    async def _stop_all(self) -> None:
        processes = list(self._processes.values())
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        waits = [asyncio.wait_for(process.wait(), STOP_GRACE_SECONDS) for process in processes]
        for process, outcome in zip(
            processes, await asyncio.gather(*waits, return_exceptions=True), strict=True
        ):
            if isinstance(outcome, asyncio.TimeoutError):
                log.error("worker pid %d did not drain in %ss; killing it", process.pid, STOP_GRACE_SECONDS)
                process.kill()
                await process.wait()


def _forget_metrics_of(pid: int, directory: str) -> None:
    """A dead worker's live gauges (open WebSockets, OCR jobs) must stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
