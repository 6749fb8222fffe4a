"""An object's exact shape inside its box, as a layout carries it.

A segmentation node (SAM, Florence, a painted mask) knows more than a box: where the object really is. The
layout keeps that shape relative to the object's box, so moving or resizing the box in the editor moves and
stretches the shape with it, and the patch can act on the shape's cells only (mask_shape "mask").

JSON form, on a layout object: ``"mask": {"width": w, "height": h, "runs": [n0, n1, n2, ...]}``: a w x h binary
grid spanning the box, row-major, as run lengths that alternate outside (first, possibly 0) and inside.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .schema import MAX_MASK_SIDE


def encode_mask(inside: np.ndarray) -> dict[str, Any]:
    """The JSON form of a boolean ``[h, w]`` grid that spans the object's box."""
    grid = np.asarray(inside, dtype=bool)
    flat = grid.reshape(-1)
    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], edges, [flat.size]])
    runs = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        runs.insert(0, 0)
    return {"width": int(grid.shape[1]), "height": int(grid.shape[0]), "runs": [int(r) for r in runs]}


def decode_mask(data: dict[str, Any]) -> np.ndarray:
    """The boolean ``[h, w]`` grid of a mask's JSON form (checked by `schema.check_mask`)."""
    values = np.arange(len(data["runs"])) % 2 == 1
    return np.repeat(values, data["runs"]).reshape(data["height"], data["width"])


def crop_to_box(mask: np.ndarray, threshold: float) -> tuple[list[int], np.ndarray] | None:
    """The pixel extent ``[x0, y0, x1, y1]`` (exclusive ends) of a ``[H, W]`` mask above `threshold`, and the
    boolean grid inside it, reduced to at most MAX_MASK_SIDE cells per side; None for an empty mask.

    A reduced cell is inside when any pixel it covers is, so thin parts (a leash, a tail) survive."""
    inside = np.asarray(mask) > threshold
    rows, cols = np.nonzero(inside)
    if rows.size == 0:
        return None
    y0, y1, x0, x1 = int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1
    crop = inside[y0:y1, x0:x1]
    return [x0, y0, x1, y1], _reduce(crop, MAX_MASK_SIDE)


def _reduce(grid: np.ndarray, limit: int) -> np.ndarray:
    height, width = grid.shape
    if max(height, width) <= limit:
        return grid
    scale = limit / max(height, width)
    out_h, out_w = max(1, round(height * scale)), max(1, round(width * scale))
    row_edges = np.linspace(0, height, out_h + 1).astype(int)
    col_edges = np.linspace(0, width, out_w + 1).astype(int)
    any_rows = np.logical_or.reduceat(grid, row_edges[:-1], axis=0)
    return np.logical_or.reduceat(any_rows, col_edges[:-1], axis=1)

