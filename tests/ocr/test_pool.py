"""The worker pool with the real tesseract: results, refusals, timeouts, crashes, back-pressure."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from collections.abc import AsyncIterator

import pytest

from domain import Invalid, PayloadTooLarge
from ocr.pool import JobTimedOut, OcrPool, PoolBusy
from tests.ocr.samples import RECEIPTS, png_bomb, rendered_receipt, truncated_jpeg
from tests.waiting import wait_until

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs tesseract")

OPTIONS = {"languages": "eng", "max_pixels": 40_000_000, "tesseract_cmd": "tesseract"}


@pytest.fixture
async def pool() -> AsyncIterator[OcrPool]:
    pool = OcrPool(size=2, queue_size=2, timeout=30, options=OPTIONS)
    await pool.start()
    yield pool
    await pool.close()


async def test_a_receipt_is_read(pool: OcrPool) -> None:
    result = await pool.run(rendered_receipt())
    assert result["total"] == "5.00"
    assert result["date"] == "2024-03-14"
    assert "CORNER GROCERY" in result["raw_text"]
    assert result["timings"]["tesseract_ms"] > 0
    assert result["timings"]["cpu_ms"] > result["timings"]["tesseract_ms"] / 2


async def test_bad_images_are_refused_and_the_workers_survive(pool: OcrPool) -> None:
    pids = pool.worker_pids()
    with pytest.raises(PayloadTooLarge):
        await pool.run(png_bomb())
    with pytest.raises(Invalid):
        await pool.run(truncated_jpeg())
    assert pool.worker_pids() == pids
    assert (await pool.run(rendered_receipt()))["total"] == "5.00"


async def test_a_job_over_its_time_is_ended_and_its_worker_replaced(pool: OcrPool) -> None:
    pids = pool.worker_pids()
    slow = (RECEIPTS / "receipt_03.jpg").read_bytes()
    with pytest.raises(JobTimedOut):
        await pool.run(slow, timeout=0.3)
    killed = pids - pool.worker_pids()
    assert len(killed) == 1
    (pid,) = killed
    await wait_until(lambda: _gone(pid), what=f"the killed worker {pid} reaped")
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the worker is gone (and reaped), tesseract with it
    assert (await pool.run(rendered_receipt()))["total"] == "5.00"
    await wait_until(lambda: pool.status().alive == 2, timeout=15, what="two workers alive")
    assert pool.status().timed_out == 1


async def test_a_crashed_worker_is_replaced_without_losing_the_pool(pool: OcrPool) -> None:
    job = asyncio.ensure_future(pool.run((RECEIPTS / "receipt_03.jpg").read_bytes()))
    await wait_until(lambda: pool.status().busy == 1, timeout=15, what="one job running")
    victim = next(iter(pool.worker_pids()))
    os.kill(victim, signal.SIGKILL)
    results = await asyncio.gather(job, pool.run(rendered_receipt()), return_exceptions=True)
    # Whichever worker died, the pool keeps answering.
    assert any(isinstance(r, dict) for r in results)
    await wait_until(
        lambda: pool.status().alive == 2 and victim not in pool.worker_pids(),
        timeout=15,
        what="the killed worker replaced",
    )
    assert (await pool.run(rendered_receipt()))["total"] == "5.00"


async def test_a_full_queue_refuses_at_once_with_a_retry_hint(pool: OcrPool) -> None:
    image = rendered_receipt()
    running = [asyncio.ensure_future(pool.run(image)) for _ in range(4)]  # 2 busy + 2 queued
    await asyncio.sleep(0)
    with pytest.raises(PoolBusy) as refused:
        await pool.run(image)
    assert refused.value.retry_after >= 1
    assert all(r["total"] == "5.00" for r in await asyncio.gather(*running))


def _gone(pid: int) -> bool:
    """Whether no process has the id `pid` any more (a zombie still has it until it is reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_a_job_takes_the_hints_and_nothing_else(pool: OcrPool) -> None:
    """Hints reach the worker; a key that names one of the pool's own options does not."""
    hinted = await pool.run(
        rendered_receipt(), hints={"country": "US", "tesseract_cmd": "/bin/false", "languages": "xyz"}
    )
    assert hinted["total"] == "5.00"
    assert hinted["date"] == "2024-03-14"  # 14 settles it, whatever the country
