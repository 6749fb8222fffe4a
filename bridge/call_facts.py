"""What one attention call tells about itself: the one parser of ComfyUI's per-call facts.

ComfyUI batches the conditionings of one model call along the rows and lists their kinds in ``cond_or_uncond``
(0 = cond, 1 = uncond), one equal chunk each. The k-th cond chunk pairs with the k-th uncond chunk (or the first
one when the counts differ); a call without uncond chunks (cfg 1, or cond and uncond in separate calls) has no
paired rows. Both the patch and the optimiser's probe read their calls through `CallFacts`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Hashable

import torch

LayerKey = Hashable


@dataclass(frozen=True)
class CallFacts:
    layer: LayerKey                 # the family's key of the attention layer
    chunk_rows: int                 # rows per chunk (the batch size of one conditioning)
    cond_chunks: tuple[int, ...]    # chunk positions holding cond rows
    uncond_chunks: tuple[int, ...]  # chunk positions holding uncond rows
    grid: tuple[int, int]           # (height, width) of the image tokens
    heads: int
    attn_precision: Any
    sigmas: Any                     # the model call's sigmas tensor (None when ComfyUI gave none)

    def chunk(self, x: torch.Tensor, position: int) -> torch.Tensor:
        return x[position * self.chunk_rows:(position + 1) * self.chunk_rows]

    def uncond_for(self, k: int) -> int | None:
        """The uncond chunk paired with the k-th cond chunk, or None when the call has none."""
        if not self.uncond_chunks:
            return None
        return self.uncond_chunks[k] if len(self.uncond_chunks) == len(self.cond_chunks) else self.uncond_chunks[0]

    def cond_rows(self, x: torch.Tensor) -> torch.Tensor:
        """All cond rows of `x`, in chunk order."""
        return torch.cat([self.chunk(x, j) for j in self.cond_chunks])


class Skip(Exception):
    """A call the patch leaves alone; the message says why (logged once per reason)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def split_chunks(extra_options: dict, rows: int) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    """``(rows per chunk, cond chunk positions, uncond chunk positions)`` from ``cond_or_uncond``; raises Skip when
    the rows do not split into its chunks or the call has no cond rows."""
    chunks = list(extra_options.get("cond_or_uncond") or [0])
    if rows % len(chunks):
        raise Skip("chunks", f"{rows} rows do not split into cond_or_uncond {chunks}; skipped")
    cond = tuple(j for j, c in enumerate(chunks) if c == 0)
    if not cond:
        raise Skip("no_cond", "")
    return rows // len(chunks), cond, tuple(j for j, c in enumerate(chunks) if c == 1)
