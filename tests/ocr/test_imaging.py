"""Checking uploads from their bytes, and preparing pictures for Tesseract."""

from __future__ import annotations

import io
import random
import time

import pytest
from PIL import Image, ImageDraw, ImageFilter

from domain import Invalid, PayloadTooLarge, UnsupportedMediaType
from ocr.imaging import (
    crop_to_paper,
    decode,
    inspect,
    median3,
    prepare,
    skew_angle,
    sniff_format,
    suppress_rules,
)
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


def _barcode_over_text(touching: bool) -> Image.Image:
    """A binarised receipt strip: text, then a barcode whose bars reach down to a date line."""
    from PIL import ImageDraw, ImageFont

    image = Image.new("L", (1250, 700), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=40)
    draw.text((60, 40), "TOTAL 12.50", fill=0, font=font)
    x = 200
    for index in range(40):
        bar = 3 + (index * 7) % 9
        draw.rectangle((x, 150, x + bar, 450 if touching else 420), fill=0)
        x += bar + 6 + (index * 5) % 7
    draw.text((60, 452), "3182  295069/02  30.04.20  09:58", fill=0, font=font)
    return image.point(lambda v: 0 if v < 128 else 255)


@pytest.mark.parametrize("touching", [False, True])
def test_barcodes_are_blanked_and_the_text_kept(touching: bool) -> None:
    from ocr.imaging import suppress_barcodes

    page = _barcode_over_text(touching)
    cleaned = suppress_barcodes(page)
    band = cleaned.crop((150, 170, 1150, 430))
    assert band.getextrema() == (255, 255)  # no bar left
    text_rows = (0, 455, 1250, 520)
    before = page.crop(text_rows).histogram()[0]
    after = cleaned.crop(text_rows).histogram()[0]
    assert after >= 0.9 * before  # the date line under it keeps (nearly) all its ink
    assert cleaned.crop((0, 0, 1250, 140)).tobytes() == page.crop((0, 0, 1250, 140)).tobytes()


def test_text_and_a_few_tall_strokes_are_not_barcodes() -> None:
    from PIL import ImageDraw

    from ocr.imaging import suppress_barcodes

    page = decode(rendered_receipt(), max_pixels=MAX_PIXELS)
    binary = prepare(page)
    assert suppress_barcodes(binary).tobytes() == binary.tobytes()
    logo = Image.new("L", (1250, 600), 255)
    draw = ImageDraw.Draw(logo)
    for index in range(6):  # a logo's tall letters: a few long strokes, not a barcode
        draw.rectangle((100 + index * 150, 100, 130 + index * 150, 400), fill=0)
    assert suppress_barcodes(logo).tobytes() == logo.tobytes()


def test_a_photo_like_picture_of_a_scan_is_a_bigger_jpeg_on_a_darker_table() -> None:
    from tests.ocr.photos import photographed

    scan = rendered_receipt(fmt="PNG")
    photo = photographed(scan, seed=7)
    assert photo == photographed(scan, seed=7)  # seeded: the bench is repeatable
    header = inspect(photo, max_pixels=MAX_PIXELS)
    assert header.format == "JPEG" and header.width > 760
    gray = decode(photo, max_pixels=MAX_PIXELS)
    corner = gray.crop((0, 0, 20, 20)).resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    assert isinstance(corner, int) and corner < 200  # the table, darker than paper


def test_a_receipt_photographed_at_an_angle_keeps_its_right_hand_column() -> None:
    """A receipt photographed about 5 degrees off on a darker table covers its outer columns only
    partly; the crop must keep them (the amounts are there). The synthetic corpus's receipt 100003
    is such a photo: its paper spans x 110-980 of 1089; a crop by column means kept 551 px."""
    from tests.ocr.synthetic import generate
    from tests.ocr.synthetic.render import degrade

    receipt = generate(100_003)
    gray = decode(degrade(receipt.render(), receipt.seed), max_pixels=40_000_000)
    cropped = crop_to_paper(gray)
    assert cropped.width > 0.7 * gray.width


@pytest.mark.parametrize("seed", range(12))
def test_the_fast_median_is_pillows_median_pixel_for_pixel(seed: int) -> None:
    draw = random.Random(seed)
    width, height = draw.randint(1, 40), draw.randint(1, 40)
    pixels = draw.randbytes(width * height)
    if seed % 3 == 0:  # black and white, as scans mostly are
        pixels = bytes(255 if value > 127 else 0 for value in pixels)
    picture = Image.frombytes("L", (width, height), pixels)
    assert median3(picture).tobytes() == picture.filter(ImageFilter.MedianFilter(3)).tobytes()


def test_the_fast_median_on_a_receipt() -> None:
    picture = Image.open(io.BytesIO(rendered_receipt())).convert("L")
    assert median3(picture).tobytes() == picture.filter(ImageFilter.MedianFilter(3)).tobytes()


def test_a_steeply_tilted_receipt_keeps_the_columns_it_covers_only_in_part() -> None:
    """Synthetic receipt 300065, a photo turned about 7 degrees: its paper spans x 60-565 of 623,
    and the amounts end within 10 px of its right edge, in the columns the paper covers only in
    part. Cropping where coverage falls to half kept 426 px and cut the last digit of every
    amount (`211.£`, `46.3¢`)."""
    from tests.ocr.synthetic import generate
    from tests.ocr.synthetic.render import degrade

    receipt = generate(300_065)
    gray = decode(degrade(receipt.render(), receipt.seed), max_pixels=40_000_000)
    assert gray.width == 623
    assert crop_to_paper(gray).width >= 495


def _page_with_lines(*xs: int) -> Image.Image:
    page = Image.new("L", (1000, 1400), 255)
    draw = ImageDraw.Draw(page)
    for x in xs:
        draw.rectangle((x, 100, x + 6, 1300), fill=0)  # a line far taller than any text
    for y in range(150, 1250, 60):
        draw.rectangle((120, y, 860, y + 24), fill=0)  # rows of "text", 24 px tall
    return page


def test_the_paper_edges_beside_the_amounts_are_cleared_and_the_text_kept() -> None:
    """Tesseract takes a long line beside a column of amounts for a frame and drops the amounts
    (synthetic receipt 300000 lost every amount so). Lines near the sides go; text stays."""
    page = _page_with_lines(40, 940)
    cleaned = suppress_rules(page)
    assert cleaned.crop((30, 100, 60, 1300)).getextrema() == (255, 255)
    assert cleaned.crop((930, 100, 960, 1300)).getextrema() == (255, 255)
    assert cleaned.crop((120, 150, 860, 1250)).tobytes() == page.crop((120, 150, 860, 1250)).tobytes()


def test_a_line_away_from_the_sides_is_kept() -> None:
    """A line further in may part the receipt from something else on the scan."""
    page = _page_with_lines(500)
    assert suppress_rules(page).tobytes() == page.tobytes()


def _receipt_on_a_table() -> Image.Image:
    scene = Image.new("L", (1200, 1600), 70)
    draw = ImageDraw.Draw(scene)
    draw.rectangle((400, 80, 800, 1500), fill=235)  # the receipt
    for y in range(150, 1450, 40):
        draw.rectangle((430, y, 770, y + 14), fill=30)  # its lines of text
    return scene


@pytest.mark.parametrize("height", [80, 130, 240])
def test_something_bright_across_the_picture_is_not_the_papers_edge(height: int) -> None:
    """Review: a tablecloth's edge across the bottom 130 px carried the crop across the whole
    width (the receipt's text then got a third of its upscaling)."""
    scene = _receipt_on_a_table()
    ImageDraw.Draw(scene).rectangle((0, 1600 - height, 1200, 1600), fill=225)
    assert crop_to_paper(scene).width < 480


def test_a_second_slip_touching_the_receipt_is_left_out() -> None:
    scene = _receipt_on_a_table()
    ImageDraw.Draw(scene).rectangle((800, 1200, 1150, 1450), fill=230)
    assert crop_to_paper(scene).width < 480
