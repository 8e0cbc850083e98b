"""Checking an uploaded image and preparing it for Tesseract, with Pillow.

`inspect` reads only the file's signature and header (microseconds, no pixel decoding), so the web
process refuses non-images and decompression bombs before any work is queued. `prepare` decodes
and cleans the picture; it runs in a worker process, never on the event loop.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageChops, ImageFilter, ImageOps

from domain import Invalid, PayloadTooLarge, UnsupportedMediaType
from ocr.paper import rectified

FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}

# Receipts are about 80 mm wide; at the 300 dpi Tesseract is trained for that is ~950 px.
_MIN_PAPER_WIDTH = 1250
_MAX_PAPER_WIDTH = 2000
_MAX_UPSCALE = 3.0
# Photos in perspective are straightened (ocr/paper.py); benches turn it off to compare.
RECTIFY = True
_DRAFT_LONGEST_SIDE = 4200
_DESKEW_MAX_DEGREES = 8.0
# Barcodes: a bar is a vertical run of ink at least this fraction of the paper's width long (text
# at the prepared scale is ~1/30 of it), and a barcode is a row crossing at least this many bars.
_BAR_MIN_LENGTH = 1 / 16
_BARCODE_MIN_BARS = 12
# A column belongs to the paper's edge while paper covers at least this fraction of what it covers
# in the fullest column.
_PAPER_EDGE_COVERAGE = 0.08
# ... and while coverage keeps falling over this many columns of the thumbnail.
_RAMP_SPAN = 6
# A rule (or the paper's edge) is a vertical run of ink at least 1/this of the width long.
_RULE_MIN_LENGTH = 6
# ... and lies in the outer this fraction of the width on either side.
_RULE_SIDE = 0.12


@dataclass(frozen=True, slots=True)
class ImageHeader:
    format: str
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return FORMATS[self.format]


def sniff_format(head: bytes) -> str | None:
    """The format the bytes themselves announce (never the file name or Content-Type)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def inspect(data: bytes, *, max_pixels: int) -> ImageHeader:
    """The image's format and size from its header alone.

    Raises UnsupportedMediaType (not PNG/JPEG/WebP), PayloadTooLarge (more pixels than allowed:
    a decompression bomb is refused here, before a byte of it is inflated) or Invalid (a header
    Pillow cannot read)."""
    kind = sniff_format(data[:16])
    if kind is None:
        raise UnsupportedMediaType(
            f"the file is not a {', '.join(EXTENSIONS.values())} image", code="unsupported_image"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[kind]) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        raise _too_many_pixels(max_pixels) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise Invalid(f"the {kind} image cannot be read: {exc}", code="corrupt_image") from None
    if width < 1 or height < 1:
        raise Invalid("the image has no pixels", code="corrupt_image")
    if width * height > max_pixels:
        raise _too_many_pixels(max_pixels, width, height)
    return ImageHeader(kind, width, height)


def _too_many_pixels(max_pixels: int, width: int = 0, height: int = 0) -> PayloadTooLarge:
    size = f" ({width}x{height})" if width else ""
    return PayloadTooLarge(
        f"the image has too many pixels{size}; at most {max_pixels:,} are accepted",
        code="image_too_large",
    )


def decode(data: bytes, *, max_pixels: int) -> Image.Image:
    """The upright picture in grayscale. Raises as `inspect` does, and Invalid for truncated or
    corrupt pixel data."""
    header = inspect(data, max_pixels=max_pixels)
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with Image.open(io.BytesIO(data), formats=[header.format]) as image:
            if header.format == "JPEG" and max(header.width, header.height) > _DRAFT_LONGEST_SIDE:
                # Let libjpeg decode at 1/2, 1/4 ... scale: faster and a fraction of the memory.
                scale = max(header.width, header.height) / _DRAFT_LONGEST_SIDE
                image.draft("L", (int(header.width / scale), int(header.height / scale)))
            image.load()
            upright = ImageOps.exif_transpose(image)
            return upright.convert("L") if upright.mode != "L" else upright.copy()
    except Image.DecompressionBombError:
        raise _too_many_pixels(max_pixels) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise Invalid(f"the image is truncated or corrupt: {exc}", code="corrupt_image") from None


def prepare(gray: Image.Image) -> Image.Image:
    """A black-on-white picture of the receipt at a resolution Tesseract reads well: cropped to the
    paper (a photo in perspective straightened onto a rectangle), scaled, denoised, binarised
    with a local threshold, deskewed and with barcodes blanked."""
    return prepare_with_gray(gray)[0]


def prepare_with_gray(gray: Image.Image) -> tuple[Image.Image, Image.Image]:
    """`prepare`'s picture and, pixel for pixel aligned with it, the scaled, denoised, deskewed
    grayscale (barcodes whitened too) for a second look at single lines, where Tesseract's own
    thresholding sometimes reads faint print better than the local threshold."""
    straightened = rectified(gray, scale=_scale_factor) if RECTIFY else None
    # straightened at the reading scale already (the upscale capped as `_scaled` caps it)
    paper = _scaled(crop_to_paper(gray)) if straightened is None else straightened
    paper = median3(paper)
    binary = binarise(paper)
    angle = skew_angle(binary)
    if abs(angle) >= 0.5:
        binary = binary.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=255)
        binary = binary.point(lambda v: 255 if v > 127 else 0)
        paper = paper.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=255)
    cleaned = suppress_rules(suppress_barcodes(binary))
    if cleaned is not binary:
        paper = ImageChops.lighter(paper, ImageChops.subtract(cleaned, binary))
    return cleaned, paper


def crop_to_paper(gray: Image.Image) -> Image.Image:
    """The band of columns the paper covers, when the receipt was scanned or photographed on a
    darker background. Leaves the image alone when the paper fills it. (Rows are left alone: a
    receipt's own logos and barcodes make dark bands across it.)

    The band is the run of columns whose mean is near the brightest, widened to the run of columns
    mostly covered by paper-bright pixels (Otsu's split of the thumbnail) when the two overlap: a
    receipt photographed at an angle covers its outer columns only partly, and the mean alone cut
    those columns off, taking the right-hand amounts with them. Never narrowed by coverage: on
    scans a shaded half of the paper would lose its columns."""
    thumb = gray.copy()
    thumb.thumbnail((400, 400))
    left, right = _bright_run(_profile(thumb, axis="columns"))
    covered = _paper_columns(thumb)
    widened = min(left, covered[0]), max(right, covered[1])
    # The same paper, seen whole, and clearly wider (a tilted photo loses a good part of its width;
    # a column or two more or less only moves the binarisation's noise about).
    if (
        covered[0] < right
        and covered[1] > left
        and widened[1] - widened[0] > right - left + 0.05 * thumb.width
    ):
        left, right = widened
    if (right - left) < 0.92 * thumb.width:
        scale = gray.width / thumb.width
        margin = int(0.01 * gray.width)
        box = (
            max(0, int(left * scale) - margin),
            0,
            min(gray.width, int(right * scale) + margin),
            gray.height,
        )
        gray = gray.crop(box)
    return gray


def _paper_columns(thumb: Image.Image) -> tuple[int, int]:
    """The longest run of columns at least half as covered by bright pixels as the most covered
    one; the whole width when paper and background are not told apart."""
    split = _otsu(thumb.histogram())
    if split is None:
        return 0, thumb.width
    mask = thumb.point(lambda value: 255 if value > split else 0)
    coverage = _profile(mask, axis="columns")
    fullest = max(coverage, default=0)
    if fullest == 0:
        return 0, thumb.width
    best, best_length, start = (0, thumb.width), 0, None
    for index, value in enumerate([*coverage, -1]):
        if value >= 0.5 * fullest and start is None:
            start = index
        elif value < 0.5 * fullest and start is not None:
            if index - start > best_length:
                best, best_length = (start, index), index - start
            start = None
    if best_length < 0.12 * thumb.width:
        return 0, thumb.width
    # A tilted receipt covers its outermost columns only in part (a ramp as wide as its height
    # times the tilt's sine), and the ends of its lines, the amounts, lie in that ramp: take the
    # columns the paper covers at all, as far as their coverage runs on falling from the fully
    # covered ones (`_ramp_end`: something else bright beside the paper makes a plateau instead).
    left, right = best
    return _ramp_end(coverage, left, -1, fullest), _ramp_end(coverage, right - 1, 1, fullest) + 1


def _ramp_end(coverage: list[int], edge: int, step: int, fullest: int) -> int:
    """The last column, going outward from `edge` by `step`, of the ramp a tilted paper's edge
    makes: coverage falling steadily towards nothing. It ends where coverage drops below the
    edge share, or stops falling (a plateau is something else bright: a tablecloth's edge or a
    sheet across the picture, not this paper)."""
    index = edge
    while 0 <= index + step < len(coverage):
        value = coverage[index + step]
        inner = (
            coverage[index + step - _RAMP_SPAN * step]
            if 0 <= index + step - _RAMP_SPAN * step < len(coverage)
            else fullest
        )
        if value < _PAPER_EDGE_COVERAGE * fullest or value >= inner:
            break
        index += step
    return index


def _otsu(histogram: list[int]) -> int | None:
    """Otsu's threshold of a 256-bin histogram; None when the two classes are less than 40 grey
    levels apart (nothing but paper, or nothing but background)."""
    total = sum(histogram)
    if total == 0:
        return None
    weighted_all = sum(level * count for level, count in enumerate(histogram))
    best, best_variance, gap = None, 0.0, 0.0
    below = weighted_below = 0
    for level, count in enumerate(histogram):
        below += count
        weighted_below += level * count
        above = total - below
        if below == 0 or above == 0:
            continue
        mean_below = weighted_below / below
        mean_above = (weighted_all - weighted_below) / above
        variance = below * above * (mean_below - mean_above) ** 2
        if variance > best_variance:
            best, best_variance = level, variance
            gap = mean_above - mean_below
    if best is None or gap < 40:
        return None
    return best


def _profile(image: Image.Image, *, axis: str) -> list[int]:
    size = (image.width, 1) if axis == "columns" else (1, image.height)
    return list(image.resize(size, Image.Resampling.BOX).tobytes())


def _bright_run(profile: list[int]) -> tuple[int, int]:
    """The longest run of entries close to the brightest; the whole range when none stands out."""
    if not profile:
        return 0, 0
    ordered = sorted(profile)
    brightest = ordered[int(0.95 * (len(ordered) - 1))]
    darkest = ordered[int(0.05 * (len(ordered) - 1))]
    if brightest - darkest < 40:
        return 0, len(profile)
    threshold = brightest - 0.3 * (brightest - darkest)
    best, start = (0, len(profile)), None
    best_length = 0
    for index, value in enumerate(profile + [-1]):
        if value >= threshold and start is None:
            start = index
        elif value < threshold and start is not None:
            if index - start > best_length:
                best, best_length = (start, index), index - start
            start = None
    if best_length < 0.12 * len(profile):
        return 0, len(profile)
    return best


def _scale_factor(width: float) -> float:
    """How much a paper `width` pixels wide is scaled to be read at about 300 dpi."""
    if width < _MIN_PAPER_WIDTH:
        return min(_MAX_UPSCALE, _MIN_PAPER_WIDTH / width)
    if width > _MAX_PAPER_WIDTH:
        return _MAX_PAPER_WIDTH / width
    return 1.0


def _scaled(gray: Image.Image) -> Image.Image:
    factor = _scale_factor(gray.width)
    if factor == 1.0:
        return gray
    size = (max(1, round(gray.width * factor)), max(1, round(gray.height * factor)))
    return gray.resize(size, Image.Resampling.LANCZOS if factor < 1 else Image.Resampling.BICUBIC)


def median3(gray: Image.Image) -> Image.Image:
    """Pillow's `MedianFilter(3)`, pixel for pixel (edges replicated), in a fraction of its time:
    Pillow ranks the nine neighbours of every pixel one at a time, over half of the
    preparation's time; here each column of three is sorted once for the whole picture and the median is
    the median of the columns' greatest low, median middle and least high (exact for a 3x3 window),
    about 20 whole-picture min/max operations."""
    darker, lighter = ImageChops.darker, ImageChops.lighter
    up, down = _moved(gray, 0, -1), _moved(gray, 0, 1)
    low_pair, high_pair = darker(up, gray), lighter(up, gray)
    low = darker(low_pair, down)
    rest = lighter(low_pair, down)
    middle, high = darker(high_pair, rest), lighter(high_pair, rest)

    def across(image: Image.Image) -> tuple[Image.Image, Image.Image, Image.Image]:
        return _moved(image, -1, 0), image, _moved(image, 1, 0)

    low_left, _, low_right = across(low)
    high_left, _, high_right = across(high)
    greatest_low = lighter(lighter(low_left, low), low_right)
    least_high = darker(darker(high_left, high), high_right)
    return _median_of(greatest_low, _median_of(*across(middle)), least_high)


def _median_of(a: Image.Image, b: Image.Image, c: Image.Image) -> Image.Image:
    """The pixelwise median of three pictures."""
    darker, lighter = ImageChops.darker, ImageChops.lighter
    return lighter(darker(a, b), darker(lighter(a, b), c))


def _moved(image: Image.Image, dx: int, dy: int) -> Image.Image:
    """The picture shifted so that moved(x, y) = image(x + dx, y + dy) for |dx|, |dy| <= 1, the
    edge row or column repeated where the shift uncovers it."""
    width, height = image.size
    moved = image.copy()
    part = image.crop((max(0, dx), max(0, dy), width + min(0, dx), height + min(0, dy)))
    moved.paste(part, (max(0, -dx), max(0, -dy)))
    return moved


def binarise(gray: Image.Image, *, offset: int = 22) -> Image.Image:
    """Ink where a pixel is darker than its neighbourhood by `offset`: copes with shadows and
    uneven light that defeat one global threshold."""
    radius = max(8, gray.width // 40)
    local_mean = gray.filter(ImageFilter.BoxBlur(radius))
    darker_by = ImageChops.subtract(local_mean, gray)
    return darker_by.point(lambda v: 0 if v > offset else 255)


def suppress_barcodes(binary: Image.Image) -> Image.Image:
    """The picture with the bars of any barcode blanked: Tesseract reads bars as `I l 1 |` and,
    where they come close to a line of text (a date printed under the barcode), garbles or drops
    that line. A bar is a vertical run of ink much taller than text (found by a morphological
    opening with a vertical line, all in Pillow); a barcode is a band of rows each crossing many
    such bars side by side, so a logo's few tall strokes and table rules are left alone. Only the
    bars' own pixels are cleared, so text touching them survives."""
    width, height = binary.size
    length = max(24, round(width * _BAR_MIN_LENGTH))
    if height <= length:
        return binary
    bars = _vertical_opening(binary, length)
    rows = list(bars.resize((1, height), Image.Resampling.BOX).tobytes())
    data = bars.tobytes()
    crossing = [
        y
        for y in range(height)
        if rows[y] < 255
        and len(re.findall(rb"\x00+", data[y * width : (y + 1) * width])) >= _BARCODE_MIN_BARS
    ]
    if not crossing:
        return binary
    out = binary.copy()
    for top, bottom in _bands(crossing, gap=length // 2):
        if bottom - top < length // 2:
            continue
        # Only the rows that cross many bars: where a bar runs on into a glyph below it (bars
        # printed touching the text), the glyph's part is left.
        box = (0, max(0, top - 2), width, min(height, bottom + 2))
        # the bars and the ragged edges beside them
        near_bars = _widened(bars.crop(box), 2)
        cleared = ImageChops.lighter(out.crop(box), ImageOps.invert(near_bars))
        out.paste(cleared, box)
    return out


def suppress_rules(binary: Image.Image) -> Image.Image:
    """The picture without the long vertical lines near its sides: the paper's own edges (the
    darker table beside a receipt leaves a dark line along each side once binarised). Tesseract takes
    a line beside a column of amounts for a frame and drops the amounts. A line is a vertical run
    of ink a sixth of the width long, far taller than any printed character."""
    length = max(48, binary.width // _RULE_MIN_LENGTH)
    if binary.height <= length:
        return binary
    rules = _vertical_opening(binary, length)
    # Only near the sides, where the paper's edges are: a line further in may be what parts the
    # receipt from something else on the scan, and Tesseract reads the receipt better apart.
    side = round(_RULE_SIDE * binary.width)
    rules.paste(255, (side, 0, binary.width - side, binary.height))
    if rules.getextrema()[0] == 255:
        return binary
    return ImageChops.lighter(binary, ImageOps.invert(_widened(rules, 3)))


def _vertical_opening(binary: Image.Image, length: int) -> Image.Image:
    """Ink (0) only where the pixel belongs to a vertical run of ink at least `length` tall:
    an erosion then a dilation by a vertical line, each built from log2(length) shifted copies."""

    def shifted(image: Image.Image, by: int) -> Image.Image:
        moved = Image.new("L", image.size, 255)
        if by > 0:  # moved(y) = image(y + by)
            moved.paste(image.crop((0, by, image.width, image.height)), (0, 0))
        else:  # moved(y) = image(y - |by|)
            moved.paste(image.crop((0, 0, image.width, image.height + by)), (0, -by))
        return moved

    def sweep(image: Image.Image, sign: int, combine: Any) -> Image.Image:
        span = 1
        while span < length:
            step = min(span, length - span)
            image = combine(image, shifted(image, sign * step))
            span += step
        return image

    eroded = sweep(binary, 1, ImageChops.lighter)  # ink where rows y..y+length-1 are all ink
    return sweep(eroded, -1, ImageChops.darker)  # grow each surviving run back to full length


def _widened(image: Image.Image, by: int) -> Image.Image:
    """Ink (0) grown sideways by `by` pixels (not up or down, so text under a bar keeps its top)."""
    grown = image
    for step in range(1, by + 1):
        for dx in (step, -step):
            moved = Image.new("L", image.size, 255)
            moved.paste(image, (dx, 0))
            grown = ImageChops.darker(grown, moved)
    return grown


def _bands(rows: list[int], *, gap: int) -> list[tuple[int, int]]:
    """Sorted row numbers grouped into (first, last + 1) bands, bridging gaps up to `gap`."""
    bands: list[tuple[int, int]] = []
    start = previous = rows[0]
    for row in rows[1:]:
        if row - previous > gap:
            bands.append((start, previous + 1))
            start = row
        previous = row
    bands.append((start, previous + 1))
    return bands


def skew_angle(binary: Image.Image) -> float:
    """The rotation (degrees) that makes text rows most horizontal: the angle whose row profile
    has the greatest variance (rows of ink alternating with blank rows)."""
    small = binary.copy()
    small.thumbnail((500, 500))
    inverted = ImageOps.invert(small)

    def sharpness(angle: float) -> float:
        rotated = inverted.rotate(angle, resample=Image.Resampling.NEAREST, expand=True)
        rows = list(rotated.resize((1, rotated.height), Image.Resampling.BOX).tobytes())
        mean = sum(rows) / len(rows)
        return sum((r - mean) ** 2 for r in rows) / len(rows)

    coarse = [a / 1.0 for a in range(-int(_DESKEW_MAX_DEGREES), int(_DESKEW_MAX_DEGREES) + 1)]
    best = max(coarse, key=sharpness)
    fine = [best + step / 4 for step in range(-3, 4)]
    best = max(fine, key=sharpness)
    baseline = sharpness(0.0)
    return best if sharpness(best) > baseline * 1.05 else 0.0
