"""The method inside joint text-image attention (Flux-style DiTs), where one softmax mixes text and image tokens.

Design (docs/dit-method.md): each object's local description and the empty prompt ride in the text stream, in
front of the prompt, so every block projects them with its own weights, exactly as it does the prompt. The
attention call is then split so that nothing the model computes for the prompt or the image changes:

* main: the prompt and image tokens attend to each other exactly as in the unpatched model (same backend, no mask,
  so fast kernels stay eligible); they never read a local prompt;
* streams: each local prompt (and the empty prompt) attends to its own tokens only, so it evolves through the
  blocks as its own text without reading, or being read by, anything else;
* regions: in a patched block, the image tokens of region i read local prompt i and the empty prompt through two
  small attentions, and the paper's term is added to their output
  (guidance: ``+ w_i m_i (A(q, L_i) - A(q, empty))``; mix: ``+ w_i m_i (A(q, L_i) - main)``).

A weight of 0 leaves a row's output as the main attention gives it; rows of the negative prompt get no weight.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from .combine import MODES
from .masks import RegionIndex


@dataclass(frozen=True)
class TokenLayout:
    """Where things sit in the joint sequence ``[local 0, ..., local R-1, empty, prompt, image grid, extra]``.

    spans:  ``(start, end)`` of each local prompt, then of the empty prompt (the last span);
    prompt: number of prompt (global text) tokens;
    grid:   ``(height, width)`` of the image tokens that follow the prompt, row-major; tokens after them (reference
            images) take part in the main attention only.
    """

    spans: tuple[tuple[int, int], ...]
    prompt: int
    grid: tuple[int, int]

    @property
    def prefix(self) -> int:
        return self.spans[-1][1] if self.spans else 0

    @property
    def image_start(self) -> int:
        """Index of the first image token within the main (prompt + image) part."""
        return self.prompt

    @classmethod
    def from_lengths(cls, lengths: list[int], prompt: int, grid: tuple[int, int]) -> "TokenLayout":
        spans, start = [], 0
        for n in lengths:
            spans.append((start, start + n))
            start += n
        return cls(tuple(spans), prompt, grid)


@dataclass(frozen=True)
class RegionCells:
    """The image cells of each region on one token grid: flat indices and their mask values (soft edges)."""

    indices: tuple[torch.Tensor, ...]
    values: tuple[torch.Tensor, ...]

    @classmethod
    def from_index(cls, index: RegionIndex) -> "RegionCells":
        return cls(tuple(index.union[p] for p in index.pos), tuple(index.values))


def _heads_first(x: torch.Tensor) -> torch.Tensor:
    """``(B, H, N, D)`` -> ``(B, N, H * D)``, the layout attention backends return."""
    b, h, n, d = x.shape
    return x.transpose(1, 2).reshape(b, n, h * d)


def regional_joint_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, layout: TokenLayout,
                             main_attention: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
                             cells: RegionCells | None, weights: torch.Tensor | None, rows: torch.Tensor | None,
                             mode: str = "guidance") -> torch.Tensor:
    """``(B, N, H * D)`` attention output of one joint-attention call with the local prompts in front.

    q, k, v:  ``(B, H, N, D)`` after positional encoding, N = layout.prefix + prompt + image (+ extra) tokens;
    main_attention(q, k, v): the model's own attention on the prompt + image part, ``(B, n, H * D)``;
    cells:    region cells on the layout's grid; None in a block the patch leaves alone;
    weights:  ``[len(rows), R]`` weights of the rows in `rows` (the cond rows), or None;
    rows:     indices of the batch rows the term acts on.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    p = layout.prefix
    main = main_attention(q[:, :, p:], k[:, :, p:], v[:, :, p:])
    streams = [F.scaled_dot_product_attention(q[:, :, s:e], k[:, :, s:e], v[:, :, s:e]) for s, e in layout.spans]
    if cells is not None and weights is not None and rows is not None and rows.numel():
        main = _add_region_term(q, k, v, layout, main, cells, weights, rows, mode)
    return torch.cat([_heads_first(torch.cat(streams, dim=2)).to(main.dtype), main], dim=1)


def _add_region_term(q, k, v, layout: TokenLayout, main: torch.Tensor, cells: RegionCells, weights: torch.Tensor,
                     rows: torch.Tensor, mode: str) -> torch.Tensor:
    empty_start, empty_end = layout.spans[-1]
    img0 = layout.prefix + layout.image_start
    q_rows, k_rows, v_rows = q[rows], k[rows], v[rows]
    k_empty, v_empty = k_rows[:, :, empty_start:empty_end], v_rows[:, :, empty_start:empty_end]
    out = main.clone()
    row_index = rows.view(-1, 1)
    for i, (start, end) in enumerate(layout.spans[:-1]):
        idx, mask = cells.indices[i], cells.values[i]
        if idx.numel() == 0:
            continue
        qi = q_rows[:, :, img0 + idx]
        local = _heads_first(F.scaled_dot_product_attention(qi, k_rows[:, :, start:end], v_rows[:, :, start:end]))
        if mode == "guidance":
            base = _heads_first(F.scaled_dot_product_attention(qi, k_empty, v_empty))
        else:
            base = main[rows][:, layout.image_start + idx]
        scale = weights[:, i].view(-1, 1, 1).to(local.dtype) * mask.view(1, -1, 1).to(local.dtype)
        out[row_index, layout.image_start + idx.view(1, -1)] += ((local - base) * scale).to(out.dtype)
    return out
