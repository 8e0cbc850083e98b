"""Preparing phone photos and scans for Tesseract with OpenCV: find the paper, flatten it, even
out the light, binarise.

A phone photo shows the receipt as a bright quadrilateral on a darker table, seen at an angle and
lit unevenly. Tesseract wants a flat, upright, black-on-white page at about 300 dpi. OpenCV does the
geometry (contours, polygon fit, perspective warp) and the large-kernel filters in compiled code,
where the Pillow equivalents are either missing or several times slower.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from PIL import Image

from ocr.imaging import crop_to_paper, scaled, skew_angle, suppress_barcodes

# The paper is at least this share of the picture: anything smaller is a label or a logo on the
# receipt, not the receipt (people fill the frame with what they photograph).
_MIN_PAPER_AREA = 0.12
# ... and at most this share: above it the paper fills the frame (a scan) and nothing is cut.
_MAX_PAPER_AREA = 0.9
_FIND_SIDE = 600
_DESKEW_MIN_DEGREES = 0.5

Array = Any  # numpy arrays: numpy's own generics add nothing to these few lines


def prepare_with_gray(gray: Image.Image) -> tuple[Image.Image, Image.Image]:
    """Like `ocr.imaging.prepare_with_gray`: the binarised page and the aligned grayscale (for
    the date's second look), from a photo or a scan."""
    pixels = np.asarray(gray)
    flat = flattened_paper(pixels)
    if flat is None:
        flat = np.asarray(crop_to_paper(gray))
    page = np.asarray(scaled(Image.fromarray(flat)))
    page = cv2.medianBlur(page, 3)
    even = evened(page)
    binary = binarised(even)
    angle = skew_angle(Image.fromarray(binary))
    if abs(angle) >= _DESKEW_MIN_DEGREES:
        binary = _rotated(binary, angle)
        even = _rotated(even, angle)
        binary = np.where(binary > 127, 255, 0).astype(np.uint8)
    binary_image = Image.fromarray(binary)
    cleaned = suppress_barcodes(binary_image)
    if cleaned is not binary_image:
        even = np.maximum(even, np.asarray(cleaned) - binary).astype(np.uint8)
    return cleaned, Image.fromarray(even)


def flattened_paper(gray: Array) -> Array | None:
    """The paper cut out and perspective-corrected to a rectangle, when the picture shows a bright
    quadrilateral (or a bright turned rectangle) on a darker background; None when the paper fills
    the frame or nothing paper-like stands out."""
    height, width = gray.shape
    factor = _FIND_SIDE / max(height, width)
    small = cv2.resize(gray, (round(width * factor), round(height * factor)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (5, 5), 0)
    _, bright = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # Close the paper over its own print, so text and logos do not cut holes into its outline.
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    outline = max(contours, key=cv2.contourArea)
    share = cv2.contourArea(outline) / (small.shape[0] * small.shape[1])
    if not _MIN_PAPER_AREA <= share <= _MAX_PAPER_AREA:
        return None
    hull = cv2.convexHull(outline)
    quad = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
    if len(quad) != 4:
        quad = cv2.boxPoints(cv2.minAreaRect(hull))
    corners = _ordered(np.asarray(quad, dtype=np.float32).reshape(4, 2) / factor)
    return _warped(gray, corners)


def _ordered(corners: Array) -> Array:
    """Top-left, top-right, bottom-right, bottom-left."""
    sums = corners.sum(axis=1)
    diffs = np.diff(corners, axis=1).ravel()
    return np.array(
        [
            corners[np.argmin(sums)],
            corners[np.argmin(diffs)],
            corners[np.argmax(sums)],
            corners[np.argmax(diffs)],
        ],
        dtype=np.float32,
    )


def _warped(gray: Array, corners: Array) -> Array:
    top_left, top_right, bottom_right, bottom_left = corners
    width = round(max(np.linalg.norm(top_right - top_left), np.linalg.norm(bottom_right - bottom_left)))
    height = round(max(np.linalg.norm(bottom_left - top_left), np.linalg.norm(bottom_right - top_right)))
    target = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(corners, target)
    return cv2.warpPerspective(
        gray, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )


def evened(gray: Array) -> Array:
    """The picture divided by its own background (the paper's brightness where no ink is, found
    by a closing wider than any stroke): shadows and light fall-off vanish, ink stays dark."""
    size = max(15, gray.shape[1] // 40) | 1
    background = cv2.morphologyEx(
        gray, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    )
    background = cv2.GaussianBlur(background, (size, size), 0)
    return cv2.divide(gray, np.maximum(background, 1), scale=255)


def binarised(even: Array) -> Array:
    """Ink where a pixel is clearly darker than its neighbourhood (after `evened`, the paper is
    uniformly white, so the local mean threshold no longer fights the light)."""
    block = max(15, even.shape[1] // 40) | 1
    return cv2.adaptiveThreshold(even, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, 18)


def _rotated(image: Array, angle: float) -> Array:
    """Turned by `angle` degrees counter-clockwise, canvas grown to keep the corners (like
    Pillow's `rotate(expand=True, fillcolor=255)`)."""
    height, width = image.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(height * sin + width * cos), int(height * cos + width * sin)
    matrix[0, 2] += new_w / 2 - width / 2
    matrix[1, 2] += new_h / 2 - height / 2
    return cv2.warpAffine(
        image, matrix, (new_w, new_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=255
    )
