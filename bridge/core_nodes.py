"""ComfyUI's own regional conditioning, reached through its core node helpers (area, GLIGEN boxes)."""
from __future__ import annotations

from typing import Any


def with_area(conditioning: list, box: tuple[float, float, float, float], strength: float) -> list:
    """`conditioning` limited to `box` (normalised x0, y0, x1, y1), as ConditioningSetAreaPercentage does."""
    import node_helpers

    x0, y0, x1, y1 = box
    return node_helpers.conditioning_set_values(conditioning, {
        "area": ("percentage", y1 - y0, x1 - x0, y0, x0), "strength": strength, "set_area_to_bounds": False})


def with_gligen_box(conditioning: list, clip: Any, gligen: Any, text: str, width: int, height: int, x: int,
                    y: int) -> list:
    """`conditioning` with one GLIGEN text box (pixels, multiples of 8), as one GLIGENTextBoxApply node adds."""
    import nodes

    (out,) = nodes.GLIGENTextBoxApply().append(conditioning, clip, gligen, text, width, height, x, y)
    return out
