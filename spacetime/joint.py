"""The method inside joint text-image attention (Flux-style DiTs), where one softmax mixes text and image tokens.

Design (docs/dit-method.md): each object's local description and the empty prompt ride in the text stream, in
front of the prompt, so every block projects them with its own weights, exactly as it does the prompt. The
attention call is then split so that nothing the model computes for the prompt or the image changes:

* main: the prompt and image tokens attend to each other exactly as in the unpatched model (same backend, no mask,
  so fast kernels stay eligible); they never read a local prompt;
* streams: each local prompt (and the empty prompt) attends to its own tokens only, so it evolves through the
  blocks as its own text without reading, or being read by, anything else;
* regions: in a patched block, the image tokens of region i read local prompt i in the place of the prompt, beside
  the image as the model reads a prompt: ``S(q, L) = softmax(q [K_L; K_img]^T) [V_L; V_img]`` (image and extra
  tokens' keys and values unchanged), and the paper's term is added to their output
  (guidance: ``+ w_i m_i (S(q, L_i) - S(q, empty))``; mix: ``+ w_i m_i (S(q, L_i) - main)``, so at w = 1 a
  region's image reads its own description instead of the prompt). The image part of S is attended once and merged
  with each text part by log-sum-exp (lse_attention.py).

A weight of 0 leaves a row's output as the main attention gives it; rows of the negative prompt get no weight.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

from .combine import MODES
from .lse_attention import attention_with_lse, merged_attention
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
    """The image cells of each region on one token grid.

    union:   flat indices of the cells inside at least one region;
    pos:     per region, positions of its cells in `union`;
    values:  per region, its mask values there (soft edges);
    indices: per region, the flat indices of its cells (``union[pos[i]]``).
    """

    union: torch.Tensor
    pos: tuple[torch.Tensor, ...]
    values: tuple[torch.Tensor, ...]
    indices: tuple[torch.Tensor, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "indices", tuple(self.union[p] for p in self.pos))

    @classmethod
    def from_index(cls, index: RegionIndex) -> "RegionCells":
        return cls(index.union, tuple(index.pos), tuple(index.values))


@dataclass(frozen=True)
class RegionGroups:
    """For restricted region attention: image cells grouped by the set of regions they lie in (cells outside every
    region excluded). Group g's cells read the prompt, every cell of their own regions, the background (cells in no
    region) and any extra tokens, never a cell that only other regions hold; region i's term reads region i's
    cells and the background."""

    queries: tuple[torch.Tensor, ...]       # per group, its cells (flat grid indices)
    keys: tuple[torch.Tensor, ...]          # per group, the image cells it may read
    region_keys: tuple[torch.Tensor, ...]   # per region, the image cells its term may read

    @classmethod
    def from_cells(cls, cells: RegionCells, grid: tuple[int, int]) -> "RegionGroups":
        n = grid[0] * grid[1]
        member = torch.zeros(len(cells.indices), n, dtype=torch.bool)
        for i, idx in enumerate(cells.indices):
            member[i, idx.cpu()] = True
        signatures, inverse = torch.unique(member.t(), dim=0, return_inverse=True)
        queries, keys = [], []
        for g, signature in enumerate(signatures):
            if not signature.any():
                continue
            queries.append(torch.nonzero(inverse == g).flatten())
            readable = member[signature].any(dim=0) | ~member.any(dim=0)      # own regions and the background
            keys.append(torch.nonzero(readable).flatten())
        region_keys = [torch.nonzero(own | ~member.any(dim=0)).flatten() for own in member]
        device = cells.indices[0].device if cells.indices else None
        return cls(tuple(q.to(device) for q in queries), tuple(k.to(device) for k in keys),
                   tuple(k.to(device) for k in region_keys))


def _heads_first(x: torch.Tensor) -> torch.Tensor:
    """``(B, H, N, D)`` -> ``(B, N, H * D)``, the layout attention backends return."""
    b, h, n, d = x.shape
    return x.transpose(1, 2).reshape(b, n, h * d)


def regional_joint_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, layout: TokenLayout,
                             main_attention: Callable[[], torch.Tensor],
                             cells: RegionCells | None, weights: torch.Tensor | None, rows: torch.Tensor | None,
                             mode: str = "guidance", groups: RegionGroups | None = None) -> torch.Tensor:
    """``(B, N, H * D)`` attention output of one joint-attention call with the local prompts in front.

    q, k, v:  ``(B, H, N, D)`` after positional encoding, N = layout.prefix + prompt + image (+ extra) tokens;
    main_attention(): the model's own attention call on the tokens from `layout.prefix` on (the prompt, the image
              and any extra tokens), ``(B, n, H * D)``;
    cells:    region cells on the layout's grid; None in a block the patch leaves alone;
    weights:  ``[len(rows), R]`` weights of the rows in `rows` (the cond rows), or None;
    rows:     indices of the batch rows the term acts on;
    groups:   restricted region attention (RegionGroups) in a patched block: the image cells of a region do not
              read the cells of other regions; None = open (as the unpatched model).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    p = layout.prefix
    main = main_attention()
    if cells is not None and groups is not None:
        main = _restrict(q[:, :, p:], k[:, :, p:], v[:, :, p:], layout, main, groups)
    streams = [F.scaled_dot_product_attention(q[:, :, s:e], k[:, :, s:e], v[:, :, s:e]) for s, e in layout.spans]
    if cells is not None and weights is not None and rows is not None and rows.numel():
        main = _add_region_term(q, k, v, layout, main, cells, weights, rows, mode, groups)
    return torch.cat([_heads_first(torch.cat(streams, dim=2)).to(main.dtype), main], dim=1)


def _restrict(q, k, v, layout: TokenLayout, main: torch.Tensor, groups: RegionGroups) -> torch.Tensor:
    """`main` with each region group's rows recomputed over the keys that group may read."""
    g0 = layout.image_start
    n_grid = layout.grid[0] * layout.grid[1]
    fixed = torch.cat([torch.arange(g0, device=q.device), torch.arange(g0 + n_grid, q.shape[2], device=q.device)])
    for cells, allowed in zip(groups.queries, groups.keys):
        keys = torch.cat([fixed, g0 + allowed])
        rows = g0 + cells
        main[:, rows] = _heads_first(F.scaled_dot_product_attention(q[:, :, rows], k[:, :, keys],
                                                                    v[:, :, keys])).to(main.dtype)
    return main


def _add_region_term(q, k, v, layout: TokenLayout, main: torch.Tensor, cells: RegionCells, weights: torch.Tensor,
                     rows: torch.Tensor, mode: str, groups: RegionGroups | None) -> torch.Tensor:
    """Adds each region's term to `main` in place (a tensor this call's attention made) and returns it; every term
    reads `main` as the attention gave it, so overlapping regions add up in any order. With `groups` (restricted),
    region i's term reads only its own cells and the background of the image.

    ``S(q, text)`` is merged from a text part and an image part by their log-sum-exps: the image part is attended
    once per call (open) or once per region (restricted) and shared by the local and the empty prompt."""
    img0 = layout.prefix + layout.image_start
    k_rows, v_rows = k.index_select(0, rows), v.index_select(0, rows)     # once per call, not per region and text
    q_cells = q[:, :, img0 + cells.union].index_select(0, rows)
    shared = extra = None
    if groups is None:
        shared = attention_with_lse(q_cells, k_rows[:, :, img0:], v_rows[:, :, img0:])
    else:
        n_grid = layout.grid[0] * layout.grid[1]
        extra = torch.arange(img0 + n_grid, k.shape[2], device=k.device)  # tokens after the grid (reference images)

    def substituted(queries: torch.Tensor, span: tuple[int, int], image) -> torch.Tensor:
        """S(q, text) in fp32: the queries read `span`'s text where the model has the prompt, beside the image."""
        text = attention_with_lse(queries, k_rows[:, :, span[0]:span[1]], v_rows[:, :, span[0]:span[1]])
        return _heads_first(merged_attention(text, image))

    row_index = rows.view(-1, 1)
    terms = []
    for i, span in enumerate(layout.spans[:-1]):
        pos, mask = cells.pos[i], cells.values[i]
        if pos.numel() == 0:
            continue
        qi = q_cells[:, :, pos]
        if shared is None:
            keys = torch.cat([img0 + groups.region_keys[i], extra])
            image = attention_with_lse(qi, k_rows[:, :, keys], v_rows[:, :, keys])
        else:
            image = (shared[0][:, :, pos], shared[1][:, :, pos])
        local = substituted(qi, span, image)
        cols = layout.image_start + cells.indices[i].view(1, -1)
        if mode == "guidance":
            base = substituted(qi, layout.spans[-1], image)
        else:
            base = main[row_index, cols].float()
        scale = weights[:, i].view(-1, 1, 1).float() * mask.view(1, -1, 1).float()
        terms.append((cols, ((local - base) * scale).to(main.dtype)))
    for cols, term in terms:
        main[row_index, cols] += term
    return main
