"""Local prompts through a cross-attention module with ``to_q``/``to_k``/``to_v``/``to_out`` (ComfyUI's
`CrossAttention`, as in SD1.x/SDXL UNets): the paper's formulas apply as written."""
from __future__ import annotations

from typing import Any, Callable

import torch

from ...spacetime import combine as st_combine


def cross_attention_ops(attn: torch.nn.Module, heads: int, attn_precision: Any, device: Any, dtype: torch.dtype,
                        embeddings: list[torch.Tensor], empty: Callable[[], torch.Tensor]) -> st_combine.LayerOps:
    """`LayerOps` of one cross-attention module: the local prompts projected by its own to_k/to_v, attention by
    ComfyUI's optimized_attention (the kernel the layer itself uses)."""
    from comfy.ldm.modules.attention import optimized_attention

    def attention(q, k, v, h):
        return optimized_attention(q, k, v, h, attn_precision=attn_precision)

    def project(ctx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ctx = ctx.to(device=device, dtype=dtype)
        return attn.to_k(ctx), attn.to_v(ctx)

    local_kv = [project(e) for e in embeddings]
    inner = local_kv[0][1].shape[-1]
    bias = attn.to_out(torch.zeros(1, 1, inner, device=device, dtype=dtype)).reshape(-1)
    empty_cache: list = []

    def empty_kv():
        if not empty_cache:
            empty_cache.append(project(empty()))
        return empty_cache[0]

    return st_combine.LayerOps(to_q=attn.to_q, to_out=attn.to_out, bias=bias, heads=heads, local_kv=local_kv,
                               empty_kv=empty_kv, attention=attention, capture_blocker=_cast_per_call(attn))


def _cast_per_call(attn: torch.nn.Module) -> str:
    """Why a replay of this layer would be stale: ComfyUI casts or moves a layer's weights at every call when the
    model is partly loaded (lowvram), stored in another dtype, or has weight patches applied on the fly."""
    for name in ("to_q", "to_out"):
        for module in getattr(attn, name).modules():
            if getattr(module, "comfy_cast_weights", False) or getattr(module, "weight_function", None) \
                    or getattr(module, "bias_function", None):
                return "the model's weights are cast or moved at every call (lowvram, another dtype or LoRA on the fly)"
    return ""


def context_widths(layers: dict) -> set[int]:
    """The text widths the layers' to_k accept (what the local embeddings must match)."""
    return {int(getattr(a.to_k, "in_features", 0)) for a in layers.values()}
