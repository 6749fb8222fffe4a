"""Per-object local prompts as the patch consumes them, and validation of the layout geometry."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch

# Coordinates this far outside [0, 1] are clipped silently (predictors and hand edits overshoot a little);
# anything further out is an error.
CLIP_TOLERANCE = 0.1


@dataclass
class Regions:
    """What `Region Prompt Encode` hands to the patch (socket type ``SPACETIME_REGIONS``).

    embeddings: one ``[1, T_i, C]`` tensor per region (T_i may differ: long prompts give 77·k tokens).
    pooled:     one pooled text embedding per region (``[1, P]``) or None (kept for SDXL-style consumers).
    boxes:      ``[R, 4]`` float32, normalised ``x0, y0, x1, y1`` (y down), validated and clipped to [0, 1].
    centers:    ``[R, 2]`` float32, normalised ``x, y`` (the paper's disc centres).
    names:      short object names (noun / category) for plots and logs.
    prompts:    the local descriptions that were encoded (``"a photo of <phrase>"`` by default).
    empty:      ``[1, T, C]`` embedding of the empty prompt "" (the paper's ∅), used as the baseline when the
                sampler call has no uncond rows.
    empty_pooled: pooled embedding of "" or None.
    """

    embeddings: list[torch.Tensor]
    pooled: list[torch.Tensor | None]
    boxes: torch.Tensor
    centers: torch.Tensor
    names: list[str]
    prompts: list[str]
    empty: torch.Tensor
    empty_pooled: torch.Tensor | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.embeddings)
        if not (len(self.pooled) == len(self.names) == len(self.prompts) == n):
            raise ValueError("Regions: embeddings, pooled, names and prompts must have one entry per region")
        if tuple(self.boxes.shape) != (n, 4) or tuple(self.centers.shape) != (n, 2):
            raise ValueError(f"Regions: boxes must be [{n}, 4] and centers [{n}, 2], got "
                             f"{tuple(self.boxes.shape)} and {tuple(self.centers.shape)}")
        for i, e in enumerate(self.embeddings):
            if e.ndim != 3 or e.shape[0] != 1:
                raise ValueError(f"Regions: embeddings[{i}] must be [1, T, C], got {tuple(e.shape)}")
            if e.shape[-1] != self.empty.shape[-1]:
                raise ValueError(f"Regions: embeddings[{i}] has width {e.shape[-1]} but the empty prompt has "
                                 f"{self.empty.shape[-1]}")

    def __len__(self) -> int:
        return len(self.embeddings)

    @property
    def context_dim(self) -> int:
        return int(self.empty.shape[-1])

    def describe(self) -> list[dict]:
        """Plain-data summary (for logs, `transformer_options["spacetime"]` and the UI)."""
        return [{"name": n, "prompt": p, "box": [round(float(v), 4) for v in b],
                 "center": [round(float(v), 4) for v in c], "tokens": int(e.shape[1])}
                for n, p, b, c, e in zip(self.names, self.prompts, self.boxes, self.centers, self.embeddings)]


def _fmt(values: Sequence[float]) -> str:
    return "[" + ", ".join(f"{float(v):.4g}" for v in values) + "]"


def validate_box(box: Any, where: str, tolerance: float = CLIP_TOLERANCE) -> list[float]:
    """Check a normalised ``[x0, y0, x1, y1]`` box; clip values up to `tolerance` outside [0, 1].

    Raises ValueError naming `where` (e.g. ``"Region Prompt Encode: layout.objects[1].box"``) when the box is not
    four finite numbers, lies further outside the image than the tolerance, is inverted, or is empty.
    """
    try:
        values = [float(v) for v in box]
    except (TypeError, ValueError):
        raise ValueError(f"{where} is {box!r}: expected four numbers [x0, y0, x1, y1] in 0..1") from None
    if len(values) != 4:
        raise ValueError(f"{where} has {len(values)} numbers: expected four [x0, y0, x1, y1] in 0..1")
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{where} is {_fmt(values)}: contains NaN or infinity; fix or re-predict the layout")
    lo, hi = -tolerance, 1.0 + tolerance
    if any(v < lo or v > hi for v in values):
        raise ValueError(f"{where} is {_fmt(values)}: outside the image (coordinates are fractions of width and "
                         f"height, 0..1; up to {tolerance} outside is clipped)")
    x0, y0, x1, y1 = (min(max(v, 0.0), 1.0) for v in values)
    if x0 >= x1:
        raise ValueError(f"{where} is {_fmt(values)} (x0 >= x1 after clipping to the image): "
                         "give x0 < x1 (left edge before right edge)")
    if y0 >= y1:
        raise ValueError(f"{where} is {_fmt(values)} (y0 >= y1 after clipping to the image): "
                         "give y0 < y1 (top edge before bottom edge, y points down)")
    return [x0, y0, x1, y1]


def validate_center(center: Any, box: Sequence[float], where: str) -> list[float]:
    """A finite ``[x, y]`` clamped to [0, 1] (as the first commit clamps); None → the box centre."""
    if center is None:
        return [(box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0]
    try:
        values = [float(v) for v in center]
    except (TypeError, ValueError):
        raise ValueError(f"{where} is {center!r}: expected two numbers [x, y]") from None
    if len(values) != 2 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"{where} is {center!r}: expected two finite numbers [x, y] in 0..1")
    return [min(max(v, 0.0), 1.0) for v in values]


DEFAULT_TEMPLATE = "a photo of {phrase}"


def local_description(template: str, phrase: str, noun: str = "", category: str = "") -> str:
    """Fill the template; placeholders ``{phrase}``, ``{noun}``, ``{category}`` (the paper: "a photo of {phrase}")."""
    text = template
    for key, value in (("phrase", phrase), ("noun", noun or phrase), ("category", category or noun or phrase)):
        text = text.replace("{" + key + "}", value)
    return text.strip()


def object_description(template: str, phrase: str, noun: str = "", category: str = "",
                       own_prompt: str | None = None) -> str:
    """The local description of one object: its own prompt (set in the box editor) wins over the template."""
    own = (own_prompt or "").strip()
    return own or local_description(template or DEFAULT_TEMPLATE, phrase, noun, category)
