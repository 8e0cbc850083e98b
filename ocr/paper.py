"""Finding the receipt in a photo and straightening it, with Pillow.

A phone held a little off square over a receipt sees the paper as a trapezoid: its two long sides
converge, the lines of print fan out, and the ends of the lines (the amounts) bend away from the
rows Tesseract looks for. Rotating cannot undo that; a perspective transform of the paper's four
corners onto a rectangle can. The corners come from the paper's long sides, which a receipt on a
darker surface shows in almost every photo, and from its top and bottom ends where they are in the
picture (a long receipt often runs off the frame; the ends are then taken square to the sides).

`rectified` answers None, and the picture is left to the column crop and the deskew, unless the
paper is told apart from its background with confidence, both sides are straight lines well
inside the picture, and they converge enough for the transform to matter: a flatbed scan, a
receipt filling the picture, or one seen straight on is never resampled here.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageChops, ImageFilter

# Side lines are found on a thumbnail this many pixels on its longer side.
_THUMB = 800
# An edge is a rise or fall of at least this many grey levels over twice this many pixels.
_MIN_STEP = 24
_STEP = 2
# Lines tried through pairs of candidate points, and the steepest side taken (dx/dy, ~17 degrees).
_TRIES = 200
_MAX_SLOPE = 0.3
# An end found down the columns counts when it runs straight across this share of the paper's
# width, no further than this share of the width from where the sides end.
_MIN_END_SHARE = 0.6
_END_DISTANCE = 0.1
# ... or no further beyond them than this share of the width (the sides faded out before it).
_END_BEYOND = 0.5
# Rows averaged together before looking for edges, and the gap (in averaged rows) a side bridges.
_ROWS = 4
_MAX_GAP = 6
# ... and the gap (averaged rows) past which a side's last points count as stray.
_END_GAP = 2
# What is cut off along each side of the straightened paper, as a share of its width.
_INSET = 0.008
# A thumbnail narrower or lower than this has no paper to find in it.
_MIN_SIDE = 32
# The paper is at least this fraction of the thumbnail wide.
_MIN_WIDTH = 0.12
# A side is straight when at least this share of its rows lie within this many thumbnail pixels
# of one line (a cut edge is straight to a pixel; a shadow's or a tablecloth's border is not).
_MIN_INLIERS = 0.7
_TOLERANCE = 2.0
# The sides must converge by at least this fraction of the paper's width over its height.
_MIN_KEYSTONE = 0.015
_MIN_KEYSTONE_PIXELS = 2.0
# ... and the paper's ends may differ in width by at most this factor (a plausible camera angle).
_MAX_END_RATIO = 1.6


@dataclass(frozen=True, slots=True)
class Side:
    """A straight side of the paper, x = offset + slope * y, in thumbnail pixels."""

    offset: float
    slope: float

    def x(self, y: float) -> float:
        return self.offset + self.slope * y


Point = tuple[float, float]


def rectified(
    gray: Image.Image, *, scale: Callable[[float], float] = lambda width: 1.0
) -> Image.Image | None:
    """The paper straightened onto a rectangle, or None when that is not clearly called for.
    `scale` gives, for the paper's width, the factor to scale it by in the same resampling."""
    corners = paper_corners(gray)
    if corners is None:
        return None
    top_left, top_right, bottom_right, bottom_left = corners
    across = (_distance(top_left, top_right) + _distance(bottom_left, bottom_right)) / 2
    down = (_distance(top_left, bottom_left) + _distance(top_right, bottom_right)) / 2
    factor = scale(across)
    width, height = round(across * factor), round(down * factor)
    if width < 8 or height < 8:
        return None
    target = [(0.0, 0.0), (float(width), 0.0), (float(width), float(height)), (0.0, float(height))]
    try:
        coefficients = perspective_coefficients(target, list(corners))
    except ValueError:  # corners on one line: nothing to straighten
        return None
    straight = gray.transform(
        (width, height),
        Image.Transform.PERSPECTIVE,
        coefficients,
        Image.Resampling.BICUBIC,
        fillcolor=255,
    )
    # The corners sit on the paper's edge, give or take the fit's pixel or two: a sliver of the
    # table would stay along each side, and binarised it is a line Tesseract takes for a frame
    # (dropping the amounts beside it). Print keeps a margin of several times this from the edge.
    inset = max(2, round(_INSET * width))
    return straight.crop((inset, inset, width - inset, height - inset))


def paper_corners(gray: Image.Image) -> tuple[Point, Point, Point, Point] | None:
    """The paper's corners in `gray`'s pixels (top left, top right, bottom right, bottom left)
    when it is seen in perspective on a darker background, else None.

    Each row's strongest rise from dark to bright, and its outermost strong one, are candidates
    for the paper's left side, its falls for the right side (on a blurred thumbnail, where print
    is too thin to compete with the paper's long edge); a side is the line most candidates lie
    on. The ends are found the same way down the columns, where they are in the picture."""
    thumb = gray.copy()
    thumb.thumbnail((_THUMB, _THUMB))
    if min(thumb.size) < _MIN_SIDE:
        return None  # a sliver: no paper with two sides and ends to find
    left_fit, right_fit = _lines(thumb)
    if left_fit is None or right_fit is None:
        return None
    (left, on_left), (right, on_right) = left_fit, right_fit
    first = min(on_left[0][0], on_right[0][0])
    last = max(on_left[-1][0], on_right[-1][0])
    span = last - first
    if span < 0.3 * thumb.height or min(len(on_left), len(on_right)) * _ROWS < _MIN_INLIERS * span:
        return None
    widths = (right.x(first) - left.x(first), right.x(last) - left.x(last))
    if min(widths) < _MIN_WIDTH * thumb.width:
        return None
    # Converging by a share of the width, and by more than the fit's own wobble of a pixel or two.
    if abs(widths[0] - widths[1]) < max(_MIN_KEYSTONE * max(widths), _MIN_KEYSTONE_PIXELS):
        return None
    if max(widths) / min(widths) > _MAX_END_RATIO:
        return None
    top_fit, bottom_fit = _lines(thumb.transpose(Image.Transpose.TRANSPOSE))
    top = _end(top_fit, first, -1, widths[0])
    bottom = _end(bottom_fit, last, 1, widths[1])
    if top is False or bottom is False:
        return None  # an end straight across the paper but not where its sides say: unsure
    # Where an end is not in the picture (or not straight), it is taken square to the sides' mean
    # direction (a rotated rectangle's ends are), through the sides' outermost points.
    slope = (left.slope + right.slope) / 2
    ends = [y + slope * x for y, x in on_left + on_right]
    corners = (
        _meet(left, top or _square_end(min(ends), slope)),
        _meet(right, top or _square_end(min(ends), slope)),
        _meet(right, bottom or _square_end(max(ends), slope)),
        _meet(left, bottom or _square_end(max(ends), slope)),
    )
    # The thumbnail's sides are rounded separately: scale each axis by its own factor.
    across, down = gray.width / thumb.width, gray.height / thumb.height
    top_left, top_right, bottom_right, bottom_left = ((x * across, y * down) for x, y in corners)
    return top_left, top_right, bottom_right, bottom_left


Fit = tuple[Side, list[Point]]


def _lines(image: Image.Image) -> tuple[Fit | None, Fit | None]:
    """The line of rises and the line of falls across `image`'s rows, each with the candidate
    points on it, in `image`'s pixels."""
    # Rows averaged in fours: the paper's edge runs on down the rows, a table's grain does not.
    squat = image.resize((image.width, max(1, image.height // _ROWS)), Image.Resampling.BOX)
    rows = image.height / squat.height  # picture rows per averaged row: 4, or a little more
    fits: list[Fit | None] = []
    for points in _steps(squat.filter(ImageFilter.BoxBlur(1))):
        side = _straight_side(points)
        if side is None:
            fits.append(None)
            continue
        run = _trimmed(_densest_run([(y, x) for y, x in points if abs(x - side.x(y)) <= _TOLERANCE]))
        # Averaged row y covers picture rows y * rows .. (y + 1) * rows: its middle is the point's.
        scaled = Side(side.offset + side.slope * (0.5 / rows - 0.5), side.slope / rows)
        fits.append((scaled, [((y + 0.5) * rows - 0.5, x) for y, x in run]))
    return fits[0], fits[1]


def _end(fit: Fit | None, near: float, outward: int, width: float) -> Side | None | Literal[False]:
    """An end found down the columns (y = offset + slope * x) when it runs straight across most
    of the paper's width; None when there is none (out of the picture, torn); False when there
    is one but not where the sides end (`near`): beyond it by more than half the width, or well
    inside it (a logo's edge, a fold). The sides may stop short of the end (a shadow along them)
    or run on a little past it (stray candidates on their line), hence the asymmetry."""
    if fit is None:
        return None
    end, points = fit
    if not points or points[-1][0] - points[0][0] < _MIN_END_SHARE * width:
        return None
    beyond = outward * (end.x((points[0][0] + points[-1][0]) / 2) - near)
    if not -_END_DISTANCE * width <= beyond <= _END_BEYOND * width:
        return False
    return end


def _square_end(constant: float, slope: float) -> Side:
    """The end y + slope * x = constant, as y = offset + slope' * x."""
    return Side(constant, -slope)


def _trimmed(run: list[Point]) -> list[Point]:
    """`run` without the sparse points at either end: the side's candidates thin out where the
    paper ends, and a stray one there would carry the end past it."""
    while len(run) > 2 and run[1][0] - run[0][0] > _END_GAP:
        run = run[1:]
    while len(run) > 2 and run[-1][0] - run[-2][0] > _END_GAP:
        run = run[:-1]
    return run


def _densest_run(points: list[Point]) -> list[Point]:
    """The longest stretch of `points` (sorted by row) with no gap over a few rows: the side
    itself, without stray candidates beyond the paper's ends that happen to fall on its line."""
    best: list[Point] = []
    start = 0
    for index in range(1, len(points) + 1):
        if index == len(points) or points[index][0] - points[index - 1][0] > _MAX_GAP:
            if index - start > len(best):
                best = points[start:index]
            start = index
    return best


def _steps(blurred: Image.Image) -> tuple[list[Point], list[Point]]:
    """(row, x) of each row's strongest rise (dark to bright, left to right) and strongest fall,
    where one is strong enough to be the paper's edge."""
    width, height = blurred.size
    ahead = Image.new("L", blurred.size, 0)
    ahead.paste(blurred.crop((_STEP, 0, width, height)), (0, 0))
    behind = Image.new("L", blurred.size, 0)
    behind.paste(blurred.crop((0, 0, width - _STEP, height)), (_STEP, 0))
    rising = ImageChops.subtract(ahead, behind).tobytes()
    falling = ImageChops.subtract(behind, ahead).tobytes()
    rises: list[Point] = []
    falls: list[Point] = []
    for y in range(height):
        for data, found, outermost in ((rising, rises, _first), (falling, falls, _last)):
            row = data[y * width + _STEP : (y + 1) * width - _STEP]
            strongest = max(row, default=0)
            if strongest < _MIN_STEP:
                continue
            # The strongest step, and the outermost strong one: bold print inside the paper can
            # outdo the paper's own edge, grain on the table beside it rarely comes close.
            at = row.index(strongest)
            outer = outermost(row, strongest // 2)
            for x in {at, outer}:
                found.append((float(y), float(x + _STEP)))
    return rises, falls


def _first(row: bytes, least: int) -> int:
    return next(index for index, value in enumerate(row) if value >= least)


def _last(row: bytes, least: int) -> int:
    return len(row) - 1 - _first(row[::-1], least)


def _straight_side(points: list[Point]) -> Side | None:
    """The line x = offset + slope * y most of `points` (y, x) lie on: the best of many lines
    through two of them far apart (counted on a sample), refitted by least squares to all the
    points near it."""
    if len(points) < 20:
        return None
    rng = random.Random(len(points))
    sample = points[:: max(1, len(points) // 120)]
    best: Side | None = None
    best_count = 0
    reach = (points[-1][0] - points[0][0]) / 3
    for _ in range(_TRIES):
        (y1, x1), (y2, x2) = rng.sample(points, 2)
        if abs(y2 - y1) < reach:
            continue
        slope = (x2 - x1) / (y2 - y1)
        if abs(slope) > _MAX_SLOPE * _ROWS:  # the points' rows are averaged rows
            continue
        side = Side(x1 - slope * y1, slope)
        count = sum(1 for y, x in sample if abs(x - side.x(y)) <= _TOLERANCE)
        if count > best_count:
            best, best_count = side, count
    if best is None:
        return None
    chosen = best
    return _fit([(y, x) for y, x in points if abs(x - chosen.x(y)) <= _TOLERANCE]) or best


def _fit(points: list[Point]) -> Side | None:
    if len(points) < 10:
        return None
    n = len(points)
    mean_y = sum(y for y, _ in points) / n
    mean_x = sum(x for _, x in points) / n
    spread = sum((y - mean_y) ** 2 for y, _ in points)
    if spread == 0:
        return None
    slope = sum((y - mean_y) * (x - mean_x) for y, x in points) / spread
    return Side(mean_x - slope * mean_y, slope)


def _meet(side: Side, end: Side) -> Point:
    """Where a side (x = offset + slope * y) meets an end (y = offset + slope * x)."""
    y = (end.offset + end.slope * side.offset) / (1 - end.slope * side.slope)
    return side.x(y), y


def _distance(a: Point, b: Point) -> float:
    return float(((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5)


def perspective_coefficients(output: list[Point], source: list[Point]) -> tuple[float, ...]:
    """Pillow's PERSPECTIVE coefficients, mapping each `output` corner onto its `source` corner."""
    rows: list[list[float]] = []
    for (x, y), (u, v) in zip(output, source, strict=True):
        rows.append([x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u])
        rows.append([0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v])
    return tuple(_solve(rows))


def _solve(augmented: list[list[float]]) -> list[float]:
    """Gaussian elimination with partial pivoting on an n x (n + 1) augmented matrix."""
    a = [row[:] for row in augmented]
    n = len(a)
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        if a[col][col] == 0:
            raise ValueError("the corners are degenerate")
        for r in range(n):
            if r != col:
                factor = a[r][col] / a[col][col]
                a[r] = [x - factor * y for x, y in zip(a[r], a[col], strict=True)]
    return [a[i][n] / a[i][i] for i in range(n)]
