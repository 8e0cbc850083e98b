"""The merchant model against a baseline on the same OCR: every picture is read once (the worker's
own `recognise`, its lines captured where they enter `extract`) and cached, then the merchant
model of the working tree and that of a git ref both score the same lines. The OCR is the slow,
noisy part of a bench; a change to the merchant model (`ocr/merchant*.py`) changes nothing before it, so this
compares the two models exactly, picture by picture, in one run.

    .venv/bin/python bench/ocr_merchant_bench.py [--receipts ../shared/receipts]
        [--sets scan,photo,synthetic,text,noisy] [--seeds 0,1000,2000,3000] [--synthetic 60]
        [--synthetic-base 100000] [--text 2000] [--baseline REF] [--cache /tmp/ocr-merchant-lines]
        [--show changed|all|none]

`photo` are tests/ocr/photos.py's photo-like pictures of the shared scans, one set per seed base
(as `bench/ocr_photo_bench.py --seed-base`); `synthetic` the rendered and degraded corpus receipts
`bench/ocr_bench.py --only synthetic` reads (seeds from `--synthetic-base`); `text` and `noisy` its
text pass (the printed lines, clean and OCR-noised, seeds 0 to `--text`). `--baseline` is the
git ref whose merchant model (its own `ocr/`) is compared (default: where this branch left main). Prints, per
set, right/null/wrong for both models, the pictures whose verdict changed, and one JSON line.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import io
import json
import multiprocessing
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ocr_bench import DEFAULT_RECEIPTS, load_truth  # noqa: E402
from ocr.settings import DEFAULT_LANGUAGES  # noqa: E402
from ocr.text import Line, Word, clean, fold_name  # noqa: E402

# (set, label, receipt file or synthetic seed, photo seed)
Job = tuple[str, str, str, int]
Finder = Callable[[list[Line]], tuple[str | None, float]]


def _read(job: Job) -> list[list[Any]]:
    """One picture through the worker's `recognise`; the lines it hands to `extract`, serialised."""
    import os

    os.environ["OMP_THREAD_LIMIT"] = "1"
    from ocr import worker

    kind, _, source, seed = job
    if kind == "synthetic":
        from tests.ocr.synthetic import generate
        from tests.ocr.synthetic.render import degrade

        receipt = generate(int(source))
        data = degrade(receipt.render(), receipt.seed)
    else:
        data = Path(source).read_bytes()
        if kind == "photo":
            from tests.ocr.photos import photographed

            data = photographed(data, seed=seed)
    captured: list[list[Line]] = []
    real_extract = getattr(worker, "extract")  # noqa: B009

    def capturing(lines: list[Line], **kwargs: Any) -> Any:
        captured.append(list(lines))
        return real_extract(lines, **kwargs)

    setattr(worker, "extract", capturing)  # noqa: B010 (the worker's own name, patched for this run)
    try:
        worker.recognise(
            data, {"languages": DEFAULT_LANGUAGES, "max_pixels": 60_000_000, "tesseract_cmd": "tesseract"}
        )
    finally:
        setattr(worker, "extract", real_extract)  # noqa: B010
    return [
        [
            line.text,
            line.confidence,
            [[w.text, w.confidence, w.left, w.top, w.right, w.bottom] for w in words],
        ]
        for line in captured[0]
        for words in [line.words]
    ]


def _lines(raw: list[list[Any]]) -> list[Line]:
    """The cached lines as `extract` cleans them before its rules run."""
    lines = [Line(clean(text), conf, tuple(Word(*w) for w in words)) for text, conf, words in raw]
    return [line for line in lines if line.text]


def _text_lines(job: Job) -> list[Line]:
    """A corpus receipt's printed text, clean or OCR-noised (as `bench/ocr_bench.py`'s text pass)."""
    from tests.ocr.synthetic import generate
    from tests.ocr.synthetic.noise import ocr_noise

    seed = int(job[2])
    receipt = generate(seed)
    printed = ocr_noise(receipt.lines, seed) if job[0] == "noisy" else receipt.lines
    return _lines([[text, 1.0, []] for text in "\n".join(printed).splitlines()])


def _baseline(ref: str) -> Finder:
    """The ref's `find_merchant`, with the ref's own `ocr` modules (the model spans several): its
    `ocr/` is unpacked apart and imported with this tree's `ocr` modules set aside meanwhile."""
    unpacked = Path(tempfile.mkdtemp(prefix="merchant-baseline-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "ocr"], check=True, capture_output=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(unpacked, filter="data")
    ours = {
        name: sys.modules.pop(name) for name in list(sys.modules) if name == "ocr" or name.startswith("ocr.")
    }
    sys.path.insert(0, str(unpacked))
    try:
        finder: Finder = importlib.import_module("ocr.merchant").find_merchant
    finally:
        sys.path.remove(str(unpacked))
        for name in [name for name in sys.modules if name == "ocr" or name.startswith("ocr.")]:
            del sys.modules[name]
        sys.modules.update(ours)
    return finder


def _current() -> Finder:
    from ocr.merchant import find_merchant

    return find_merchant


def _verdict(found: str | None, slug: str | None) -> str:
    if not found:
        return "right" if slug is None else "null"
    return "right" if slug and fold_name(slug) in fold_name(found) else "wrong"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--receipts", type=Path, default=DEFAULT_RECEIPTS)
    parser.add_argument("--sets", default="scan,photo,synthetic,text,noisy")
    parser.add_argument("--seeds", default="0,1000,2000,3000", help="photo seed bases, one set each")
    parser.add_argument("--synthetic", type=int, default=60)
    parser.add_argument("--synthetic-base", type=int, default=100_000)
    parser.add_argument("--text", type=int, default=2000, help="corpus receipts for `text`/`noisy`")
    parser.add_argument("--baseline", default=None, help="git ref (default: merge-base with main)")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/ocr-merchant-lines"))
    parser.add_argument("--show", choices=("changed", "all", "none"), default="changed")
    args = parser.parse_args()
    ref = (
        args.baseline
        or subprocess.run(
            ["git", "-C", str(ROOT), "merge-base", "HEAD", "main"], check=True, capture_output=True, text=True
        ).stdout.strip()
    )
    truth = load_truth(args.receipts)
    jobs: list[tuple[Job, str | None]] = []
    for kind in args.sets.split(","):
        if kind == "scan":
            jobs += [(("scan", t["file"], str(args.receipts / t["file"]), 0), t["merchant"]) for t in truth]
        elif kind == "photo":
            for base in (int(s) for s in args.seeds.split(",")):
                for i, t in enumerate(truth):
                    path = str(args.receipts / t["file"])
                    jobs.append((("photo", f"{t['file']}@{base + i}", path, base + i), t["merchant"]))
        elif kind == "synthetic":
            from tests.ocr.synthetic import generate

            for seed in range(args.synthetic_base, args.synthetic_base + args.synthetic):
                slug = generate(seed).truth["merchant"]
                jobs.append((("synthetic", f"synthetic-{seed}", str(seed), 0), slug))
        elif kind in ("text", "noisy"):
            from tests.ocr.synthetic import generate

            for seed in range(args.text):
                jobs.append(((kind, f"{kind}-{seed}", str(seed), 0), generate(seed).truth["merchant"]))
        else:
            raise SystemExit(f"unknown set {kind!r}")
    args.cache.mkdir(parents=True, exist_ok=True)

    folder: Path = args.cache

    def cached(job: Job) -> Path:
        key = hashlib.sha1(repr((job[0], job[1])).encode()).hexdigest()[:16]
        return folder / f"{job[0]}-{key}.json"

    missing = [job for job, _ in jobs if job[0] not in ("text", "noisy") and not cached(job).exists()]
    if missing:
        print(f"reading {len(missing)} pictures (cached in {args.cache}) ...", flush=True)
        with multiprocessing.get_context("spawn").Pool(2, maxtasksperchild=8) as pool:
            for job, raw in zip(missing, pool.imap(_read, missing, chunksize=1), strict=True):
                cached(job).write_text(json.dumps(raw))
    finders = {"baseline": _baseline(ref), "current": _current()}
    report: dict[str, Any] = {"baseline": ref, "sets": {}}
    groups: dict[str, list[tuple[Job, str | None]]] = {}
    for job, slug in jobs:
        name = job[0] if job[0] != "photo" else f"photo@{job[3] - job[3] % 1000}"
        groups.setdefault(name, []).append((job, slug))
    totals: dict[str, dict[str, dict[str, int]]] = {}
    for name, members in groups.items():
        counts = {m: {"right": 0, "null": 0, "wrong": 0} for m in finders}
        print(f"\n== {name} ({len(members)})")
        for job, slug in members:
            lines = (
                _text_lines(job)
                if job[0] in ("text", "noisy")
                else _lines(json.loads(cached(job).read_text()))
            )
            found = {m: f(lines)[0] for m, f in finders.items()}
            marks = {m: _verdict(found[m], slug) for m in finders}
            for m in finders:
                counts[m][marks[m]] += 1
            if args.show == "all" or (args.show == "changed" and found["baseline"] != found["current"]):
                before, after = (str(found[m])[:30] for m in finders)
                print(
                    f"{job[1]:<22} {slug or '-':<11} {before:<30} {marks['baseline']:<5} "
                    f"-> {after:<30} {marks['current']}"
                )
        for m in finders:
            c = counts[m]
            print(f"{m:<9} right/null/wrong {c['right']:>3}/{c['null']:>3}/{c['wrong']:>3}  "
                  f"{100 * c['right'] / len(members):5.1f} %")  # fmt: skip
        report["sets"][name] = counts
        family = name.split("@")[0]
        for m in finders:
            into = totals.setdefault(family, {}).setdefault(m, {"right": 0, "null": 0, "wrong": 0})
            for k, v in counts[m].items():
                into[k] += v
    print()
    for family, by_model in totals.items():
        n = sum(by_model["current"].values())
        figures = [f"{m} {c['right']}/{c['null']}/{c['wrong']} = {100 * c['right'] / n:.1f} %"
                   for m, c in by_model.items()]  # fmt: skip
        print(f"{family:<10} ({n}) " + "   ".join(figures))
    report["families"] = totals
    print(json.dumps(report))


if __name__ == "__main__":
    main()
