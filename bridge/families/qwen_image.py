"""Qwen-Image (and its Edit models): one joint attention per transformer block, text (Qwen2.5-VL) first.

The shared joint-attention hooks (`joint_attention`) serve it, with one difference: Qwen-Image gives text tokens
positions, diagonal on all three RoPE axes and counted from ``max(h, w) / 2`` tokens over the context it is
handed, so the local prompts in front would push the prompt's positions along. A ``dit`` block replace per block
(chaining any replace that was there) therefore hands each block the rotary table with the text rows restarted,
as EliGen does for its entity prompts: every local prompt, the empty prompt and the prompt count from the same
offset, so the prompt's and the image's positions are exactly the unpatched model's. The blocks name themselves
(``block_type`` "double", ``block_index``); reference-image tokens (Edit) follow the grid and take part in the
main attention only.
"""
from __future__ import annotations

from typing import Any

import torch

from ...spacetime.joint import TokenLayout
from ..runtime import SpaceTimeRuntime
from .joint_attention import CALL_KEY, install_joint
from .lookup import diffusion_model

NAME = "qwen_image"
SUPPORTED = "Qwen-Image (and Edit)"
build_ops = None


def _diffusion_model(model_patcher: Any) -> Any:
    from comfy.ldm.qwen_image.model import QwenImageTransformer2DModel

    return diffusion_model(model_patcher, QwenImageTransformer2DModel)


def attention_layers(model_patcher: Any) -> dict[tuple[str, int], torch.nn.Module]:
    """``{("double", index): block}`` of a Qwen-Image model (empty for any other)."""
    model = _diffusion_model(model_patcher)
    if model is None:
        return {}
    return {("double", i): block for i, block in enumerate(model.transformer_blocks)}


def context_dims(model_patcher: Any, layers: dict) -> set[int]:
    """The text width the model's ``txt_in`` projects from (Qwen2.5-VL 7B's 3584 on the real model)."""
    return {int(model_patcher.model.diffusion_model.txt_in.in_features)}


def restarted_text_positions(pe: torch.Tensor, layout: TokenLayout) -> torch.Tensor:
    """The rotary table ``(B, 1, N, ...)`` with each local prompt's, the empty prompt's and the prompt's rows taken
    from the first text rows, so that each counts from the model's text offset; image rows stay."""
    device = pe.device
    rows = [torch.arange(end - start, device=device) for start, end in layout.spans]
    rows.append(torch.arange(layout.prompt, device=device))
    rows.append(torch.arange(layout.prefix + layout.prompt, pe.shape[2], device=device))
    return pe.index_select(2, torch.cat(rows))


class PositionCache:
    """The restarted table of the current model call: every block of a call receives the same table."""

    def __init__(self):
        self.source: torch.Tensor | None = None
        self.table: torch.Tensor | None = None

    def __deepcopy__(self, memo):
        return self

    def get(self, pe: torch.Tensor, layout: TokenLayout) -> torch.Tensor:
        if pe is not self.source:
            self.source, self.table = pe, restarted_text_positions(pe, layout)
        return self.table


class TextPositions:
    """``dit`` double-block replace: restarts the text positions of a patched call (see the module's docstring)."""

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


def install(clone: Any, runtime: SpaceTimeRuntime) -> None:
    model = clone.model.diffusion_model
    blocks = len(model.transformer_blocks)
    install_joint(clone, runtime, int(model.patch_size), {"double": blocks})
    replaces = clone.model_options.get("transformer_options", {}).get("patches_replace", {}).get("dit", {})
    cache = PositionCache()
    for i in range(blocks):
        clone.set_model_patch_replace(TextPositions(cache, replaces.get(("double_block", i))), "dit", "double_block",
                                      i)
