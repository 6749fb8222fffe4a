"""Local prompts through one cross-attention layer: the paper's formulas apply as written wherever the text enters
through its own keys and values. `cross_attention_ops` serves ComfyUI's `CrossAttention` (``to_q``/``to_k``/
``to_v``/``to_out``, as in SD1.x/SDXL UNets); a family whose layer names or normalises its projections otherwise
describes them as `Projections` (e.g. Cosmos: ``q_proj``/``k_proj``/``v_proj``/``output_proj`` with per-head
RMSNorm on queries and keys)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

from ...spacetime import combine as st_combine

Projection = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Projections:
    """One layer's maps on unsplit heads: to_q (hidden -> queries), to_k / to_v (text -> keys / values), each with
    whatever norm the layer applies after its projection, and to_out (affine); `cast_check` are the modules whose
    weights would make a replay stale if cast per call."""
    to_q: Projection
    to_k: Projection
    to_v: Projection
    to_out: Projection
    cast_check: tuple[torch.nn.Module, ...]


def projection_ops(proj: Projections, heads: int, attn_precision: Any, device: Any, dtype: torch.dtype,
                   embeddings: list[torch.Tensor], empty: Callable[[], torch.Tensor]) -> st_combine.LayerOps:
    """`LayerOps` of one cross-attention layer: the local prompts projected by its own to_k/to_v, attention by
    ComfyUI's optimized_attention (the kernel the layer itself uses)."""
    from comfy.ldm.modules.attention import optimized_attention

    def attention(q, k, v, h):
        return optimized_attention(q, k, v, h, attn_precision=attn_precision)

    def project(ctx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ctx = ctx.to(device=device, dtype=dtype)
        return proj.to_k(ctx), proj.to_v(ctx)

    local_kv = [project(e) for e in embeddings]
    inner = local_kv[0][1].shape[-1]
    bias = proj.to_out(torch.zeros(1, 1, inner, device=device, dtype=dtype)).reshape(-1)
    empty_cache: list = []

    def empty_kv():
        if not empty_cache:
            empty_cache.append(project(empty()))
        return empty_cache[0]

    return st_combine.LayerOps(to_q=proj.to_q, to_out=proj.to_out, bias=bias, heads=heads, local_kv=local_kv,
                               empty_kv=empty_kv, attention=attention,
                               capture_blocker=_cast_per_call(proj.cast_check))


def cross_attention_ops(attn: torch.nn.Module, heads: int, attn_precision: Any, device: Any, dtype: torch.dtype,
                        embeddings: list[torch.Tensor], empty: Callable[[], torch.Tensor]) -> st_combine.LayerOps:
    """`LayerOps` of one ComfyUI `CrossAttention` module (``to_q``/``to_k``/``to_v``/``to_out``)."""
    proj = Projections(attn.to_q, attn.to_k, attn.to_v, attn.to_out, (attn.to_q, attn.to_out))
    return projection_ops(proj, heads, attn_precision, device, dtype, embeddings, empty)


def _cast_per_call(modules: tuple[torch.nn.Module, ...]) -> str:
    """Why a replay of this layer would be stale: ComfyUI casts or moves a layer's weights at every call when the
    model is partly loaded (lowvram), stored in another dtype, or has weight patches applied on the fly."""
    for top in modules:
        for module in top.modules():
            if getattr(module, "comfy_cast_weights", False) or getattr(module, "weight_function", None) \
                    or getattr(module, "bias_function", None):
                return "the model's weights are cast or moved at every call (lowvram, another dtype or LoRA on the fly)"
    return ""


def context_widths(layers: dict) -> set[int]:
    """The text widths the layers' to_k accept (what the local embeddings must match)."""
    return {int(getattr(a.to_k, "in_features", 0)) for a in layers.values()}
