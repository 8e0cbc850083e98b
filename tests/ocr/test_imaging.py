"""Checking uploads from their bytes, and preparing pictures for Tesseract."""
from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from domain import Invalid, PayloadTooLarge, UnsupportedMediaType
from ocr.imaging import decode, inspect, prepare, skew_angle, sniff_format
from tests.ocr.samples import png_bomb, rendered_receipt, truncated_jpeg

MAX_PIXELS = 40_000_000


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_formats_are_told_by_their_bytes(fmt: str) -> None:
    data = rendered_receipt(fmt=fmt)
    assert sniff_format(data[:16]) == fmt
    header = inspect(data, max_pixels=MAX_PIXELS)
    assert (header.format, header.width) == (fmt, 760)


@pytest.mark.parametrize("data", [b"%PDF-1.7\n...", b"GIF89a....", b"<svg></svg>", b""])
def test_other_files_are_unsupported(data: bytes) -> None:
    with pytest.raises(UnsupportedMediaType):
        inspect(data, max_pixels=MAX_PIXELS)


def test_a_decompression_bomb_is_refused_from_its_header_fast() -> None:
    bomb = png_bomb()
    assert len(bomb) < 200_000
    started = time.perf_counter()
    with pytest.raises(PayloadTooLarge):
        inspect(bomb, max_pixels=MAX_PIXELS)
    with pytest.raises(PayloadTooLarge):
        decode(bomb, max_pixels=MAX_PIXELS)
    assert time.perf_counter() - started < 0.5


def test_a_truncated_jpeg_is_invalid() -> None:
    data = truncated_jpeg()
    inspect(data, max_pixels=MAX_PIXELS)  # the header is intact
    with pytest.raises(Invalid):
        decode(data, max_pixels=MAX_PIXELS)


def test_garbage_after_a_signature_is_invalid() -> None:
    with pytest.raises(Invalid):
        inspect(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, max_pixels=MAX_PIXELS)


def test_exif_orientation_is_applied() -> None:
    image = Image.new("RGB", (300, 100), "white")
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    gray = decode(buffer.getvalue(), max_pixels=MAX_PIXELS)
    assert gray.size == (100, 300) and gray.mode == "L"


def test_prepare_scales_small_photos_up_and_binarises() -> None:
    small = Image.open(io.BytesIO(rendered_receipt())).convert("L").resize((380, 300))
    prepared = prepare(small)
    assert prepared.width >= 1000
    assert set(prepared.tobytes()) <= {0, 255}


def test_skew_is_measured() -> None:
    page = decode(rendered_receipt(), max_pixels=MAX_PIXELS)
    tilted = page.rotate(4, expand=True, fillcolor=255)
    from ocr.imaging import binarise

    assert abs(skew_angle(binarise(tilted)) + 4) <= 1.0
    assert abs(skew_angle(binarise(page))) <= 0.5
