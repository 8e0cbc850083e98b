"""The OCR pipeline's and receipt storage's settings (read from the environment by `server.config`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_LANGUAGES = "eng+deu"
DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_TIMEOUT_SECONDS = 60
DEFAULT_QUEUE_SIZE = 8
DEFAULT_TESSERACT_CMD = "tesseract"


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class OcrSettings:
    workers: int = 1
    queue_size: int = DEFAULT_QUEUE_SIZE
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    languages: str = DEFAULT_LANGUAGES
    tesseract_cmd: str = DEFAULT_TESSERACT_CMD
    """The tesseract binary, as a name looked up on PATH or a path."""


@dataclass(frozen=True, slots=True)
class ReceiptStorageSettings:
    """Local directory by default; S3 (`bucket`, optionally at `endpoint_url`) when a bucket is set."""

    directory: Path
    bucket: str | None = None
    prefix: str = "receipts/"
    region: str = "us-east-1"
    endpoint_url: str | None = None
