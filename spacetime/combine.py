"""The two combination formulas, applied to the output of a cross-attention layer.

Notation (paper-method.md §2): ``A(h, ctx) = to_out(softmax(q kᵀ/√d) v)`` with ``q = to_q(h)``,
``k, v = to_k(ctx), to_v(ctx)``; D = the sampler's prompt, ∅ = the empty prompt, L_i = local description i,
M_i = mask of region i, w_i = its weight at this step.

guidance (official HEAD, "iccv version"), cond rows only::

    out_c(p) = A(h_c, D)(p) + Σ_i M_i(p) w_i (A(h_c, L_i)(p) − B(p))

    B = A(h_u, neg), the uncond rows of the same call (the paper's A(h_u, ∅) when the negative prompt is empty),
    or A(h_c, ∅) when the call has no uncond rows (cond and uncond in separate calls, cfg = 1).

mix (first commit / README: convex mixture), cond rows only::

    out_c(p) = (1 − Σ_i M_i(p) w_i) A(h_c, D)(p) + Σ_i M_i(p) w_i A(h_c, L_i)(p)

Uncond rows are never changed and cells outside every region are returned untouched (bit-exact).

Cost: queries are computed only for cells inside some region, local attention only for each region's own cells
(batch rows folded into the query axis, so one attention call per region), and all local terms are accumulated
*before* the output projection, which is affine (``to_out(x) = W x + b``)::

    Σ_i c_i A(h, L_i) = W (Σ_i c_i o_i) + (Σ_i c_i) b,      o_i = softmax(q k_iᵀ/√d) v_i,  c_i = M_i w_i

so `to_out` runs once over the union of the regions whatever R is.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from .masks import RegionIndex

MODES = ("guidance", "mix")

Attention = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, int], torch.Tensor]


def sdpa_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int) -> torch.Tensor:
    """Multi-head attention on unsplit heads: q ``[B, N, H·d]``, k/v ``[B, T, H·d]`` → ``[B, N, H·d]``."""
    b, n, inner = q.shape
    d = inner // heads
    qh = q.reshape(b, n, heads, d).transpose(1, 2)
    kh = k.reshape(k.shape[0], -1, heads, d).transpose(1, 2)
    vh = v.reshape(v.shape[0], -1, heads, d).transpose(1, 2)
    out = F.scaled_dot_product_attention(qh, kh, vh)
    return out.transpose(1, 2).reshape(b, n, inner)


@dataclass
class LayerOps:
    """What the combination needs from one cross-attention layer (the bridge fills it from the real module).

    to_q, to_out: the layer's projections (to_out affine, including its bias).
    bias:         to_out's bias as a ``[C]`` tensor (zeros if none) in the activations' dtype.
    local_kv:     per region, ``(k_i, v_i)`` = ``(to_k(L_i), to_v(L_i))``, each ``[1, T_i, H·d]``.
    empty_kv:     ``(to_k(∅), to_v(∅))`` or a callable producing it (only needed for the cond-only baseline).
    """

    to_q: Callable[[torch.Tensor], torch.Tensor]
    to_out: Callable[[torch.Tensor], torch.Tensor]
    bias: torch.Tensor
    heads: int
    local_kv: list[tuple[torch.Tensor, torch.Tensor]]
    empty_kv: tuple[torch.Tensor, torch.Tensor] | Callable[[], tuple[torch.Tensor, torch.Tensor]] | None = None
    attention: Attention = sdpa_attention

    def get_empty_kv(self) -> tuple[torch.Tensor, torch.Tensor]:
        kv = self.empty_kv() if callable(self.empty_kv) else self.empty_kv
        if kv is None:
            raise ValueError("the cond-only baseline needs the empty-prompt keys/values")
        return kv


def _attend(ops: LayerOps, q: torch.Tensor, kv: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Attention of ``q [b, n, inner]`` against one shared context: rows folded into the query axis."""
    b, n, inner = q.shape
    k, v = kv
    out = ops.attention(q.reshape(1, b * n, inner), k, v, ops.heads)
    return out.reshape(b, n, inner)


def combine_rows(out: torch.Tensor, hidden: torch.Tensor, base: torch.Tensor | None, index: RegionIndex,
                 weights: torch.Tensor, mode: str, ops: LayerOps,
                 weights_device: torch.Tensor | None = None) -> torch.Tensor:
    """Apply the formula to one cond chunk.

    out:     ``[b, N, C]`` the layer's output for the cond rows, ``A(h_c, D)`` (after to_out).
    hidden:  ``[b, N, C_in]`` the normalised hidden state h_c that went into to_q.
    base:    ``[b, N, C]`` guidance baseline (the paired uncond rows' output) or None → ``A(h_c, ∅)``.
    index:   gather plan of the regions at this resolution (device/dtype of `out`).
    weights: ``[b, R]`` weight of each region for each row at this step (strength already applied). Which regions
             act is read from it, so keep it on the host: reading a GPU tensor waits for all queued GPU work.
    weights_device: the same values already on `out`'s device (optional; callers cache it so that a host
             `weights` is not copied to the GPU once per layer).
    Returns a new tensor; `out` is not modified. Cells outside every region keep their exact values.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    b = out.shape[0]
    active = [i for i in range(len(index.pos))
              if index.pos[i].numel() > 0 and bool((weights[:, i] != 0).any())]
    if not active or index.union.numel() == 0:
        return out
    union = index.union
    q = ops.to_q(hidden.index_select(1, union))                      # [b, U, inner]
    inner = q.shape[-1]
    acc = torch.zeros(b, union.numel(), inner, dtype=q.dtype, device=q.device)
    total = torch.zeros(b, union.numel(), 1, dtype=q.dtype, device=q.device)
    w = (weights if weights_device is None else weights_device).to(device=q.device, dtype=q.dtype)
    for i in active:
        pos = index.pos[i]
        o = _attend(ops, q.index_select(1, pos), ops.local_kv[i])   # [b, n_i, inner]
        c = w[:, i].view(b, 1, 1) * index.values[i].to(q.dtype).view(1, -1, 1)
        acc = acc.index_add(1, pos, c * o)
        total = total.index_add(1, pos, c.expand(b, pos.numel(), 1))
    bias = ops.bias.to(device=out.device, dtype=out.dtype)
    if mode == "guidance":
        if base is not None:
            # Σ c_i (W o_i + b) − S·B  =  to_out(acc) + (S − 1) b − S·B
            delta = ops.to_out(acc) + (total - 1) * bias - total * base.index_select(1, union)
        else:
            # Σ c_i (W o_i + b) − S (W o_∅ + b)  =  W (acc − S o_∅)  =  to_out(acc − S o_∅) − b
            o_empty = _attend(ops, q, ops.get_empty_kv())
            delta = ops.to_out(acc - total * o_empty) - bias
    else:
        # Σ c_i (A_i − A_D)  =  W acc + S b − S A_D  =  to_out(acc) − b + S (b − A_D)
        delta = ops.to_out(acc) - bias + total * (bias - out.index_select(1, union))
    return out.index_add(1, union, delta.to(out.dtype))
