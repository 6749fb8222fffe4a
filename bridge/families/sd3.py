"""SD3 / SD3.5 (MMDiT): one joint attention per joint block, text (CLIP-L/G, and T5 where loaded) first.

The shared joint-attention hooks (`joint_attention`) serve it: MMDiT gives text no positions at all (its sin-cos
embedding is added to the image tokens only), so the local prompts in front need none. Its blocks do not name
themselves in ``transformer_options``, so a ``dit`` block replace per joint block adds ``block_type`` "double" and
``block_index`` (chaining any replace that was there). SD3.5 Medium's image-only attention calls (``attn2`` of its
first blocks) are told apart by their length and pass through untouched.
"""
from __future__ import annotations

from typing import Any

import torch

from ..runtime import SpaceTimeRuntime
from .hooks import ChainedBlockReplace, chain_block_replace
from .joint_attention import install_joint
from .lookup import diffusion_model

NAME = "sd3"
SUPPORTED = "SD3 and SD3.5 (Large, Medium)"
build_ops = None


def attention_layers(model_patcher: Any) -> dict[tuple[str, int], torch.nn.Module]:
    """``{("double", index): joint block}`` of an MMDiT (empty for any other model)."""
    from comfy.ldm.modules.diffusionmodules.mmdit import MMDiT

    model = diffusion_model(model_patcher, MMDiT)
    if model is None or getattr(model, "context_embedder", None) is None:
        return {}
    return {("double", i): block for i, block in enumerate(model.joint_blocks)}


def context_dims(model_patcher: Any, layers: dict) -> set[int]:
    """The text width the model's ``context_embedder`` projects from (4096: CLIP-L+G padded, or T5)."""
    return {int(model_patcher.model.diffusion_model.context_embedder.in_features)}


class BlockIndex(ChainedBlockReplace):
    """``dit`` double-block replace: names the block in the ``transformer_options`` its attention receives."""

    def __init__(self, index: int, previous: Any = None):
        super().__init__(previous)
        self.index = index

    def adjust(self, args: dict) -> dict:
        options = dict(args.get("transformer_options") or {})
        options["block_type"], options["block_index"] = "double", self.index
        return dict(args, transformer_options=options)


def install(clone: Any, runtime: SpaceTimeRuntime) -> None:
    model = clone.model.diffusion_model
    install_joint(clone, runtime, int(model.patch_size), {"double": len(model.joint_blocks)})
    for i in range(len(model.joint_blocks)):
        chain_block_replace(clone, "double_block", i, lambda previous, i=i: BlockIndex(i, previous))
