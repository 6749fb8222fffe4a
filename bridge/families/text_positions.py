"""Text positions for families whose models number their text tokens (Qwen-Image, Flux.2).

Such a model counts positions over the whole context it is handed, so the local prompts the patch puts in front
would push the prompt's positions along. A ``dit`` block replace per block (chaining any replace that was there)
hands each block the model's own rotary table with the text rows gathered again: the prompt's rows and the image's
are the unpatched model's, bit for bit, and each local prompt and the empty prompt take the rows of the positions
it would have as a caption of its own (an offset per text, given by the family). The model builds text position
*j* from row *j* alone, so a gather of its rows is its own embedding of those positions.
"""
from __future__ import annotations

from typing import Any

import torch

from ...spacetime.joint import TokenLayout
from .hooks import ChainedBlockReplace, SharedHook, chain_block_replace
from .joint_attention import CALL_KEY


def restarted_text_positions(pe: torch.Tensor, layout: TokenLayout, offsets: tuple[int, ...]) -> torch.Tensor:
    """The rotary table ``(B, 1, N, ...)`` with local prompt *i*'s (and the empty prompt's, last) rows taken from
    text rows ``offsets[i]`` on, the prompt's from the first text rows, the image's where they were."""
    device = pe.device
    rows = [offset + torch.arange(end - start, device=device) for (start, end), offset in zip(layout.spans, offsets)]
    rows.append(torch.arange(layout.prompt, device=device))
    rows.append(torch.arange(layout.prefix + layout.prompt, pe.shape[2], device=device))
    return pe.index_select(2, torch.cat(rows))


class PositionCache(SharedHook):
    """The restarted table of the current model call: every block of a call receives the same table."""

    def __init__(self, offsets: tuple[int, ...]):
        self.offsets = offsets
        self.source: torch.Tensor | None = None
        self.table: torch.Tensor | None = None

    def get(self, pe: torch.Tensor, layout: TokenLayout) -> torch.Tensor:
        if pe is not self.source:
            self.source, self.table = pe, restarted_text_positions(pe, layout, self.offsets)
        return self.table


class TextPositions(ChainedBlockReplace):
    """``dit`` block replace: hands a patched call's block the restarted table (see the module's docstring)."""

    def __init__(self, cache: PositionCache, previous: Any = None):
        super().__init__(previous)
        self.cache = cache

    def adjust(self, args: dict) -> dict:
        call = (args.get("transformer_options") or {}).get(CALL_KEY)
        return args if call is None else dict(args, pe=self.cache.get(args["pe"], call.layout))


def install_text_positions(clone: Any, blocks: dict[str, int], offsets: tuple[int, ...]) -> None:
    """Registers a `TextPositions` replace on every block (``{"double" | "single": count}``) of the cloned
    patcher, chaining the replace another pack set there; `offsets`: per local prompt, then the empty prompt."""
    cache = PositionCache(tuple(offsets))
    for kind, count in blocks.items():
        for i in range(count):
            chain_block_replace(clone, f"{kind}_block", i, lambda previous: TextPositions(cache, previous))
