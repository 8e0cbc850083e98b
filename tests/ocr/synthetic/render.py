"""A synthetic receipt printed with Pillow: paper 300–600 px wide (58/80 mm at 130–200 dpi),
monospaced or proportional fonts, amounts flush right, a larger or bold header, rules, and
sometimes a barcode; `degrade` turns the print into a scan or phone photo."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

if TYPE_CHECKING:
    from tests.ocr.synthetic.compose import SyntheticReceipt

_FONTS = Path("/usr/share/fonts/truetype")
MONO = ("dejavu/DejaVuSansMono", "liberation/LiberationMono-Regular", "freefont/FreeMono")
PROPORTIONAL = ("dejavu/DejaVuSans", "liberation/LiberationSans-Regular", "freefont/FreeSans",
                "dejavu/DejaVuSansCondensed")  # fmt: skip
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _font(name: str, size: int, bold: bool) -> Font:
    """The font file, its bold cut when asked; Pillow's own font when the file is not installed
    (scripts/system-packages.sh installs the Debian font packages for `test`)."""
    base = name.replace("-Regular", "")
    candidates = [f"{base}-Bold.ttf", f"{base}Bold.ttf"] if bold else []
    candidates.append(f"{name}.ttf")
    for candidate in candidates:
        path = _FONTS / candidate
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def render(receipt: SyntheticReceipt) -> Image.Image:
    rng = random.Random(receipt.seed * 7919 + 1)
    width = rng.randint(300, 600)
    margin = max(6, width // 30)
    mono = rng.random() < 0.6
    family = rng.choice(MONO if mono else PROPORTIONAL)
    probe = _font(family, 100, False)
    char = probe.getlength("0") / 100
    size = max(9, int((width - 2 * margin) / (receipt.columns * char)))
    body = _font(family, size, False)
    bold = _font(family, size, True)
    header = _font(family, int(size * rng.uniform(1.3, 1.9)), rng.random() < 0.6)
    spacing = rng.uniform(1.2, 1.5)
    rows: list[tuple[Font, int]] = []
    for line in receipt.printed:
        font = {"header": header, "bold": bold}.get(line.style, body)
        rows.append((font, int(font.size * spacing) if hasattr(font, "size") else size))
    barcode = rng.random() < 0.3
    height = 2 * margin + sum(h for _, h in rows) + (90 if barcode else 0)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    ink = rng.randint(0, 70)  # thermal print is often grey, not black
    y = margin
    for line, (font, row) in zip(receipt.printed, rows, strict=True):
        if line.style == "rule":
            text = line.left * int((width - 2 * margin) / max(1.0, font.getlength(line.left)))
            draw.text((margin, y), text, fill=ink, font=font)
        elif line.style in ("header", "center") and not line.right:
            left = (width - font.getlength(line.left)) / 2
            draw.text((max(margin, left), y), line.left, fill=ink, font=font)
        else:
            draw.text((margin, y), line.left, fill=ink, font=font)
            if line.right:
                right = width - margin - font.getlength(line.right)
                draw.text((max(right, margin + font.getlength(line.left + " ")), y), line.right, fill=ink,
                          font=font)  # fmt: skip
        y += row
    if barcode:
        x = width // 5
        while x < width * 4 // 5:
            bar = rng.randint(1, 3)
            draw.rectangle((x, y + 10, x + bar, y + 70), fill=ink)
            x += bar + rng.randint(1, 4)
    return image


def degrade(image: Image.Image, seed: int, strength: float = 1.0) -> bytes:
    """The print as a scan or phone photo, JPEG-encoded: on a darker background, rotated up to
    ±5°, slightly in perspective, unevenly lit, blurred, noisy, rescaled, JPEG quality 30–90."""
    rng = random.Random(seed)
    photo = rng.random() < 0.5
    if photo:  # a phone camera sees more pixels than the paper's print resolution
        factor = rng.uniform(1.5, 2.5)
        image = image.resize(
            (int(image.width * factor), int(image.height * factor)), Image.Resampling.BICUBIC
        )
    background = rng.randint(40, 150)
    pad = image.width // 8
    canvas = Image.new("L", (image.width + 2 * pad, image.height + 2 * pad), background)
    canvas.paste(image, (pad, pad))
    canvas = canvas.rotate(rng.uniform(-5, 5) * strength, Image.Resampling.BICUBIC, expand=True,
                           fillcolor=background)  # fmt: skip
    if photo and rng.random() < 0.6:
        w, h = canvas.size
        d = 0.04 * strength
        coeffs = (1 + rng.uniform(-d, d), rng.uniform(-d, d), 0, rng.uniform(-d, d), 1, 0,
                  rng.uniform(-d, d) / w, rng.uniform(-d, d) / h)  # fmt: skip
        canvas = canvas.transform(canvas.size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC,
                                  fillcolor=background)  # fmt: skip
    pixels = np.asarray(canvas, dtype=np.float32)
    h, w = pixels.shape
    gy, gx = np.mgrid[0:h, 0:w]
    light = 1 - strength * rng.uniform(0, 0.35) * (gx / w if rng.random() < 0.5 else gy / h)
    pixels = pixels * light + np.random.default_rng(seed).normal(
        0, strength * rng.uniform(2, 12), pixels.shape
    )
    canvas = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    canvas = canvas.filter(ImageFilter.GaussianBlur(strength * rng.uniform(0.2, 1.2)))
    if not photo and rng.random() < 0.5:
        factor = rng.uniform(0.75, 1.0)
        canvas = canvas.resize((int(canvas.width * factor), int(canvas.height * factor)))
    buffer = io.BytesIO()
    canvas.save(buffer, format="JPEG", quality=rng.randint(30 + int(40 * (1 - strength)), 90))
    return buffer.getvalue()
