"""Phone-photo-like pictures made from flatbed scans, for measuring how image preparation copes
with what people actually upload: the paper lying on a darker, textured table, seen at an angle,
lit unevenly, slightly blurred and JPEG-compressed. Seeded, so a run is repeatable; made in memory,
so no derived image is ever committed."""

from __future__ import annotations

import io
import math
import random

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps

from ocr.paper import perspective_coefficients

# An A4 page scanned at 300 dpi is ~2500 px wide; a phone photo of it shows it ~1700 px wide.
_PAGE_WIDTH = 2000
_PAGE_SCALE = 0.7


def photographed(scan: bytes, *, seed: int) -> bytes:
    """`scan` as if photographed with a phone: a JPEG of the paper, perspective-distorted and a
    few degrees rotated, on a darker textured background, under a shadow gradient."""
    rng = random.Random(seed)
    paper = ImageOps.exif_transpose(Image.open(io.BytesIO(scan))).convert("RGB")
    if paper.width > _PAGE_WIDTH:
        paper = paper.resize((round(paper.width * _PAGE_SCALE), round(paper.height * _PAGE_SCALE)))
    width, height = paper.size
    canvas_w = round(width * rng.uniform(1.35, 1.7))
    canvas_h = round(height * rng.uniform(1.12, 1.3))
    background = _table(canvas_w, canvas_h, rng)
    quad = _placed_quad(width, height, canvas_w, canvas_h, rng)
    coefficients = perspective_coefficients(quad, [(0.0, 0.0), (width, 0.0), (width, height), (0.0, height)])
    warped = paper.transform(
        (canvas_w, canvas_h), Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BICUBIC
    )
    mask = Image.new("L", paper.size, 255).transform(
        (canvas_w, canvas_h), Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BILINEAR
    )
    photo = Image.composite(warped, background, mask)
    photo = ImageChops.multiply(photo, _shadow(canvas_w, canvas_h, rng).convert("RGB"))
    photo = photo.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.1)))
    grain = _noise((canvas_w, canvas_h), rng.uniform(10, 20), rng).convert("RGB")
    photo = ImageChops.add(photo, grain, scale=1.0, offset=-128)
    out = io.BytesIO()
    photo.save(out, format="JPEG", quality=rng.randint(60, 82))
    return out.getvalue()


def _table(width: int, height: int, rng: random.Random) -> Image.Image:
    """A dark-to-mid surface (wood, stone, a desk) with coarse texture."""
    base = tuple(rng.randint(45, 120) + rng.randint(-15, 15) for _ in range(3))
    table = Image.new("RGB", (width, height), base)
    coarse = _noise((max(1, width // 16), max(1, height // 16)), 70, rng).resize((width, height))
    fine = _noise((width, height), 45, rng)
    texture = ImageChops.add(coarse, fine, scale=2.0).convert("RGB")
    return ImageChops.add(table, texture, scale=1.0, offset=-64)


def _noise(size: tuple[int, int], amplitude: float, rng: random.Random) -> Image.Image:
    """Uniform noise around mid-grey, +-`amplitude`, from `rng` (Pillow's own noise is not seeded)."""
    raw = Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))
    return raw.point(lambda v: round(128 + (v - 128) * amplitude / 128))


def _placed_quad(
    width: int, height: int, canvas_w: int, canvas_h: int, rng: random.Random
) -> list[tuple[float, float]]:
    """Where the paper's corners land: centred, turned a few degrees, each corner pulled by up to
    6 % of the paper's size (the camera not straight above it)."""
    angle = math.radians(rng.uniform(-4, 4))
    cx, cy = canvas_w / 2 + rng.uniform(-0.05, 0.05) * canvas_w, canvas_h / 2
    corners = []
    for x, y in [(0, 0), (width, 0), (width, height), (0, height)]:
        dx, dy = x - width / 2, y - height / 2
        rx = cx + dx * math.cos(angle) - dy * math.sin(angle)
        ry = cy + dx * math.sin(angle) + dy * math.cos(angle)
        corners.append((rx + rng.uniform(-0.06, 0.06) * width, ry + rng.uniform(-0.03, 0.03) * height))
    return corners


def _shadow(width: int, height: int, rng: random.Random) -> Image.Image:
    """Light falling off across the picture (a window on one side, the phone's own shadow)."""
    small = Image.linear_gradient("L").resize((64, 64)).rotate(rng.uniform(0, 360), expand=False)
    darkest = rng.randint(120, 185)
    ramp = small.point(lambda v: darkest + (255 - darkest) * v // 255)
    shadow = ramp.resize((width, height), Image.Resampling.BICUBIC)
    if rng.random() < 0.5:  # a soft blob: a hand or the phone between lamp and paper
        blob = Image.new("L", (width, height), 255)
        r = rng.uniform(0.15, 0.3) * width
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        ImageDraw.Draw(blob).ellipse((x - r, y - r, x + r, y + r), fill=rng.randint(150, 200))
        shadow = ImageChops.multiply(shadow, blob.filter(ImageFilter.GaussianBlur(r / 2)))
    return shadow
