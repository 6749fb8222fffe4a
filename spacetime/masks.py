"""Region masks at any attention resolution, and the gather indices the patch uses.

Geometry conventions (docs/method.md section 3):

* A latent cell (row r, column c) of an ``h × w`` attention grid sits at its centre
  ``x = (c + 0.5) / w``, ``y = (r + 0.5) / h`` (normalised, y down). Flattened index ``r * w + c`` matches
  ComfyUI's ``x.movedim(1, 3).flatten(1, 2)`` in ``SpatialTransformer``.
* Distances are measured in units of the image's shorter side, so a disc is round on non-square images.
* ``box``: cell in ``x0 <= x < x1 and y0 <= y < y1`` (half-open: neighbouring boxes tile without overlap).
* ``disc``: the paper's disc, ``|cell - centre| < radius`` (radius 0.2 by default).
* ``feather`` f > 0: a linear ramp ``clamp(0.5 - d / (f · size), 0, 1)`` across the edge, d = signed distance
  (negative inside), size = the box's shorter side or the disc's diameter.
* A region too small to contain any cell centre at a coarse resolution gets the single cell nearest its centre,
  so every region acts in every cross-attention layer.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

SHAPES = ("box", "disc")


def region_masks(boxes: torch.Tensor, centers: torch.Tensor, height: int, width: int, shape: str = "box",
                 radius: float = 0.2, feather: float = 0.0) -> torch.Tensor:
    """``[R, height * width]`` float32 masks in [0, 1] for normalised boxes ``[R, 4]`` / centres ``[R, 2]``."""
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
    if shape == "box":
        x0, y0, x1, y1 = (boxes[:, k].view(n, 1, 1) for k in range(4))
        x0, x1, y0, y1 = x0 * sx, x1 * sx, y0 * sy, y1 * sy
        if feather > 0:
            sd = torch.maximum(torch.maximum(x0 - X, X - x1), torch.maximum(y0 - Y, Y - y1))
            size = torch.minimum(x1 - x0, y1 - y0)
            mask = (0.5 - sd / (feather * size)).clamp(0.0, 1.0)
        else:
            mask = ((X >= x0) & (X < x1) & (Y >= y0) & (Y < y1)).to(torch.float64)
        cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2 * sx, (boxes[:, 1] + boxes[:, 3]) / 2 * sy
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
