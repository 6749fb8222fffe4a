"""Rasterise scenes: anti-aliased shapes on black, by supersampled coverage."""
from __future__ import annotations

import numpy as np

from .scenes import COLOURS, Obj, Scene

_SUPERSAMPLE = 4


def _coverage(obj: Obj, size: int) -> np.ndarray:
    """Fraction of each pixel covered by the shape (circle, axis-aligned square, upward triangle)."""
    n = size * _SUPERSAMPLE
    coords = (np.arange(n) + 0.5) / _SUPERSAMPLE
    x, y = np.meshgrid(coords, coords)
    x0, y0, x1, y1 = obj.box
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2
    if obj.shape == "circle":
        inside = (x - cx) ** 2 + (y - cy) ** 2 <= r ** 2
    elif obj.shape == "square":
        inside = (x >= x0) & (x < x1) & (y >= y0) & (y < y1)
    else:  # triangle: apex at top centre, base along the bottom edge
        t = (y - y0) / max(y1 - y0, 1e-6)
        inside = (t >= 0) & (t <= 1) & (np.abs(x - cx) <= t * r)
    return inside.reshape(size, _SUPERSAMPLE, size, _SUPERSAMPLE).mean(axis=(1, 3))


def render(scene: Scene, size: int | None = None) -> np.ndarray:
    """An (H, W, 3) float32 image in [0, 1]; `size` rescales the scene's pixel boxes to another canvas."""
    size = size or scene.size
    scale = size / scene.size
    image = np.zeros((size, size, 3), np.float32)
    for obj in scene.objects:
        scaled = Obj(obj.colour, obj.shape, tuple(v * scale for v in obj.box))
        alpha = _coverage(scaled, size)[..., None]
        image = image * (1 - alpha) + alpha * (np.asarray(COLOURS[obj.colour], np.float32) / 255.0)
    return image.astype(np.float32)
