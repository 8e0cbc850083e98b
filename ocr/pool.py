"""A pool of OCR worker processes that the event loop talks to through pipes, never waiting on them.

Why not `concurrent.futures.ProcessPoolExecutor`: it cannot end one job that hangs (its worker
cannot be killed without breaking the whole pool), and one worker dying breaks every pending job.
Here each worker is a `python -m ocr.worker` subprocess in its own session; a job that overruns
its time is ended by killing the worker's process group (tesseract included), and a dead or killed
worker is replaced in the background while the others carry on. Admission is bounded: at most
`size + queue_size` jobs are running or waiting; past that `run` refuses at once with `PoolBusy`,
which the API turns into 503 with `Retry-After`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import signal
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain import DomainError, Invalid, PayloadTooLarge, Unavailable, UnsupportedMediaType
from domain.metrics import OCR_FAILURES, OCR_JOB_SECONDS, OCR_QUEUE, OCR_RUNNING

log = logging.getLogger(__name__)

_LENGTH = struct.Struct(">I")
_PROJECT_ROOT = str(Path(__file__).resolve().parents[1])
READY_TIMEOUT_SECONDS = 30.0
STOP_GRACE_SECONDS = 2.0
RESPAWN_BACKOFF_SECONDS = (0.1, 0.5, 1.0, 2.0, 5.0)


# What an upload may tell a job beyond the pool's own options.
JOB_HINTS = ("currency", "country")


class PoolBusy(Unavailable):
    """The pool cannot take this job now; `retry_after` is a fair guess of when it could."""

    default_code = "ocr_busy"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class JobTimedOut(Invalid):
    default_code = "ocr_timeout"


_REMOTE_ERRORS: dict[str, type[DomainError]] = {
    "PayloadTooLarge": PayloadTooLarge,
    "UnsupportedMediaType": UnsupportedMediaType,
    "Invalid": Invalid,
}


@dataclass(frozen=True, slots=True)
class PoolStatus:
    size: int
    alive: int
    busy: int
    queued: int
    capacity: int
    completed: int
    timed_out: int
    replaced: int


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    async def spawn(cls) -> _Worker:
        env = dict(os.environ)
        env["OMP_THREAD_LIMIT"] = "1"
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PROJECT_ROOT, env.get("PYTHONPATH", "")) if p)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ocr.worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
            cwd=_PROJECT_ROOT,
            start_new_session=True,
        )
        worker = cls(process)
        try:
            ready = await asyncio.wait_for(worker._read(), READY_TIMEOUT_SECONDS)
            if not ready.get("ready"):
                raise RuntimeError(f"unexpected greeting {ready!r}")
        except BaseException:
            worker.kill()
            await worker.reap()
            raise
        return worker

    async def call(self, header: bytes, data: bytes) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(_LENGTH.pack(len(header)) + header)
        self.process.stdin.write(_LENGTH.pack(len(data)))
        self.process.stdin.write(data)
        await self.process.stdin.drain()
        return await self._read()

    async def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        head = await self.process.stdout.readexactly(_LENGTH.size)
        body = await self.process.stdout.readexactly(_LENGTH.unpack(head)[0])
        reply: dict[str, Any] = json.loads(body)
        return reply

    def kill(self) -> None:
        """End the worker and everything it started (tesseract), now."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()

    async def reap(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            await self.process.wait()

    async def stop(self) -> None:
        """Let the worker finish politely (end of input), killing it if it does not."""
        if self.process.stdin is not None and not self.process.stdin.is_closing():
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), STOP_GRACE_SECONDS)
        except asyncio.TimeoutError:
            self.kill()
            await self.reap()


class OcrPool:
    """`size` worker processes, each running one job at a time, fed through a bounded queue."""

    def __init__(
        self,
        *,
        size: int,
        queue_size: int,
        timeout: float,
        options: dict[str, Any],
    ) -> None:
        if size < 1:
            raise ValueError("an OCR pool needs at least one worker")
        self.size = size
        self.queue_size = queue_size
        self.timeout = timeout
        self._base_options = dict(options)
        self._options = json.dumps(options).encode()
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._workers: set[_Worker] = set()
        self._admitted = 0
        self._busy = 0
        self._completed = 0
        self._timed_out = 0
        self._replaced = 0
        self._job_seconds = 5.0  # running mean of recent jobs, for Retry-After
        self._closed = False
        self._spawning: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Start every worker; returns once all are ready to take a job."""
        workers = await asyncio.gather(*(_Worker.spawn() for _ in range(self.size)), return_exceptions=True)
        failures = [w for w in workers if isinstance(w, BaseException)]
        for worker in workers:
            if isinstance(worker, _Worker):
                self._workers.add(worker)
                self._idle.put_nowait(worker)
        if failures:
            await self.close()
            raise RuntimeError(f"OCR workers failed to start: {failures[0]!r}")

    async def close(self) -> None:
        self._closed = True
        for task in list(self._spawning):
            task.cancel()
        await asyncio.gather(*self._spawning, return_exceptions=True)
        await asyncio.gather(*(worker.stop() for worker in list(self._workers)), return_exceptions=True)
        self._workers.clear()

    def status(self) -> PoolStatus:
        return PoolStatus(
            size=self.size,
            alive=len(self._workers),
            busy=self._busy,
            queued=self._admitted - self._busy,
            capacity=self.size + self.queue_size,
            completed=self._completed,
            timed_out=self._timed_out,
            replaced=self._replaced,
        )

    def worker_pids(self) -> set[int]:
        return {worker.pid for worker in self._workers}

    async def run(
        self, data: bytes, *, timeout: float | None = None, hints: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """OCR one image in a worker, with the uploader's `hints` (`currency`, `country`: see
        `ocr.extract.extract`). Raises PoolBusy when the queue is full, JobTimedOut when the
        job overran (its worker is then killed and replaced), the image's own DomainError
        (413/415/422) when the worker refused it, Unavailable when the worker failed."""
        if self._closed:
            raise Unavailable("OCR is shutting down", code="ocr_unavailable")
        if self._admitted >= self.size + self.queue_size:
            OCR_FAILURES.labels("busy").inc()
            raise PoolBusy(
                f"all {self.size} OCR workers are busy and {self.queue_size} jobs are waiting",
                retry_after=self.retry_after(),
            )
        self._admitted += 1
        OCR_QUEUE.inc()
        waiting = True
        try:
            worker = await self._idle.get()
            OCR_QUEUE.dec()
            waiting = False
            self._busy += 1
            OCR_RUNNING.inc()
            try:
                header = self._options
                if hints:  # only the hints themselves: nothing a caller sends sets the command
                    chosen = {name: hints[name] for name in JOB_HINTS if hints.get(name)}
                    header = json.dumps({**self._base_options, **chosen}).encode()
                return await self._run_on(worker, header, data, timeout or self.timeout)
            finally:
                self._busy -= 1
                OCR_RUNNING.dec()
        finally:
            if waiting:  # cancelled while waiting for a worker
                OCR_QUEUE.dec()
            self._admitted -= 1

    def retry_after(self) -> int:
        """Seconds until the queue has likely moved on by one round of jobs."""
        rounds = max(1, self._admitted) / self.size
        return max(1, math.ceil(self._job_seconds * rounds))

    async def _run_on(self, worker: _Worker, header: bytes, data: bytes, timeout: float) -> dict[str, Any]:
        started = time.monotonic()
        try:
            reply = await asyncio.wait_for(worker.call(header, data), timeout)
        except asyncio.TimeoutError:
            self._timed_out += 1
            OCR_FAILURES.labels("timeout").inc()
            self._replace(worker, "overran its %.1f s" % timeout)
            raise JobTimedOut(
                f"reading the image took longer than {timeout:g} s and was stopped; "
                "try a smaller or sharper photo"
            ) from None
        except (asyncio.IncompleteReadError, ConnectionError, BrokenPipeError, ValueError) as exc:
            self._replace(worker, f"crashed ({type(exc).__name__})")
            OCR_FAILURES.labels("crash").inc()
            raise PoolBusy(
                "the OCR worker crashed while reading this image; it was replaced",
                retry_after=1,
                code="ocr_worker_crashed",
            ) from None
        except BaseException:
            # Cancelled mid-job (the client went away, the server stops): the worker's pipe may
            # hold half a frame, so it cannot be reused.
            self._replace(worker, "was interrupted")
            raise
        elapsed = time.monotonic() - started
        OCR_JOB_SECONDS.observe(elapsed)
        self._job_seconds = 0.8 * self._job_seconds + 0.2 * elapsed
        self._idle.put_nowait(worker)
        if reply.get("ok"):
            self._completed += 1
            result: dict[str, Any] = reply["result"]
            return result
        error = _REMOTE_ERRORS.get(reply.get("error", ""))
        OCR_FAILURES.labels("refused" if error is not None else "error").inc()
        if error is not None:
            raise error(reply.get("message", "the image was refused"), code=reply.get("code"))
        raise Unavailable(
            f"OCR failed: {reply.get('message', 'unknown error')}", code=reply.get("code") or "ocr_failed"
        )

    def _replace(self, worker: _Worker, why: str) -> None:
        log.warning("OCR worker %d %s; replacing it", worker.pid, why)
        worker.kill()
        self._workers.discard(worker)
        self._replaced += 1
        if self._closed:
            return
        task = asyncio.get_running_loop().create_task(self._respawn(worker))
        self._spawning.add(task)
        task.add_done_callback(self._spawning.discard)

    async def _respawn(self, dead: _Worker) -> None:
        await dead.reap()
        for attempt in range(1_000_000):
            if self._closed:
                return
            try:
                worker = await _Worker.spawn()
            except (
                OSError,
                RuntimeError,
                asyncio.TimeoutError,
                asyncio.IncompleteReadError,
                ValueError,
            ) as exc:
                delay = RESPAWN_BACKOFF_SECONDS[min(attempt, len(RESPAWN_BACKOFF_SECONDS) - 1)]
                log.error("starting an OCR worker failed (%r); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            if self._closed:
                await worker.stop()
                return
            self._workers.add(worker)
            self._idle.put_nowait(worker)
            return
