"""A tiny drawing library for rgb_array rendering, in NumPy (no display needed).

Coordinates are pixels: x is the column, y the row, (0, 0) the top-left corner. Shapes
are clipped to the frame; colors are (r, g, b) with values 0..255. Every function paints
into `frame` (a uint8 H×W×3 array) in place.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Color = Sequence[int]


def _color(color: Color) -> np.ndarray:
    return np.clip(np.asarray(color, dtype=np.int64), 0, 255).astype(np.uint8)[:3]


def fill(frame: np.ndarray, color: Color) -> None:
    """Paint the whole frame."""
    frame[...] = _color(color)


def fill_rect(frame: np.ndarray, x0: float, y0: float, x1: float, y1: float, color: Color) -> None:
    """Fill the pixels with x0 <= x < x1 and y0 <= y < y1 (corners in any order)."""
    height, width = frame.shape[:2]
    left, right = sorted((int(round(x0)), int(round(x1))))
    top, bottom = sorted((int(round(y0)), int(round(y1))))
    left, right = max(left, 0), min(right, width)
    top, bottom = max(top, 0), min(bottom, height)
    if left < right and top < bottom:
        frame[top:bottom, left:right] = _color(color)


def _grid(frame: np.ndarray, x0: float, y0: float, x1: float, y1: float):
    height, width = frame.shape[:2]
    left, right = max(int(np.floor(x0)), 0), min(int(np.ceil(x1)) + 1, width)
    top, bottom = max(int(np.floor(y0)), 0), min(int(np.ceil(y1)) + 1, height)
    if left >= right or top >= bottom:
        return None
    ys, xs = np.mgrid[top:bottom, left:right]
    return (top, bottom, left, right), xs + 0.5, ys + 0.5


def circle(frame: np.ndarray, cx: float, cy: float, radius: float, color: Color) -> None:
    """Fill the disc of the given radius around (cx, cy)."""
    box = _grid(frame, cx - radius, cy - radius, cx + radius, cy + radius)
    if box is None:
        return
    (top, bottom, left, right), xs, ys = box
    inside = (xs - cx) ** 2 + (ys - cy) ** 2 <= radius * radius
    frame[top:bottom, left:right][inside] = _color(color)


def line(
    frame: np.ndarray,
    x0: float,
    y0: float,
    x1: float,
    y1: float,
    color: Color,
    width: float = 1,
) -> None:
    """Draw the segment from (x0, y0) to (x1, y1), `width` pixels thick."""
    half = max(float(width), 1.0) / 2.0
    box = _grid(
        frame, min(x0, x1) - half, min(y0, y1) - half, max(x0, x1) + half, max(y0, y1) + half
    )
    if box is None:
        return
    (top, bottom, left, right), xs, ys = box
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy
    if length2 == 0:
        t = np.zeros_like(xs)
    else:
        t = np.clip(((xs - x0) * dx + (ys - y0) * dy) / length2, 0.0, 1.0)
    distance2 = (xs - (x0 + t * dx)) ** 2 + (ys - (y0 + t * dy)) ** 2
    frame[top:bottom, left:right][distance2 <= half * half] = _color(color)


def polygon(frame: np.ndarray, points: Sequence[Sequence[float]], color: Color) -> None:
    """Fill the polygon with the given [x, y] corners (even-odd rule)."""
    corners = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(corners) < 3:
        return
    box = _grid(
        frame, corners[:, 0].min(), corners[:, 1].min(), corners[:, 0].max(), corners[:, 1].max()
    )
    if box is None:
        return
    (top, bottom, left, right), xs, ys = box
    inside = np.zeros(xs.shape, dtype=bool)
    for (xa, ya), (xb, yb) in zip(corners, np.roll(corners, -1, axis=0), strict=True):
        crosses = (ya > ys) != (yb > ys)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = xa + (ys - ya) * (xb - xa) / (yb - ya)
        inside ^= crosses & (xs < x_at)
    frame[top:bottom, left:right][inside] = _color(color)
