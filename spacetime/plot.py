"""A small line plot of step weights, drawn with Pillow (no matplotlib)."""
from __future__ import annotations

import numpy as np

from .step_weights import StepWeights

COLORS = [(230, 85, 13), (49, 130, 189), (49, 163, 84), (117, 107, 177), (214, 39, 40), (140, 86, 75),
          (227, 119, 194), (127, 127, 127)]


def plot_step_weights(weights: StepWeights, width: int = 512, height: int = 256, names: list[str] | None = None,
                      auto_note: str = "") -> np.ndarray:
    """``[height, width, 3]`` uint8 image: one line per row over denoising progress 0 -> 1."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    left, right, top, bottom = 44, width - 10, 22, height - 26
    values = weights.values.detach().float().cpu()
    vmin = min(0.0, float(values.min()))
    vmax = max(float(values.max()), vmin + 1e-6)
    span = vmax - vmin
    vmax += 0.05 * span
    vmin -= 0.05 * span if vmin < 0 else 0.0

    def to_xy(p: float, v: float) -> tuple[float, float]:
        return (left + p * (right - left), bottom - (v - vmin) / (vmax - vmin) * (bottom - top))

    draw.rectangle([left, top, right, bottom], outline=(0, 0, 0))
    for k in range(5):
        v = vmin + (vmax - vmin) * k / 4
        _, y = to_xy(0, v)
        draw.line([left, y, right, y], fill=(225, 225, 225))
        draw.text((2, y - 6), f"{v:.2f}", fill=(0, 0, 0))
    for k in range(5):
        x, _ = to_xy(k / 4, vmin)
        draw.text((x - 8, bottom + 4), f"{k / 4:.2f}", fill=(0, 0, 0))
    unit = " (x auto" + (f" = {auto_note}" if auto_note else "") + ")" if weights.relative else ""
    draw.text((left, 4), f"step weights{unit} vs denoising progress", fill=(0, 0, 0))
    g = values.shape[1]
    for r in range(values.shape[0]):
        color = COLORS[r % len(COLORS)]
        pts = [to_xy(j / max(1, g - 1), float(values[r, j])) for j in range(g)]
        if len(pts) == 1:
            pts = pts + [to_xy(1.0, float(values[r, 0]))]
        draw.line(pts, fill=color, width=2)
        label = names[r] if names and r < len(names) else (f"region {r}" if values.shape[0] > 1 else "all regions")
        draw.text((right - 110, top + 4 + 12 * r), label[:18], fill=color)
    return np.array(img, dtype=np.uint8)
