"""Region masks at any attention resolution, and the gather indices the patch uses.

Geometry conventions (docs/method.md section 3):

* A latent cell (row r, column c) of an ``h × w`` attention grid sits at its centre
  ``x = (c + 0.5) / w``, ``y = (r + 0.5) / h`` (normalised, y down). Flattened index ``r * w + c`` matches
  ComfyUI's ``x.movedim(1, 3).flatten(1, 2)`` in ``SpatialTransformer``.
* Distances are measured in units of the image's shorter side, so a disc is round on non-square images.
* ``box``: cell in ``x0 <= x < x1 and y0 <= y < y1`` (half-open: neighbouring boxes tile without overlap).
* ``disc``: the paper's disc, ``|cell - centre| < radius`` (radius 0.2 by default).
* ``mask``: a region with a shape (a boolean grid stretched over its box, from a segmentation mask) holds the
  cells whose centre falls on an inside cell of that grid; a region without one is its box. Not feathered.
* ``feather`` f > 0: a linear ramp ``clamp(0.5 - d / (f · size), 0, 1)`` across the edge, d = signed distance
  (negative inside), size = the box's shorter side or the disc's diameter.
* A region too small to contain any cell centre at a coarse resolution gets the single cell nearest its centre,
  so every region acts in every cross-attention layer.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

SHAPES = ("box", "disc", "mask")


def region_masks(boxes: torch.Tensor, centers: torch.Tensor, height: int, width: int, shape: str = "box",
                 radius: float = 0.2, feather: float = 0.0,
                 shapes: Sequence[torch.Tensor | None] = ()) -> torch.Tensor:
    """``[R, height * width]`` float32 masks in [0, 1] for normalised boxes ``[R, 4]`` / centres ``[R, 2]``;
    `shapes` (one boolean grid or None per region) is read by shape "mask"."""
    if shape not in SHAPES:
        raise ValueError(f"mask shape must be one of {SHAPES}, got {shape!r}")
    boxes = boxes.detach().to(torch.float64).reshape(-1, 4)
    centers = centers.detach().to(torch.float64).reshape(-1, 2)
    n = boxes.shape[0]
    if n == 0:
        return torch.zeros(0, height * width)
    short = float(min(height, width))
    sx, sy = width / short, height / short
    xs = (torch.arange(width, dtype=torch.float64) + 0.5) / width * sx          # [w]
    ys = (torch.arange(height, dtype=torch.float64) + 0.5) / height * sy        # [h]
    X = xs.view(1, 1, width)
    Y = ys.view(1, height, 1)
    if shape in ("box", "mask"):
        x0, y0, x1, y1 = (boxes[:, k].view(n, 1, 1) for k in range(4))
        x0, x1, y0, y1 = x0 * sx, x1 * sx, y0 * sy, y1 * sy
        if feather > 0:
            sd = torch.maximum(torch.maximum(x0 - X, X - x1), torch.maximum(y0 - Y, Y - y1))
            size = torch.minimum(x1 - x0, y1 - y0)
            mask = (0.5 - sd / (feather * size)).clamp(0.0, 1.0)
        else:
            mask = ((X >= x0) & (X < x1) & (Y >= y0) & (Y < y1)).to(torch.float64)
        cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2 * sx, (boxes[:, 1] + boxes[:, 3]) / 2 * sy
        if shape == "mask":
            for i, grid in enumerate(shapes):
                if grid is not None:
                    mask[i] = _shape_cells(grid, boxes[i], height, width)
    else:
        cx, cy = centers[:, 0] * sx, centers[:, 1] * sy
        dist = ((X - cx.view(n, 1, 1)) ** 2 + (Y - cy.view(n, 1, 1)) ** 2).sqrt()
        if feather > 0:
            mask = (0.5 - (dist - radius) / (feather * 2 * radius)).clamp(0.0, 1.0)
        else:
            mask = (dist < radius).to(torch.float64)
    mask = mask.reshape(n, height * width)
    empty = mask.amax(dim=1) <= 0
    if bool(empty.any()):
        # nearest cell to the region centre
        col = (cx / sx * width).floor().clamp(0, width - 1).long()
        row = (cy / sy * height).floor().clamp(0, height - 1).long()
        for i in torch.nonzero(empty).flatten().tolist():
            mask[i, row[i] * width + col[i]] = 1.0
    return mask.to(torch.float32)


def with_background(masks: torch.Tensor) -> torch.Tensor:
    """`masks` whose last row (the background region) becomes the cells no other region covers (soft edges:
    what the others leave uncovered)."""
    out = masks.clone()
    others = masks[:-1].amax(dim=0) if masks.shape[0] > 1 else torch.zeros_like(masks[0])
    out[-1] = (1.0 - others).clamp(0.0, 1.0)
    return out


def _shape_cells(grid: torch.Tensor, box: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``[height, width]`` 0/1: the cells whose centre lands on an inside cell of `grid` stretched over `box`."""
    x0, y0, x1, y1 = box.tolist()
    u = ((torch.arange(width, dtype=torch.float64) + 0.5) / width - x0) / (x1 - x0)
    v = ((torch.arange(height, dtype=torch.float64) + 0.5) / height - y0) / (y1 - y0)
    rows, cols = grid.shape
    in_u, in_v = (u >= 0) & (u < 1), (v >= 0) & (v < 1)
    col = (u * cols).floor().clamp(0, cols - 1).long()
    row = (v * rows).floor().clamp(0, rows - 1).long()
    inside = grid.to(torch.bool)[row][:, col] & in_v.view(-1, 1) & in_u.view(1, -1)
    return inside.to(torch.float64)


@dataclass
class RegionIndex:
    """Gather/scatter plan for one attention resolution.

    union:  ``[U]`` flat indices of cells inside at least one region.
    pos:    per region, positions (into `union`) of its cells.
    values: per region, its mask values at those cells (``[n_i]``; 1 for hard masks).
    """

    height: int
    width: int
    union: torch.Tensor
    pos: list[torch.Tensor]
    values: list[torch.Tensor]

    @classmethod
    def from_masks(cls, masks: torch.Tensor, height: int, width: int) -> "RegionIndex":
        n_cells = height * width
        if masks.shape[0] == 0:
            empty = torch.zeros(0, dtype=torch.long)
            return cls(height, width, empty, [], [])
        union = torch.nonzero(masks.amax(dim=0) > 0).flatten()
        inverse = torch.full((n_cells,), -1, dtype=torch.long)
        inverse[union] = torch.arange(union.numel())
        pos, values = [], []
        for m in masks:
            idx = torch.nonzero(m > 0).flatten()
            pos.append(inverse[idx])
            values.append(m[idx])
        return cls(height, width, union, pos, values)

    def to(self, device: torch.device, dtype: torch.dtype) -> "RegionIndex":
        return RegionIndex(self.height, self.width, self.union.to(device),
                           [p.to(device) for p in self.pos], [v.to(device=device, dtype=dtype) for v in self.values])
