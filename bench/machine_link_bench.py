"""What a request's rate-limit check costs when the workers share their buckets through the
supervisor (`serve --workers N` without Redis, issue 17): `take` over the machine link from 64
concurrent callers, beside the same check on in-process buckets (what one worker does) measured
in the same run. CPU microseconds per check, of the asking process and of the supervisor, are the
figures to compare; checks per second depend on the machine.

    python bench/machine_link_bench.py [--seconds 3] [--callers 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from load import cpu_seconds  # noqa: E402

from realtime.machine import MachineLink  # noqa: E402
from server.buckets import Budget, MemoryBuckets  # noqa: E402
from server.machine import MachineService  # noqa: E402

BUDGET = Budget(per_minute=1_000_000_000, writes_per_minute=1_000_000_000)


def serve(path: str) -> None:
    async def run() -> None:
        service = MachineService(history=1000, budget=BUDGET)
        await service.start(path)
        await asyncio.Event().wait()

    asyncio.run(run())


async def hammer(take: object, seconds: float, callers: int) -> tuple[int, float]:
    """Checks made by `callers` concurrent loops for `seconds`, and this process's CPU seconds."""
    done = 0
    deadline = time.monotonic() + seconds

    async def caller(number: int) -> None:
        nonlocal done
        while time.monotonic() < deadline:
            await take(f"user:{number}", write=False, now=time.time())  # type: ignore[operator]
            done += 1

    cpu = time.process_time()
    await asyncio.gather(*(caller(number) for number in range(callers)))
    return done, time.process_time() - cpu


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--callers", type=int, default=64)
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}

    local = MemoryBuckets(BUDGET)
    checks, cpu = await hammer(local.take, args.seconds, args.callers)
    results["in-process buckets"] = {"checks_per_s": checks / args.seconds, "cpu_us": cpu / checks * 1e6}

    path = os.path.join(tempfile.mkdtemp(prefix="link-"), "machine.sock")
    supervisor = get_context("spawn").Process(target=serve, args=(path,), daemon=True)
    supervisor.start()
    while not os.path.exists(path):
        await asyncio.sleep(0.01)
    link = MachineLink(path, on_lost=lambda: None)
    await link.connect()

    async def take(key: str, *, write: bool, now: float) -> float:
        return float(await link.ask("take", key, write, now))

    before = cpu_seconds(supervisor.pid or 0)
    checks, cpu = await hammer(take, args.seconds, args.callers)
    theirs = cpu_seconds(supervisor.pid or 0) - before
    results["through the supervisor"] = {
        "checks_per_s": checks / args.seconds,
        "cpu_us": cpu / checks * 1e6,
        "supervisor_cpu_us": theirs / checks * 1e6,
    }
    await link.close()
    supervisor.terminate()

    print(f"callers: {args.callers}, seconds: {args.seconds}")
    print(f"{'check':<26}{'checks/s':>12}{'asker us':>11}{'supervisor us':>15}")
    for name, figures in results.items():
        print(
            f"{name:<26}{figures['checks_per_s']:>12.0f}{figures['cpu_us']:>11.1f}"
            f"{figures.get('supervisor_cpu_us', 0.0):>15.1f}"
        )
    print(json.dumps({"callers": args.callers, "seconds": args.seconds, "results": results}))


if __name__ == "__main__":
    asyncio.run(main())
