"""Images for OCR tests: a rendered English receipt, the shared real receipts, and hostile files."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

RECEIPTS = Path(__file__).resolve().parents[3] / "shared" / "receipts"

ENGLISH_RECEIPT = """\
CORNER GROCERY
12 Baker Street
London NW1 6XE

Milk 2L              1.45
Bread                1.20
Apples 1kg           2.35

TOTAL               GBP 5.00
Card                GBP 5.00
Date: 14/03/2024  10:21
"""


def rendered_receipt(text: str = ENGLISH_RECEIPT, *, fmt: str = "PNG", scale: int = 1) -> bytes:
    """A clean printed-looking receipt: quick for Tesseract, with known fields."""
    font = ImageFont.load_default(size=28 * scale)
    lines = text.splitlines()
    image = Image.new("L", (760 * scale, (len(lines) * 40 + 60) * scale), 255)
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((30 * scale, (30 + index * 40) * scale), line, fill=0, font=font)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format=fmt)
    return buffer.getvalue()


def png_bomb(width: int = 40_000, height: int = 40_000) -> bytes:
    """A valid, tiny PNG that would inflate to width × height pixels (1 bit each here, but
    Pillow's pixel count is what matters): a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(min(height, 2000)))
    body += compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def truncated_jpeg() -> bytes:
    whole = rendered_receipt(fmt="JPEG")
    return whole[: len(whole) // 2]


def real_receipts() -> list[dict[str, Any]]:
    with open(RECEIPTS / "truth.jsonl") as handle:
        return [json.loads(line) for line in handle if line.strip()]
