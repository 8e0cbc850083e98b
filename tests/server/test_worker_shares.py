"""How the supervisor divides the machine's OCR processes among its workers."""

from __future__ import annotations

import pytest

from server.workers import ocr_shares


@pytest.mark.parametrize(
    ("total", "workers", "shares"),
    [(2, 2, [1, 1]), (5, 2, [3, 2]), (1, 3, [1, 1, 1]), (8, 3, [3, 3, 2]), (4, 1, [4])],
)
def test_the_machine_total_is_divided_and_each_worker_has_one(
    total: int, workers: int, shares: list[int]
) -> None:
    assert ocr_shares(total, workers) == shares
    assert sum(shares) == max(total, workers)
