"""Flux.2 (dev, Klein): Flux.1's double- and single-stream blocks with modulation shared across blocks, and text
positions.

The shared joint-attention hooks (`joint_attention`) serve it as they serve Flux.1; what differs is that Flux.2
numbers its text tokens (one RoPE axis counts 0 to L - 1 over the whole context), so the local prompts in front would
push the prompt's positions along. `text_positions` gives every block the model's own table with the prompt's and
the image's rows unchanged and each local prompt (and the empty prompt) at the positions its real tokens take as a
prompt of its own: ``model_base.Flux2`` pads every context to 512 tokens at the front, so a text whose encoding is
shorter (Flux.2 dev's Mistral pads nothing) ends at position 511, and one already padded to 512 by its tokenizer
(Klein's Qwen3) starts at 0. Reference-image tokens follow the grid and take part in the main attention only.
"""
from __future__ import annotations

from typing import Any

import torch

from ..runtime import SpaceTimeRuntime
from .flux import block_counts, blocks_of
from .flux import context_dims as context_dims  # the seam's question, answered as for Flux.1: txt_in's width
from .joint_attention import install_joint
from .lookup import diffusion_model
from .text_positions import install_text_positions

NAME = "flux2"
SUPPORTED = "Flux.2 (dev, Klein)"
build_ops = None        # the local prompts enter through the joint attention, not per-layer projections
TEXT_LENGTH = 512       # model_base.Flux2 pads a shorter context to this many tokens, at the front


def _diffusion_model(model_patcher: Any) -> Any:
    import comfy.ldm.flux.model

    model = diffusion_model(model_patcher, comfy.ldm.flux.model.Flux)
    if model is None or not getattr(getattr(model, "params", None), "global_modulation", False):
        return None
    return model


def attention_layers(model_patcher: Any) -> dict[tuple[str, int], torch.nn.Module]:
    """The blocks of a Flux.2 model (empty for any other)."""
    model = _diffusion_model(model_patcher)
    return {} if model is None else blocks_of(model)


def own_prompt_offset(encoded: int) -> int:
    """The position of the first token of a text encoded to `encoded` tokens, as the model sees it alone."""
    return max(0, TEXT_LENGTH - encoded)


def install(clone: Any, runtime: SpaceTimeRuntime) -> None:
    model = clone.model.diffusion_model
    counts = block_counts(model)
    install_joint(clone, runtime, int(model.patch_size), counts)
    regions = runtime.regions
    encoded = [int(e.shape[1]) for e in regions.embeddings] + [int(regions.empty.shape[1])]
    install_text_positions(clone, counts, tuple(own_prompt_offset(n) for n in encoded))
