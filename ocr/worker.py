"""One OCR worker process: reads jobs from stdin, answers on stdout, one at a time.

Started by `ocr.pool` as `python -m ocr.worker` in its own session, so that ending a job that
overran its time (SIGKILL to the process group) ends the tesseract it started as well.

Protocol: frames of a 4-byte big-endian length and a body. The worker first sends `{"ready": true}`;
then per job it reads a JSON header frame (`languages`, `max_pixels`, `tesseract_cmd`) and an
image frame, and answers one JSON frame: `{"ok": true, "result": {...}}` or
`{"ok": false, "error": "<DomainError class>", "code": ..., "message": ...}`.
"""
from __future__ import annotations

import json
import os
import resource
import struct
import sys
import time
from datetime import date
from typing import Any, BinaryIO

from domain import DomainError, Invalid
from ocr.extract import Line, extract
from ocr.imaging import decode, prepare

_LENGTH = struct.Struct(">I")
# The address space a worker (and the tesseract it runs) may use: a hostile image that slips past
# the pixel limit fails with MemoryError instead of taking the machine down.
MEMORY_LIMIT_BYTES = 3 * 1024**3
TESSERACT_CONFIG = "--oem 1 --psm 4"


def read_frame(stream: BinaryIO) -> bytes | None:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack(head)
    body = stream.read(length)
    return body if len(body) == length else None


def write_frame(stream: BinaryIO, body: bytes) -> None:
    stream.write(_LENGTH.pack(len(body)) + body)
    stream.flush()


def recognise(data: bytes, options: dict[str, Any]) -> dict[str, Any]:
    """Decode, clean, OCR and extract one receipt image. Raises DomainError for bad images."""
    import pytesseract

    started = time.perf_counter()
    gray = decode(data, max_pixels=int(options["max_pixels"]))
    prepared = prepare(gray)
    prepared_at = time.perf_counter()
    pytesseract.pytesseract.tesseract_cmd = options.get("tesseract_cmd") or "tesseract"
    words = pytesseract.image_to_data(
        prepared,
        lang=options.get("languages") or "eng",
        config=options.get("tesseract_config") or TESSERACT_CONFIG,
        output_type=pytesseract.Output.DICT,
    )
    recognised_at = time.perf_counter()
    lines = lines_from_words(words)
    receipt = extract(lines, today=date.today())
    return {
        **receipt.to_json(),
        "raw_text": "\n".join(line.text for line in lines),
        "timings": {
            "prepare_ms": round((prepared_at - started) * 1000, 1),
            "tesseract_ms": round((recognised_at - prepared_at) * 1000, 1),
            "extract_ms": round((time.perf_counter() - recognised_at) * 1000, 1),
        },
        "image": {"width": gray.width, "height": gray.height},
    }


def lines_from_words(words: dict[str, list[Any]]) -> list[Line]:
    """Tesseract's words grouped back into lines, each with its words' mean confidence (0..1)."""
    grouped: dict[tuple[int, int, int, int], list[tuple[str, float]]] = {}
    for index, text in enumerate(words["text"]):
        if not str(text).strip():
            continue
        key = (words["page_num"][index], words["block_num"][index], words["par_num"][index],
               words["line_num"][index])
        confidence = float(words["conf"][index])
        grouped.setdefault(key, []).append((str(text), max(0.0, confidence) / 100))
    return [
        Line(" ".join(t for t, _ in group), sum(c for _, c in group) / len(group))
        for _, group in sorted(grouped.items())
    ]


def main() -> None:
    # Frames go to the real stdout; anything else that prints (a library's warning) goes to stderr.
    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    os.environ["OMP_THREAD_LIMIT"] = "1"
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    except (ValueError, OSError):
        pass
    import pytesseract  # noqa: F401  (imported before "ready", so a job's time is the job's)

    write_frame(replies, b'{"ready": true}')
    while True:
        header = read_frame(requests)
        data = read_frame(requests) if header is not None else None
        if header is None or data is None:
            return
        try:
            reply: dict[str, Any] = {"ok": True, "result": recognise(data, json.loads(header))}
        except DomainError as exc:
            reply = {"ok": False, "error": type(exc).__name__, "code": exc.code,
                     "message": exc.message}
        except MemoryError:
            error = Invalid("the image needs more memory than a worker may use")
            reply = {"ok": False, "error": "Invalid", "code": "image_too_complex",
                     "message": error.message}
        except Exception as exc:  # tesseract failing on one image must not end the worker
            reply = {"ok": False, "error": "Failed", "code": "ocr_failed",
                     "message": f"{type(exc).__name__}: {exc}"[:500]}
        write_frame(replies, json.dumps(reply).encode())


if __name__ == "__main__":
    main()
