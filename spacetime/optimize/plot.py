"""The optimiser's plot: `spacetime.plot`'s weight curves on top, the loss per pass underneath (Pillow)."""
from __future__ import annotations

import numpy as np

from ..plot import plot_step_weights
from ..step_weights import StepWeights


def plot_loss(losses: list[float], final_loss: float | None, objective: str, width: int = 512,
              height: int = 160) -> np.ndarray:
    """``[height, width, 3]`` uint8: loss of each gradient pass (and of the final weights, hollow marker)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    left, right, top, bottom = 56, width - 10, 22, height - 24
    points = [(float(i + 1), v) for i, v in enumerate(losses)]
    if final_loss is not None:
        points.append((float(len(losses) + 1), final_loss))
    title = f"{objective} loss per pass" + (" (last = final weights)" if final_loss is not None else "")
    draw.text((left, 4), title, fill=(0, 0, 0))
    draw.rectangle([left, top, right, bottom], outline=(0, 0, 0))
    if not points:
        return np.asarray(img, dtype=np.uint8)
    vals = [v for _, v in points]
    lo, hi = min(vals), max(vals)
    pad = max(1e-6, (hi - lo) * 0.1 or abs(hi) * 0.05 or 1e-3)
    lo, hi = lo - pad, hi + pad
    n = len(points)

    def xy(i: float, v: float) -> tuple[float, float]:
        x = left + (right - left) * ((i - 1) / (n - 1) if n > 1 else 0.5)
        return x, bottom - (v - lo) / (hi - lo) * (bottom - top)

    for k in range(3):
        v = lo + (hi - lo) * k / 2
        _, y = xy(1, v)
        draw.line([left, y, right, y], fill=(225, 225, 225))
        draw.text((2, y - 6), f"{v:.4g}", fill=(0, 0, 0))
    pts = [xy(i, v) for i, v in points]
    if len(pts) > 1:
        draw.line(pts, fill=(49, 130, 189), width=2)
    for j, (x, y) in enumerate(pts):
        final = final_loss is not None and j == len(pts) - 1
        draw.ellipse([x - 3, y - 3, x + 3, y + 3], outline=(49, 130, 189), fill=None if final else (49, 130, 189))
        draw.text((x - 3, bottom + 4), "final" if final else str(j + 1), fill=(0, 0, 0))
    return np.asarray(img, dtype=np.uint8)


def plot_optimisation(weights: StepWeights, losses: list[float], final_loss: float | None, objective: str,
                      names: list[str] | None = None, width: int = 512) -> np.ndarray:
    """Weights per region over denoising progress stacked over the loss per pass: ``[H, width, 3]`` uint8."""
    top = plot_step_weights(weights, width=width, names=names)
    bottom = plot_loss(losses, final_loss, objective, width=width)
    return np.concatenate([top, bottom], axis=0)
