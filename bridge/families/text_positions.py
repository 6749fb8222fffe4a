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
from .joint_attention import CALL_KEY


def restarted_text_positions(pe: torch.Tensor, layout: TokenLayout, offsets: tuple[int, ...]) -> torch.Tensor:
    """The rotary table ``(B, 1, N, ...)`` with local prompt *i*'s (and the empty prompt's, last) rows taken from
    text rows ``offsets[i]`` on, the prompt's from the first text rows, the image's where they were."""
    device = pe.device
    rows = [offset + torch.arange(end - start, device=device) for (start, end), offset in zip(layout.spans, offsets)]
    rows.append(torch.arange(layout.prompt, device=device))
    rows.append(torch.arange(layout.prefix + layout.prompt, pe.shape[2], device=device))
    return pe.index_select(2, torch.cat(rows))


class PositionCache:
    """The restarted table of the current model call: every block of a call receives the same table."""

    def __init__(self, offsets: tuple[int, ...]):
        self.offsets = offsets
        self.source: torch.Tensor | None = None
        self.table: torch.Tensor | None = None

    def __deepcopy__(self, memo):
        return self

    def get(self, pe: torch.Tensor, layout: TokenLayout) -> torch.Tensor:
        if pe is not self.source:
            self.source, self.table = pe, restarted_text_positions(pe, layout, self.offsets)
        return self.table


class TextPositions:
    """``dit`` block replace: hands a patched call's block the restarted table (see the module's docstring)."""

    def __init__(self, cache: PositionCache, previous: Any = None):
        self.cache = cache
        self.previous = previous

    def __deepcopy__(self, memo):
        return self

    def __call__(self, args: dict, extra: dict) -> dict:
        call = (args.get("transformer_options") or {}).get(CALL_KEY)
        if call is not None:
            args = dict(args, pe=self.cache.get(args["pe"], call.layout))
        if self.previous is not None:
            return self.previous(args, extra)
        return extra["original_block"](args)


def install_text_positions(clone: Any, blocks: dict[str, int], offsets: tuple[int, ...]) -> None:
    """Registers a `TextPositions` replace on every block (``{"double" | "single": count}``) of the cloned
    patcher, chaining the replace another pack set there; `offsets`: per local prompt, then the empty prompt."""
    replaces = clone.model_options.get("transformer_options", {}).get("patches_replace", {}).get("dit", {})
    cache = PositionCache(tuple(offsets))
    for kind, count in blocks.items():
        name = f"{kind}_block"
        for i in range(count):
            clone.set_model_patch_replace(TextPositions(cache, replaces.get((name, i))), "dit", name, i)
