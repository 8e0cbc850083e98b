"""Receipt OCR on phone-photo-like pictures: per-field accuracy for each image preparation, on the
shared scans and on photo-like versions of them (tests/ocr/photos.py: the paper on a darker
textured table, in perspective, under a shadow, JPEG; seeded, made in memory).

    .venv/bin/python bench/ocr_photo_bench.py [--receipts ../shared/receipts] [--sets scan,photo]
        [--preparations pillow,no-rectify] [--layout on|off|both] [--seed-base N]

`pillow` is the worker's preparation; `no-rectify` the same without straightening photos in
perspective (ocr/paper.py), the baseline it is measured against in the same run. Each job runs
the worker's own `recognise` in one of two processes. Prints one table per run and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ocr_bench import DEFAULT_RECEIPTS, FIELDS, load_truth  # noqa: E402
from ocr.settings import DEFAULT_LANGUAGES  # noqa: E402
from tests.ocr.synthetic import judge as verdicts  # noqa: E402

Job = tuple[str, str, str, str, int]


def _run(job: Job) -> dict[str, Any]:
    """One receipt through `recognise`, with the chosen preparation and row rebuilding."""
    import os

    os.environ["OMP_THREAD_LIMIT"] = "1"
    from ocr import imaging, worker
    from tests.ocr.photos import photographed

    path, kind, preparation, layout, seed = job
    data = Path(path).read_bytes()
    if kind == "photo":
        data = photographed(data, seed=seed)
    # a candidate preparation plugs in here to be compared
    if preparation not in ("pillow", "no-rectify"):
        raise ValueError(f"unknown preparation {preparation!r}")
    imaging.RECTIFY = preparation == "pillow"
    worker.ROW_REBUILDING = layout == "on"
    started = _cpu()
    try:
        result = worker.recognise(
            data, {"languages": DEFAULT_LANGUAGES, "max_pixels": 60_000_000, "tesseract_cmd": "tesseract"}
        )
    except Exception as exc:  # a bench reports failures, it does not stop on them
        result = {"error": repr(exc)}
    # CPU seconds of this process and the tesseract it ran (children): the cost per core
    result["cpu_seconds"] = _cpu() - started
    return result


def _cpu() -> float:
    import os

    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--receipts", type=Path, default=DEFAULT_RECEIPTS)
    parser.add_argument("--sets", default="scan,photo")
    parser.add_argument("--preparations", default="pillow,no-rectify")
    parser.add_argument("--layout", choices=("on", "off", "both"), default="on")
    parser.add_argument(
        "--seed-base", type=int, default=0, help="photo seeds start here (other angles, tables, light)"
    )
    args = parser.parse_args()
    truth = load_truth(args.receipts)
    layouts = ["off", "on"] if args.layout == "both" else [args.layout]
    runs = [
        (kind, prep, layout)
        for kind in args.sets.split(",")
        for prep in args.preparations.split(",")
        for layout in layouts
    ]
    jobs: list[Job] = [
        (str(args.receipts / t["file"]), kind, prep, layout, args.seed_base + index)
        for kind, prep, layout in runs
        for index, t in enumerate(truth)
    ]
    with multiprocessing.get_context("spawn").Pool(2, maxtasksperchild=8) as pool:
        started = time.perf_counter()
        results = pool.map(_run, jobs, chunksize=1)
        wall = time.perf_counter() - started
    report: dict[str, Any] = {"receipts": len(truth), "wall_seconds": round(wall, 1), "runs": {}}
    for number, (kind, prep, layout) in enumerate(runs):
        chunk = results[number * len(truth) : (number + 1) * len(truth)]
        hits = {f: 0 for f in FIELDS}
        print(f"\n== {kind} / {prep} / rows rebuilt: {layout}")
        for item, result in zip(truth, chunk, strict=True):
            # the corpus's judge, as bench/ocr_bench.py uses (the shared truth names no currency)
            verdict = verdicts(result, {**item, "currency": result.get("currency")})
            marks = {f: verdict[f] == "right" for f in FIELDS}
            for f in FIELDS:
                hits[f] += marks[f]
            print(
                f"{item['file']:<16} {str(result.get('total')):>9} {'✓' if marks['total'] else '✗'} "
                f"{str(result.get('date')):<10} {'✓' if marks['date'] else '✗'} "
                f"{(result.get('merchant') or result.get('error') or '')[:28]:<28} "
                f"{'✓' if marks['merchant'] else '✗'} {result['cpu_seconds']:5.2f}s"
            )
        n = len(truth)
        cpu = sum(r["cpu_seconds"] for r in chunk) / n
        prepare = sum(r.get("timings", {}).get("prepare_ms", 0) for r in chunk) / n
        line = "  ".join(f"{f} {100 * hits[f] / n:5.1f} %" for f in FIELDS)
        print(f"{line}   {cpu:.2f} s CPU/receipt (prepare {prepare:.0f} ms)")
        report["runs"][f"{kind}/{prep}/{layout}"] = {
            **{f: round(hits[f] / n, 3) for f in FIELDS},
            "cpu_seconds_per_receipt": round(cpu, 2),
            "mean_prepare_ms": round(prepare),
        }
    print()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
