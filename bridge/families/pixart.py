"""PixArt-Alpha and PixArt-Sigma: one DiT class (`PixArtMS`), each block self-attention, then a cross-attention to
the text, then the MLP. The cross-attention (`pixart.blocks.MultiHeadCrossAttention` as ``PixArtMSBlock.cross_attn``)
is the paper's: queries from the image tokens (the block's residual stream, read without a norm), keys and values
from the text alone, no positions on the text and no mask; its projections ``q_linear``, ``kv_linear`` (keys, then
values, in one linear) and ``proj`` all have biases, which the local prompts' keys and values get too. The text the
layer reads is the T5-XXL embedding through the model's caption embedder (``y_embedder``, an MLP to the model's
width), so the local prompts and the empty prompt go through it as well. The shared combination
(`spacetime.combine`, `SpaceTimeRuntime.apply`) then applies as written.

Hooks: the blocks take no transformer options, offer no attention patches, and ``PixArtMS.forward`` runs no wrapper
executor (a DIFFUSION_MODEL wrapper never runs on it, on 0.3.75 as on 0.33.0). So two kinds of object patches
(ComfyUI's own mechanism, undone when the model is unpatched; each chains an earlier object patch): one on each
selected block's ``cross_attn.forward`` sees the layer's input and output, and one on the diffusion model's
``forward`` holds the call's transformer options (sigmas, ``cond_or_uncond``) and token grid in a `CallState` while
the call runs, for those hooks to read. The state belongs to the patched clone and is empty between calls.

Text: ComfyUI's PixArt T5 pads nothing (each prompt is as long as its tokens; cond and uncond share a call only when
their lengths match) and the model passes no mask, so there is no padding to shape the local prompts after: each is
read at its own length, through the caption embedder, as the prompt is. Layers are keyed ``("double", i)`` so the
``blocks`` setting reads ``d0-d27``, ``every other``, ...
"""
from __future__ import annotations

import math
from typing import Any, Callable

import torch

from ...spacetime import combine as st_combine
from ..call_facts import CallFacts, Skip, split_chunks
from ..runtime import SpaceTimeRuntime
from .cross_attention import Projections, projection_ops
from .hooks import SharedHook, block_cross_attention, chain_object_patch, patch_cross_attention
from .lookup import diffusion_model

NAME = "pixart"
SUPPORTED = "PixArt-Alpha and PixArt-Sigma"


def _diffusion_model(model_patcher: Any) -> Any:
    from comfy.ldm.pixart.pixartms import PixArtMS

    return diffusion_model(model_patcher, PixArtMS)


def attention_layers(model_patcher: Any) -> dict[tuple[str, int], torch.nn.Module]:
    """``{("double", i): blocks[i].cross_attn}`` of a PixArt DiT (empty for any other model)."""
    return block_cross_attention(_diffusion_model(model_patcher))


def context_dims(model_patcher: Any, layers: dict) -> set[int]:
    """The width of the text the model takes: what its caption embedder reads (T5-XXL's 4096)."""
    return {int(_diffusion_model(model_patcher).y_embedder.y_proj.fc1.in_features)}


def build_ops(attn: torch.nn.Module, heads: int, attn_precision: Any, device: Any, dtype: torch.dtype,
              embeddings: list[torch.Tensor], empty: Callable[[], torch.Tensor]) -> st_combine.LayerOps:
    """`LayerOps` of one cross-attention layer: the local prompts and the empty prompt (already through the caption
    embedder, see `install`) through the layer's own projections."""
    width = int(attn.d_model)
    proj = Projections(attn.q_linear, lambda ctx: attn.kv_linear(ctx)[..., :width],
                       lambda ctx: attn.kv_linear(ctx)[..., width:], attn.proj,
                       (attn.q_linear, attn.kv_linear, attn.proj))
    return projection_ops(proj, heads, attn_precision, device, dtype, embeddings, empty)


def token_grid(x: torch.Tensor, model: Any) -> tuple[int, int]:
    """(height, width) of the tokens a ``[B, C, H, W]`` latent becomes (padded to the patch size)."""
    p = int(model.patch_size)
    return math.ceil(int(x.shape[-2]) / p), math.ceil(int(x.shape[-1]) / p)


class CallState(SharedHook):
    """The model call in progress on one patched clone: ``(transformer options, token grid)``, or None between
    calls."""

    def __init__(self):
        self.call: tuple[dict, tuple[int, int]] | None = None


class ForwardHook(SharedHook):
    """Object patch on the diffusion model's ``forward``: holds the call's options and grid while it runs."""

    def __init__(self, model: Any, state: CallState, previous: Callable):
        self.model, self.state, self.previous = model, state, previous

    def __call__(self, x, *args, **kwargs):
        outer = self.state.call
        self.state.call = (kwargs.get("transformer_options") or {}, token_grid(x, self.model))
        try:
            return self.previous(x, *args, **kwargs)
        finally:
            self.state.call = outer


def read_call(layer: Any, heads: int, hidden: torch.Tensor, call: tuple[dict, tuple[int, int]] | None) -> CallFacts:
    """The facts of one cross-attention call whose input was `hidden` ``[rows, H * W, C]``; raises Skip when the
    patch cannot act on it."""
    if call is None:
        raise Skip("grid", "a PixArt cross-attention call came outside the model's forward (no grid); skipped")
    options, (h, w) = call
    if h * w != hidden.shape[1]:
        raise Skip("shape", f"{hidden.shape[1]} tokens do not make the {h} x {w} grid of {layer}; skipped")
    chunk_rows, cond, uncond = split_chunks(options, hidden.shape[0])
    return CallFacts(layer=layer, chunk_rows=chunk_rows, cond_chunks=cond, uncond_chunks=uncond, grid=(h, w),
                     heads=heads, attn_precision=None, sigmas=options.get("sigmas"))


class CrossAttentionHook(SharedHook):
    """Object patch on one block's ``cross_attn.forward``: the layer's own output plus the SpaceTime term on its
    cond rows."""

    def __init__(self, runtime: SpaceTimeRuntime, layer: tuple[str, int], heads: int, state: CallState,
                 previous: Callable):
        self.runtime, self.layer, self.heads, self.state, self.previous = runtime, layer, heads, state, previous

    def __call__(self, x, cond, mask=None, *args, **kwargs):
        out = self.previous(x, cond, mask, *args, **kwargs)
        try:
            facts = read_call(self.layer, self.heads, x, self.state.call)
        except Skip as skip:
            self.runtime.warn_once(skip.reason, str(skip))
            return out
        return self.runtime.apply(facts, x, out)


def install(clone: Any, runtime: SpaceTimeRuntime) -> None:
    """Object patches on the selected blocks' cross-attention and on the diffusion model's forward of the clone."""
    model = clone.model.diffusion_model
    caption = model.y_embedder         # the local prompts' contexts, once per run for every layer (train=False)
    runtime.text_context = lambda embedding, extras: caption(embedding, False)
    state = CallState()
    patch_cross_attention(clone, runtime, "PixArt", lambda key, attn, previous: CrossAttentionHook(
        runtime, key, int(attn.num_heads), state, previous))
    chain_object_patch(clone, "diffusion_model.forward", model,
                       lambda previous: ForwardHook(model, state, previous))
