"""Per-object local prompts as the patch consumes them.

The boxes arrive checked: `layout_model.regions.layout_regions` turns a layout into regions under the
layout contract (`layout_model.schema`); this container only checks that its tensors agree in shape.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class Regions:
    """What `Region Prompt Encode` hands to the patch (socket type ``SPACETIME_REGIONS``).

    embeddings: one ``[1, T_i, C]`` tensor per region (T_i may differ: long prompts give 77·k tokens).
    pooled:     one pooled text embedding per region (``[1, P]``) or None (kept for SDXL-style consumers).
    boxes:      ``[R, 4]`` float32, normalised ``x0, y0, x1, y1`` (y down), validated and clipped to [0, 1].
    centers:    ``[R, 2]`` float32, normalised ``x, y`` (the paper's disc centres).
    names:      short object names (noun / category) for plots and logs.
    prompts:    the local descriptions that were encoded (``"a photo of <phrase>"`` by default).
    empty:      ``[1, T, C]`` embedding of the empty prompt "" (the paper's empty prompt), used as the baseline when the
                sampler call has no uncond rows.
    empty_pooled: pooled embedding of "" or None.
    lengths:    per region, how many of its tokens carry the prompt (the rest is the text encoder's padding);
                models that take local prompts as extra tokens use only those. Empty means all tokens.
    empty_length: the same for the empty prompt (0 means all).
    background: the last region describes the area outside every other region (its mask is what they leave).
    extras:     per region, the text encoder's other outputs that the model reads besides the embedding (Anima:
                ``t5xxl_ids`` and ``t5xxl_weights``, which its LLM adapter turns with the embedding into the
                cross-attention context); empty dicts where the encoder gives none. Empty means none for any.
    empty_extras: the same for the empty prompt.
    shapes:     per region, its exact shape as a boolean grid spanning its box (from a segmentation mask), or
                None for the whole box; used by mask_shape "mask". Empty means no region has one.
    end_boxes:  for video, ``[R, 4]`` boxes at the last frame (same form as ``boxes``, which hold at the first);
                each frame's box lies between the two. None: every frame gets ``boxes``.
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
    shapes: list[torch.Tensor | None] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    empty_length: int = 0
    background: bool = False
    extras: list[dict[str, torch.Tensor]] = field(default_factory=list)
    empty_extras: dict[str, torch.Tensor] = field(default_factory=dict)
    end_boxes: torch.Tensor | None = None

    def __post_init__(self) -> None:
        n = len(self.embeddings)
        if not self.extras:
            self.extras = [{} for _ in range(n)]
        if len(self.extras) != n:
            raise ValueError(f"Regions: extras must have one entry per region, got {len(self.extras)} for {n}")
        if not (len(self.pooled) == len(self.names) == len(self.prompts) == n):
            raise ValueError("Regions: embeddings, pooled, names and prompts must have one entry per region")
        if not self.shapes:
            self.shapes = [None] * n
        if not self.lengths:
            self.lengths = [int(e.shape[1]) for e in self.embeddings]
        if not self.empty_length:
            self.empty_length = int(self.empty.shape[1])
        if len(self.lengths) != n or any(not 0 < m <= e.shape[1] for m, e in zip(self.lengths, self.embeddings)):
            raise ValueError(f"Regions: lengths must give 1..T_i tokens for each of the {n} regions, got "
                             f"{self.lengths}")
        if len(self.shapes) != n:
            raise ValueError(f"Regions: shapes must have one entry per region, got {len(self.shapes)} for {n}")
        if tuple(self.boxes.shape) != (n, 4) or tuple(self.centers.shape) != (n, 2):
            raise ValueError(f"Regions: boxes must be [{n}, 4] and centers [{n}, 2], got "
                             f"{tuple(self.boxes.shape)} and {tuple(self.centers.shape)}")
        if self.end_boxes is not None and tuple(self.end_boxes.shape) != (n, 4):
            raise ValueError(f"Regions: end_boxes must be [{n}, 4] like boxes, got {tuple(self.end_boxes.shape)}")
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
