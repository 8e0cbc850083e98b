"""Finding a photographed receipt's corners and straightening it (ocr/paper.py)."""

from __future__ import annotations

import random

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageStat

from ocr.paper import Point, paper_corners, perspective_coefficients, rectified

PAPER = (600, 1500)


def _printed_paper() -> Image.Image:
    """A receipt: rows of words on the left, a column of amounts on the right, a bold logo."""
    paper = Image.new("L", PAPER, 238)
    draw = ImageDraw.Draw(paper)
    draw.rectangle((180, 60, 420, 130), fill=20)
    words = random.Random(7)
    for y in range(200, 1420, 38):
        x = 40
        while x < 380:
            length = words.randint(30, 90)
            draw.rectangle((x, y, min(x + length, 380), y + 16), fill=30)
            x += length + 14
        draw.rectangle((470, y, 560, y + 16), fill=30)
    return paper


def _table(size: tuple[int, int], seed: int) -> Image.Image:
    """A dark, coarsely textured surface."""
    rng = random.Random(seed)
    grain = Image.frombytes("L", (size[0] // 8, size[1] // 8), rng.randbytes(size[0] * size[1] // 64))
    grain = grain.resize(size, Image.Resampling.BICUBIC).point(lambda v: 60 + v * 70 // 255)
    fine = Image.frombytes("L", size, rng.randbytes(size[0] * size[1])).point(lambda v: v // 8)
    return ImageChops.add(grain, fine)


def _photographed(corners: list[Point], seed: int = 1, size: tuple[int, int] = (1000, 1800)) -> Image.Image:
    """The printed paper laid on a table with its corners (TL, TR, BR, BL) at `corners`."""
    width, height = PAPER
    source = [(0.0, 0.0), (float(width), 0.0), (float(width), float(height)), (0.0, float(height))]
    coefficients = perspective_coefficients(corners, source)
    paper = _printed_paper().transform(
        size, Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BICUBIC
    )
    mask = Image.new("L", PAPER, 255).transform(size, Image.Transform.PERSPECTIVE, coefficients)
    scene = Image.composite(paper, _table(size, seed), mask)
    return scene.filter(ImageFilter.GaussianBlur(0.8))


# The camera below the receipt's middle and tilted: its far (top) end looks narrower.
KEYSTONE = [(260.0, 180.0), (760.0, 170.0), (830.0, 1650.0), (190.0, 1640.0)]


def test_a_receipt_in_perspective_has_its_corners_found() -> None:
    found = paper_corners(_photographed(KEYSTONE))
    assert found is not None
    for (x, y), (want_x, want_y) in zip(found, KEYSTONE, strict=True):
        assert abs(x - want_x) < 12 and abs(y - want_y) < 12, (found, KEYSTONE)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_a_receipt_in_perspective_comes_out_square(seed: int) -> None:
    """Straightened, the picture is the printed paper again: its words at their places."""
    straight = rectified(_photographed(KEYSTONE, seed))
    assert straight is not None
    assert abs(straight.width / straight.height - PAPER[0] / PAPER[1]) < 0.02
    again = straight.resize(PAPER)
    difference = ImageStat.Stat(ImageChops.difference(again, _printed_paper())).mean[0]
    # Left as it was, the picture's box around the paper differs far more (~80 grey levels a pixel).
    box = ImageStat.Stat(
        ImageChops.difference(
            _photographed(KEYSTONE, seed).crop((190, 170, 830, 1650)).resize(PAPER), _printed_paper()
        )
    ).mean[0]
    assert difference < box / 2


def test_the_paper_is_scaled_in_the_same_resampling() -> None:
    straight = rectified(_photographed(KEYSTONE), scale=lambda width: 2.0)
    assert straight is not None
    assert 1100 < straight.width < 1300


@pytest.mark.parametrize(
    "corners",
    [
        # seen straight on (no keystone): the column crop and the deskew are enough
        [(200.0, 150.0), (800.0, 150.0), (800.0, 1650.0), (200.0, 1650.0)],
        # turned 3 degrees, still a rectangle
        [(239.0, 122.0), (838.0, 153.0), (760.0, 1651.0), (161.0, 1620.0)],
    ],
)
def test_a_receipt_seen_square_is_left_alone(corners: list[Point]) -> None:
    assert rectified(_photographed(corners)) is None


def test_a_scan_filling_the_picture_is_left_alone() -> None:
    assert rectified(_printed_paper()) is None


def test_a_receipt_running_off_the_picture_is_left_alone() -> None:
    """Its left side is the picture's border, not the paper's edge: nothing tells the angle."""
    corners = [(-40.0, 180.0), (700.0, 170.0), (760.0, 1650.0), (-40.0, 1640.0)]
    assert rectified(_photographed(corners)) is None


def test_a_bare_table_is_left_alone() -> None:
    assert rectified(_table((1000, 1800), 5)) is None


def test_an_end_out_of_the_picture_is_taken_square_to_the_sides() -> None:
    """A long receipt whose bottom runs off the picture: the bottom corners are where the sides
    leave it, the top ones where the paper's end is."""
    corners = [(260.0, 180.0), (760.0, 170.0), (840.0, 2000.0), (180.0, 1990.0)]
    found = paper_corners(_photographed(corners))
    assert found is not None
    (tlx, tly), (trx, try_), (brx, bry), (blx, bly) = found
    assert abs(tlx - 260) < 12 and abs(tly - 180) < 12 and abs(trx - 760) < 12 and abs(try_ - 170) < 12
    assert bry > 1750 and bly > 1750


def test_the_transform_maps_each_corner_onto_its_own() -> None:
    out = [(0.0, 0.0), (600.0, 0.0), (600.0, 1500.0), (0.0, 1500.0)]
    a, b, c, d, e, f, g, h = perspective_coefficients(out, KEYSTONE)
    for (x, y), (u, v) in zip(out, KEYSTONE, strict=True):
        w = g * x + h * y + 1
        assert abs((a * x + b * y + c) / w - u) < 1e-6 and abs((d * x + e * y + f) / w - v) < 1e-6


def test_corners_on_one_line_are_refused() -> None:
    with pytest.raises(ValueError):
        perspective_coefficients([(0.0, 0.0), (1.0, 1.0), (2.0, 2.0), (3.0, 3.0)], KEYSTONE)


@pytest.mark.parametrize("size", [(1, 1), (1, 4000), (4000, 1), (3, 50), (33, 33), (40, 2000)])
def test_slivers_and_specks_are_left_alone(size: tuple[int, int]) -> None:
    """Review: a picture one pixel wide made the edge search crop a negative box."""
    for shade in (0, 128, 255):
        assert rectified(Image.new("L", size, shade)) is None


@pytest.mark.parametrize("seed", range(6))
def test_noise_of_any_shape_never_raises(seed: int) -> None:
    rng = random.Random(seed)
    size = (rng.randint(1, 900), rng.randint(1, 900))
    noise = Image.frombytes("L", size, rng.randbytes(size[0] * size[1])).filter(
        ImageFilter.BoxBlur(rng.randint(0, 6))
    )
    straight = rectified(noise)
    assert straight is None or min(straight.size) >= 8


def test_sides_fading_out_before_the_paper_ends_still_find_its_end() -> None:
    """Review: something as bright as the paper beside its lower sides (a napkin, light) hides
    the sides there; the bottom end is still in the picture and is where the paper stops, not
    where its sides were last seen (that cut the date and the total off)."""
    scene = _photographed(KEYSTONE)
    draw = ImageDraw.Draw(scene)
    draw.rectangle((120, 1470, 200, 1800), fill=238)  # beside the left side's last ~170 px
    draw.rectangle((820, 1470, 900, 1800), fill=238)
    draw.rectangle((120, 1660, 900, 1800), fill=70)  # the table below the paper stays dark
    found = paper_corners(scene)
    assert found is not None
    (_, _), (_, _), (brx, bry), (blx, bly) = found
    assert abs(bry - 1650) < 15 and abs(bly - 1640) < 15, found


def test_ends_too_different_in_width_are_no_camera_angle() -> None:
    """A far end 0.55 of the near one: no phone over a receipt sees it so (a folded or torn one)."""
    corners = [(300.0, 180.0), (700.0, 170.0), (860.0, 1650.0), (140.0, 1640.0)]
    assert paper_corners(_photographed(corners)) is None


def test_an_end_off_the_picture_is_square_to_the_turned_sides() -> None:
    """A receipt turned a little and running off the bottom: its bottom corners lie on a line
    square to the sides' mean direction (y + slope * x constant), as a turned rectangle's do."""
    corners = [(300.0, 100.0), (780.0, 140.0), (760.0, 2300.0), (160.0, 2260.0)]
    found = paper_corners(_photographed(corners))
    assert found is not None
    (tlx, tly), (trx, try_), (brx, bry), (blx, bly) = found
    slope = ((blx - tlx) / (bly - tly) + (brx - trx) / (bry - try_)) / 2  # dx/dy of the sides
    assert abs((bry - bly) + slope * (brx - blx)) < 3
    assert abs(tly - 100) < 12 and abs(try_ - 140) < 12


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_no_sliver_of_the_table_is_left_along_the_sides(seed: int) -> None:
    """Binarised, a dark sliver along a side is a line Tesseract takes for a frame (synthetic
    receipt 100025 lost its total beside one)."""
    straight = rectified(_photographed(KEYSTONE, seed))
    assert straight is not None
    w, h = straight.size
    top, bottom = h // 20, h - h // 20  # the sides, not the ends (an end may be a few px off)
    for strip in ((0, top, 3, bottom), (w - 3, top, w, bottom)):
        darkest_row = min(straight.crop(strip).resize((1, h // 8), Image.Resampling.BOX).tobytes())
        assert darkest_row > 150, (seed, strip, darkest_row)
