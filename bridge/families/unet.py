"""SD1.x / SD2.x / SDXL UNets: text enters through ``attn2`` of every SpatialTransformer block.

Hooks: ``attn2_patch`` sees h = norm2(x) as it enters to_q, ``attn2_output_patch`` sees the output after to_out.
Both are composable lists, so packs that own ``patches_replace["attn2"]`` (IPAdapter, InstantID, ...) keep
working. A layer is keyed ``(block name, block id, depth)`` as ComfyUI's ``extra_options["block"]`` and
``["block_index"]`` name it; the token grid is ``activations_shape``'s (or the latent's, downscaled).
"""
from __future__ import annotations

import math
from typing import Any

import torch

from ..call_facts import CallFacts, Skip, split_chunks
from ..runtime import SpaceTimeRuntime
from .cross_attention import context_widths, cross_attention_ops
from .hooks import SharedHook
from .lookup import diffusion_model

NAME = "unet"
SUPPORTED = "SD1.x, SD2.x and SDXL-style UNets"
build_ops = cross_attention_ops


def context_dims(model_patcher: Any, layers: dict) -> set[int]:
    """The context widths the attn2 layers' to_k accept."""
    return context_widths(layers)


def attention_layers(model_patcher: Any) -> dict[tuple[str, int, int], torch.nn.Module]:
    """``{(block name, block id, depth index): attn2}`` of every SpatialTransformer in the UNet (empty if none)."""
    from comfy.ldm.modules.attention import SpatialTransformer

    unet = diffusion_model(model_patcher)
    layers: dict[tuple[str, int, int], torch.nn.Module] = {}
    if unet is None:
        return layers
    groups = []
    for name in ("input_blocks", "output_blocks"):
        blocks = getattr(unet, name, None)
        if isinstance(blocks, torch.nn.ModuleList):
            groups.extend((name.split("_")[0], i, blk) for i, blk in enumerate(blocks))
    middle = getattr(unet, "middle_block", None)
    if isinstance(middle, torch.nn.Module):
        groups.append(("middle", 0, middle))
    for name, i, blk in groups:
        for module in blk.modules():
            if isinstance(module, SpatialTransformer):
                for depth, tb in enumerate(module.transformer_blocks):
                    attn2 = getattr(tb, "attn2", None)
                    if attn2 is not None and not getattr(tb, "switch_temporal_ca_to_sa", False):
                        layers[(name, i, depth)] = attn2
                break
    return layers


def layer_key(extra_options: dict) -> tuple[str, int, int] | None:
    block = extra_options.get("block")
    return (block[0], block[1], extra_options.get("block_index", 0)) if block is not None else None


def token_grid(tokens: int, extra_options: dict) -> tuple[int, int] | None:
    """(height, width) of a layer's `tokens` image tokens, or None when neither shape ComfyUI gives fits."""
    shape = extra_options.get("activations_shape")
    if shape is not None and len(shape) >= 4 and int(shape[-2]) * int(shape[-1]) == tokens:
        return int(shape[-2]), int(shape[-1])
    orig = extra_options.get("original_shape")
    if orig is not None and len(orig) >= 4:
        h, w = int(orig[-2]), int(orig[-1])
        for f in (1, 2, 4, 8, 16, 32, 64):
            hh, ww = math.ceil(h / f), math.ceil(w / f)
            if hh * ww == tokens:
                return hh, ww
    return None


def read_call(layer: Any, hidden: torch.Tensor, extra_options: dict) -> CallFacts:
    """The facts of one attn2 call whose input was `hidden` ``[rows, tokens, C]``; raises Skip when the patch
    cannot act on it."""
    rows, tokens = hidden.shape[0], hidden.shape[1]
    chunk_rows, cond, uncond = split_chunks(extra_options, rows)
    grid = token_grid(tokens, extra_options)
    if grid is None:
        raise Skip("shape", f"cannot tell the {tokens}-token grid shape of {layer}; skipped")
    return CallFacts(layer=layer, chunk_rows=chunk_rows, cond_chunks=cond, uncond_chunks=uncond, grid=grid,
                     heads=int(extra_options.get("n_heads", 8)), attn_precision=extra_options.get("attn_precision"),
                     sigmas=extra_options.get("sigmas"))


class _Handoff(SharedHook):
    """Carries h from the input hook to the output hook of the same layer call."""

    def __init__(self) -> None:
        self.layer: Any = None
        self.hidden: torch.Tensor | None = None


class InputHook(SharedHook):
    """``attn2_patch``: remembers h = norm2(x) as it enters to_q; changes nothing."""

    def __init__(self, handoff: _Handoff):
        self.handoff = handoff

    def __call__(self, n, context, value, extra_options):
        self.handoff.layer, self.handoff.hidden = layer_key(extra_options), n
        return n, context, value


class OutputHook(SharedHook):
    """``attn2_output_patch``: adds the SpaceTime term to the cond rows."""

    def __init__(self, runtime: SpaceTimeRuntime, handoff: _Handoff):
        self.runtime, self.handoff = runtime, handoff

    def __call__(self, out, extra_options):
        layer, hidden = self.handoff.layer, self.handoff.hidden
        self.handoff.layer = self.handoff.hidden = None
        if layer is None or hidden is None or layer not in self.runtime.layers:
            return out
        if hidden.shape[:2] != out.shape[:2]:
            self.runtime.warn_once("rows", f"another patch changed the rows or tokens of {layer} "
                                           f"({tuple(hidden.shape)} vs {tuple(out.shape)}); skipped there")
            return out
        try:
            facts = read_call(layer, hidden, extra_options)
        except Skip as skip:
            self.runtime.warn_once(skip.reason, str(skip))
            return out
        return self.runtime.apply(facts, hidden, out)


def install(clone: Any, runtime: SpaceTimeRuntime) -> None:
    """Register the two attn2 hooks on the cloned patcher."""
    cfg = runtime.config
    if " ".join(cfg.blocks.lower().split()) not in ("", "all") or cfg.region_attention != "open":
        runtime.warn_once("dit_only", "blocks and region_attention apply to DiTs; a UNet is patched in every "
                                      "cross-attention layer, its image tokens as they are")
    handoff = _Handoff()
    clone.set_model_attn2_patch(InputHook(handoff))
    clone.set_model_attn2_output_patch(OutputHook(runtime, handoff))
