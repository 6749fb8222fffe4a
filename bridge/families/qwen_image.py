"""Qwen-Image (and its Edit models): one joint attention per transformer block, text (Qwen2.5-VL) first.

The shared joint-attention hooks (`joint_attention`) serve it, with one difference: Qwen-Image gives text tokens
positions, diagonal on all three RoPE axes and counted from ``max(h, w) / 2`` tokens over the context it is
handed, so the local prompts in front would push the prompt's positions along. `text_positions` restarts them, as
EliGen does for its entity prompts: every local prompt, the empty prompt and the prompt count from the same
offset, so the prompt's and the image's positions are exactly the unpatched model's. The blocks name themselves
(``block_type`` "double", ``block_index``); reference-image tokens (Edit) follow the grid and take part in the
main attention only.
"""
from __future__ import annotations

from typing import Any

import torch

from ..runtime import SpaceTimeRuntime
from .joint_attention import install_joint
from .lookup import diffusion_model
from .text_positions import install_text_positions

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


def install(clone: Any, runtime: SpaceTimeRuntime) -> None:
    model = clone.model.diffusion_model
    blocks = len(model.transformer_blocks)
    install_joint(clone, runtime, int(model.patch_size), {"double": blocks})
    # every text counts from the prompt's offset: no offset of its own
    install_text_positions(clone, {"double": blocks}, (0,) * (len(runtime.regions.lengths) + 1))
