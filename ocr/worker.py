"""One OCR worker process: reads jobs from stdin, answers on stdout, one at a time.

Started by `ocr.pool` as `python -m ocr.worker` in its own session, so that ending a job that
overran its time (SIGKILL to the process group) ends the tesseract it started as well.

Protocol: frames of a 4-byte big-endian length and a body. The worker first sends `{"ready": true}`;
then per job it reads a JSON header frame (`languages`, `max_pixels`, `tesseract_cmd`, and the
uploader's optional `currency` and `country` hints) and an image frame, and answers one JSON
frame: `{"ok": true, "result": {...}}` or
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

from PIL import Image

from domain import DomainError, Invalid
from ocr.extract import Line, Receipt, date_line_hints, extract, extract_date, plausible_date
from ocr.imaging import decode, prepare_with_gray
from ocr.layout import readable, rows
from ocr.tesseract import Reading, Tesseract
from ocr.text import Word

_LENGTH = struct.Struct(">I")
# The address space a worker (and the tesseract it runs) may use: a hostile image that slips past
# the pixel limit fails with MemoryError instead of taking the machine down.
MEMORY_LIMIT_BYTES = 3 * 1024**3
# The page: a single column of text of variable sizes; no second, inverted read of unsure lines.
PAGE_READING = Reading(psm=4, variables={"tessedit_do_invert": "0"})
# The second look at a strip that should hold the date: a uniform block of text (the strip may
# catch a neighbouring line; psm 6 copes with that far better than single-line psm 7).
STRIP_READING = Reading(psm=6)
# Rebuild receipt rows from the word boxes (ocr.layout) before extraction.
ROW_REBUILDING = True


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
    started = time.perf_counter()
    cpu_started = cpu_seconds()
    gray = decode(data, max_pixels=int(options["max_pixels"]))
    prepared, aligned_gray = prepare_with_gray(gray)
    prepared_at = time.perf_counter()
    tesseract = tesseract_for(options.get("tesseract_cmd") or "tesseract", options.get("languages") or "eng")
    words = tesseract.words(prepared, PAGE_READING)
    recognised_at = time.perf_counter()
    lines = lines_from_words(words)
    if ROW_REBUILDING:
        lines = rows(lines)
    lines = readable(lines)
    today = date.today()
    hints = {"currency": options.get("currency"), "country": options.get("country")}
    receipt = extract(lines, today=today, **hints)
    extracted_at = time.perf_counter()
    second_look = 0
    if not plausible_date(receipt.date, today):
        second_look = _second_look_at_date(
            receipt, lines, line_boxes(lines), prepared, aligned_gray, tesseract, today, hints["country"]
        )
    timings = {
        "prepare_ms": round((prepared_at - started) * 1000, 1),
        "tesseract_ms": round((recognised_at - prepared_at) * 1000, 1),
        "extract_ms": round((extracted_at - recognised_at) * 1000, 1),
    }
    if second_look:
        timings["date_pass_ms"] = round((time.perf_counter() - extracted_at) * 1000, 1)
        timings["date_pass_lines"] = second_look
    timings["cpu_ms"] = round((cpu_seconds() - cpu_started) * 1000, 1)
    return {
        **receipt.to_json(),
        "raw_text": "\n".join(line.text for line in lines),
        "timings": timings,
        "image": {"width": gray.width, "height": gray.height},
    }


_engines: dict[tuple[str, str], Tesseract] = {}


def tesseract_for(command: str, languages: str) -> Tesseract:
    """The worker's Tesseract for these languages, made on its first job and kept for the next
    (in process, the languages are loaded once)."""
    key = (command, languages)
    if key not in _engines:
        for engine in _engines.values():  # one at a time
            engine.close()
        _engines.clear()
        _engines[key] = Tesseract(command, languages)
    return _engines[key]


def cpu_seconds() -> float:
    """CPU time (user and system) this process and the tesseract runs it waited for have used: a
    job's cost that does not depend on how busy the machine is."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _second_look_at_date(
    receipt: Receipt,
    lines: list[Line],
    boxes: list[tuple[int, int, int, int]],
    binary: Image.Image,
    gray: Image.Image,
    tesseract: Tesseract,
    today: date,
    country: str | None = None,
) -> int:
    """When the page pass found no plausible date: OCR again, one strip at a time (`--psm 6`), the
    few strips where the date probably is (a time of day, a `Date` label, part of a date), first
    from the cleaned picture, then from the grayscale (Tesseract's own threshold). Sets the
    receipt's date when these reads give a plausible one; returns how many crops were read."""
    hints = date_line_hints(lines)
    extra: list[Line] = []
    reads = 0
    for index in hints:
        left, top, right, bottom = boxes[index]
        pad = max(4, round(0.35 * (bottom - top)))
        box = (0, max(0, top - pad), binary.width, min(binary.height, bottom + pad))
        for picture in (binary, gray):
            text = tesseract.text(picture.crop(box), STRIP_READING)
            reads += 1
            read = [
                Line(" ".join(raw.split()), lines[index].confidence)
                for raw in text.splitlines()
                if raw.strip()
            ]
            extra.extend(read)
            found, _ = extract_date(read, currency=receipt.amounts_in, today=today, country=country)
            if plausible_date(found, today):
                break
        found, confidence = extract_date(
            lines + extra, currency=receipt.amounts_in, today=today, country=country
        )
        if plausible_date(found, today):
            receipt.date = found
            receipt.confidence["date"] = confidence * 0.9
            return reads
    return reads


def lines_from_words(words: dict[str, list[Any]]) -> list[Line]:
    """Tesseract's words grouped back into lines, each with its words (text, confidence 0..1, box)
    and their mean confidence."""
    grouped: dict[tuple[int, int, int, int], list[Word]] = {}
    for index, text in enumerate(words["text"]):
        if not str(text).strip():
            continue
        key = (
            words["page_num"][index],
            words["block_num"][index],
            words["par_num"][index],
            words["line_num"][index],
        )
        left, top = int(words["left"][index]), int(words["top"][index])
        grouped.setdefault(key, []).append(
            Word(
                text=str(text),
                confidence=max(0.0, float(words["conf"][index])) / 100,
                left=left,
                top=top,
                right=left + int(words["width"][index]),
                bottom=top + int(words["height"][index]),
            )
        )
    return [
        Line(
            " ".join(w.text for w in group),
            sum(w.confidence for w in group) / len(group),
            tuple(group),
        )
        for _, group in sorted(grouped.items())
    ]


def line_boxes(lines: list[Line]) -> list[tuple[int, int, int, int]]:
    """Each line's box (left, top, right, bottom)."""
    return [line.box or (0, 0, 0, 0) for line in lines]


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
            reply = {"ok": False, "error": type(exc).__name__, "code": exc.code, "message": exc.message}
        except MemoryError:
            error = Invalid("the image needs more memory than a worker may use")
            reply = {"ok": False, "error": "Invalid", "code": "image_too_complex", "message": error.message}
        except Exception as exc:  # tesseract failing on one image must not end the worker
            reply = {
                "ok": False,
                "error": "Failed",
                "code": "ocr_failed",
                "message": f"{type(exc).__name__}: {exc}"[:500],
            }
        write_frame(replies, json.dumps(reply).encode())


if __name__ == "__main__":
    main()
