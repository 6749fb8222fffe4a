"""Per-region weights on a canonical, sampler-independent grid over denoising progress.

Progress 0 is the start of denoising (pure noise, highest sigma) and 1 its end (sigma 0); ComfyUI's
``start_percent``/``end_percent`` use the same scale (``model_sampling.percent_to_sigma``). The bridge turns the
sigma of each model call into progress, so a schedule means the same thing with any sampler (multi-evaluation
samplers such as heun or dpmpp_sde read the weights at their intermediate sigmas by interpolation), any
scheduler, any step count and any KSamplerAdvanced split.

Grid point j of G sits at progress ``j / (G - 1)``; values in between are linearly interpolated, outside they are
held constant. The paper's 50-column table (one column per PLMS step) maps onto G = 50.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import torch

DEFAULT_GRID = 50
GUIDANCE_AUTO_TOTAL = 5.0   # paper: every weight starts at 5 / number of objects
MIX_AUTO = 0.5              # mix mode: an even mixture of global and local attention per region


def auto_weight(mode: str, n_regions: int) -> float:
    """The weight "auto" stands for: 5/N in guidance mode (paper init), 0.5 in mix mode."""
    if mode == "guidance":
        return GUIDANCE_AUTO_TOTAL / max(1, n_regions)
    return MIX_AUTO


@dataclass
class StepWeights:
    """Socket type ``SPACETIME_STEP_WEIGHTS``.

    values:   ``[R or 1, G]`` float tensor (one row = the same curve for every region). Kept differentiable:
              an optimiser may pass a leaf tensor with ``requires_grad``.
    grid:     G (filled in from `values` when omitted).
    relative: True when `values` are multiples of the mode's auto weight (`auto_weight`), resolved at patch time
              from the number of regions; False for absolute weights.
    """

    values: torch.Tensor
    grid: int | None = None
    relative: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.values, torch.Tensor):
            self.values = torch.tensor(self.values, dtype=torch.float32)
        if self.values.ndim == 1:
            self.values = self.values.unsqueeze(0)
        if self.values.ndim != 2 or self.values.shape[0] < 1 or self.values.shape[1] < 1:
            raise ValueError(f"StepWeights.values must be [R or 1, G], got {tuple(self.values.shape)}")
        if self.grid is None:
            self.grid = int(self.values.shape[1])
        elif int(self.grid) != self.values.shape[1]:
            raise ValueError(f"StepWeights.grid is {self.grid} but values has {self.values.shape[1]} columns")
        if not bool(torch.isfinite(self.values.detach()).all()):
            raise ValueError("StepWeights.values contains NaN or infinity")

    @property
    def rows(self) -> int:
        return int(self.values.shape[0])

    def at(self, progress: float | torch.Tensor) -> torch.Tensor:
        """Weights at `progress` (scalar -> ``[R]``; tensor ``[...]`` -> ``[..., R]``), linear in between grid points."""
        return interpolate_rows(self.values, progress)

    def resolve(self, n_regions: int, mode: str) -> "StepWeights":
        """Absolute weights with exactly `n_regions` rows (a single row is broadcast)."""
        values = self.values
        if n_regions == 0:
            return StepWeights(values[:1], self.grid, relative=False)
        if self.rows not in (1, n_regions):
            raise ValueError(f"has {self.rows} rows but there are {n_regions} regions: give one row for all "
                             f"regions or one per region")
        if self.rows == 1:
            values = values.expand(n_regions, self.grid)
        if self.relative:
            values = values * auto_weight(mode, n_regions)
        return StepWeights(values, self.grid, relative=False)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "spacetime_step_weights", "version": 1, "grid": self.grid, "relative": self.relative,
                "values": [[float(v) for v in row] for row in self.values.detach().cpu()]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "StepWeights":
        return cls(torch.tensor(data["values"], dtype=torch.float32), grid=data.get("grid"),
                   relative=bool(data.get("relative", False)))


def interpolate_rows(values: torch.Tensor, progress: float | torch.Tensor) -> torch.Tensor:
    """Piecewise-linear interpolation of each row of ``values [R, G]`` at progress in [0, 1] (clamped)."""
    g = values.shape[-1]
    p = torch.as_tensor(progress, dtype=torch.float32, device=values.device).clamp(0.0, 1.0)
    if g == 1:
        return values[:, 0].expand(*p.shape, values.shape[0])
    pos = p * (g - 1)
    lo = pos.floor().clamp(max=g - 2).long()
    frac = (pos - lo.to(pos.dtype)).to(values.dtype)
    left = values[:, lo]            # [R, ...]
    right = values[:, lo + 1]
    out = left + (right - left) * frac
    return out.movedim(0, -1)


def resample(points: Sequence[float], grid: int) -> torch.Tensor:
    """Numbers given at evenly spaced progress points (first at 0, last at 1), linearly resampled to `grid`."""
    pts = torch.tensor([float(v) for v in points], dtype=torch.float32)
    if pts.numel() == 0:
        raise ValueError("no numbers given")
    if pts.numel() == 1:
        return pts.expand(grid).clone()
    return interpolate_rows(pts.unsqueeze(0), torch.linspace(0.0, 1.0, grid))[:, 0]


def ramp(start: float, end: float, grid: int, shape: str = "linear") -> torch.Tensor:
    """A curve from `start` (progress 0) to `end` (progress 1): constant, linear or cosine (ease in-out)."""
    p = torch.linspace(0.0, 1.0, grid, dtype=torch.float64)
    if shape == "constant":
        return torch.full((grid,), float(start), dtype=torch.float32)
    if shape == "linear":
        t = p
    elif shape == "cosine":
        t = (1.0 - torch.cos(math.pi * p)) / 2.0
    else:
        raise ValueError(f"unknown ramp shape {shape!r}: use constant, linear or cosine")
    return (start + (end - start) * t).to(torch.float32)


def parse_numbers(text: str, where: str) -> list[float]:
    """Comma/space separated numbers; raises ValueError naming `where`."""
    parts = [p for p in text.replace(",", " ").replace(";", " ").split() if p]
    out = []
    for p in parts:
        try:
            v = float(p)
        except ValueError:
            raise ValueError(f"{where}: {p!r} is not a number") from None
        if not math.isfinite(v):
            raise ValueError(f"{where}: {p!r} is not a finite number")
        out.append(v)
    return out


def build_schedule(shape: str, start: float, end: float, grid: int = DEFAULT_GRID, values_text: str = "",
                   per_region_text: str = "", relative: bool = True, where: str = "Step Weights Schedule"
                   ) -> StepWeights:
    """The schedule node's whole logic.

    shape: constant (start everywhere), linear / cosine (start -> end over progress), or list (`values_text`,
    numbers at evenly spaced progress points). `per_region_text`: one line per region; a blank line keeps the
    default curve, one number is a constant, two numbers a ramp of the chosen shape (linear for list/constant),
    three or more numbers a list. With overrides the result has one row per line.
    """
    if grid < 2:
        raise ValueError(f"{where}: grid must be at least 2, got {grid}")
    if shape == "list":
        nums = parse_numbers(values_text, f"{where}: values")
        if not nums:
            raise ValueError(f"{where}: values is empty; give numbers such as 1, 1, 0.5, 0 (evenly spaced over "
                             "denoising progress) or pick another shape")
        default = resample(nums, grid)
    else:
        default = ramp(start, end, grid, shape)
    lines = per_region_text.splitlines() if per_region_text.strip() else []
    if not lines:
        return StepWeights(default.unsqueeze(0), grid, relative)
    rows = []
    for i, line in enumerate(lines):
        nums = parse_numbers(line, f"{where}: per_region line {i + 1}")
        if not nums:
            rows.append(default)
        elif len(nums) == 1:
            rows.append(torch.full((grid,), nums[0]))
        elif len(nums) == 2:
            rows.append(ramp(nums[0], nums[1], grid, shape if shape in ("linear", "cosine") else "linear"))
        else:
            rows.append(resample(nums, grid))
    return StepWeights(torch.stack(rows), grid, relative)
