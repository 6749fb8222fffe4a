"""Flux.1 (dev, schnell, Kontext) and Chroma: double- and single-stream blocks, one joint attention each.

The shared joint-attention hooks (`joint_attention`) serve them as they are: Flux gives every text token position 0
(the model builds zero ``txt_ids`` for the whole context), so the local prompts in front need no position, and the
blocks name themselves in ``transformer_options`` (``block_type``, ``block_index``). Kontext's reference-image
tokens follow the image grid and take part in the main attention only.
"""
from __future__ import annotations

from typing import Any

import torch

from ..runtime import SpaceTimeRuntime
from .joint_attention import install_joint
from .lookup import diffusion_model
from .regional_modulation import install_modulation

NAME = "flux"
SUPPORTED = "Flux.1 (dev, schnell, Kontext) and Chroma"
build_ops = None        # the local prompts enter through the joint attention, not per-layer projections


def _diffusion_model(model_patcher: Any) -> Any:
    import comfy.ldm.chroma.model
    import comfy.ldm.flux.model

    model = diffusion_model(model_patcher, (comfy.ldm.flux.model.Flux, comfy.ldm.chroma.model.Chroma))
    if model is None:
        return None
    if type(model).__name__ == "ChromaRadiance":      # pixel-space head: not tested here, so not claimed
        return None
    params = getattr(model, "params", None)
    # Flux.2 numbers its text tokens and shares its modulation: its own module (flux2)
    if getattr(params, "txt_ids_dims", None) or getattr(params, "global_modulation", False):
        return None
    return model


def blocks_of(model: Any) -> dict[tuple[str, int], torch.nn.Module]:
    """``{("double" | "single", index): block}`` of a model of Flux's class (Flux.1, Chroma, Flux.2)."""
    return {(kind, i): block for kind in ("double", "single")
            for i, block in enumerate(getattr(model, f"{kind}_blocks", []))}


def block_counts(model: Any) -> dict[str, int]:
    """How many blocks of each kind, for the `blocks` setting."""
    return {"double": len(model.double_blocks), "single": len(model.single_blocks)}


def attention_layers(model_patcher: Any) -> dict[tuple[str, int], torch.nn.Module]:
    """The blocks of a Flux.1 or Chroma model (empty for any other)."""
    model = _diffusion_model(model_patcher)
    return {} if model is None else blocks_of(model)


def context_dims(model_patcher: Any, layers: dict) -> set[int]:
    """The text width the model's ``txt_in`` projects from (T5-XXL's 4096 on Flux.1; on Flux.2 three hidden layers
    of its text encoder side by side)."""
    return {int(model_patcher.model.diffusion_model.txt_in.in_features)}


def install(clone: Any, runtime: SpaceTimeRuntime) -> None:
    model = clone.model.diffusion_model
    install_joint(clone, runtime, int(model.patch_size), block_counts(model), modulation=install_modulation)
