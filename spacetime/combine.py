"""The two combination formulas, applied to the output of a cross-attention layer.

Notation and equations: docs/method.md section 1. ``A(h, ctx) = to_out(softmax(q k^T/sqrt(d)) v)`` with ``q = to_q(h)``,
``k, v = to_k(ctx), to_v(ctx)``; D = the sampler's prompt, empty = the empty prompt, L_i = local description i,
M_i = mask of region i, w_i = its weight at this step.

guidance (the official code), cond rows only::

    out_c(p) = A(h_c, D)(p) + sum_i M_i(p) w_i (A(h_c, L_i)(p) - B(p))

    B = A(h_u, neg), the uncond rows of the same call (the paper's A(h_u, empty) when the negative prompt is empty),
    or A(h_c, empty) when the call has no uncond rows (cond and uncond in separate calls, cfg = 1).

mix (the paper's README and the official first commit: a convex mixture), cond rows only::

    out_c(p) = (1 - sum_i M_i(p) w_i) A(h_c, D)(p) + sum_i M_i(p) w_i A(h_c, L_i)(p)

Uncond rows are never changed and cells outside every region are returned untouched (bit-exact).

Cost: queries are computed only for cells inside some region, local attention only for each region's own cells
(batch rows folded into the query axis; the regions' queries padded to the largest region and stacked on the batch
axis against their own stacked keys, so one attention call serves all regions whose local prompts have the same
length), and all local terms are accumulated *before* the output projection, which is affine
(``to_out(x) = W x + b``)::

    sum_i c_i A(h, L_i) = W (sum_i c_i o_i) + (sum_i c_i) b,      o_i = softmax(q k_i^T/sqrt(d)) v_i,  c_i = M_i w_i

so `to_out` runs once over the union of the regions whatever R is. Everything that does not change between steps
(gather/scatter indices, padded mask values, stacked keys/values) is built once per run (`fused_plan`,
`LayerOps.stacked_kv`), the weights are spread over the plan once per model call (`coefficients`), and a layer
issues a fixed number of ops whatever R is (`fused_delta` + `scatter_delta`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from .masks import RegionIndex

MODES = ("guidance", "mix")   # the two formulas above; `fused_delta` reads any mode but "guidance" as mix

Attention = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, int], torch.Tensor]


def sdpa_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int) -> torch.Tensor:
    """Multi-head attention on unsplit heads: q ``[B, N, H·d]``, k/v ``[B, T, H·d]`` -> ``[B, N, H·d]``."""
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
    empty_kv:     ``(to_k(empty), to_v(empty))`` or a callable producing it (only needed for the cond-only baseline).
    capture_blocker: why the layer's work must not be captured for replay ("" when it may be), e.g. weights that
                  the host casts or moves at every call.
    """

    to_q: Callable[[torch.Tensor], torch.Tensor]
    to_out: Callable[[torch.Tensor], torch.Tensor]
    bias: torch.Tensor
    heads: int
    local_kv: list[tuple[torch.Tensor, torch.Tensor]]
    empty_kv: tuple[torch.Tensor, torch.Tensor] | Callable[[], tuple[torch.Tensor, torch.Tensor]] | None = None
    attention: Attention = sdpa_attention
    capture_blocker: str = ""

    def __post_init__(self) -> None:
        self._stacked: list[tuple[torch.Tensor, torch.Tensor]] | None = None
        self._groups = token_groups([k.shape[1] for k, _ in self.local_kv])

    def get_empty_kv(self) -> tuple[torch.Tensor, torch.Tensor]:
        kv = self.empty_kv() if callable(self.empty_kv) else self.empty_kv
        if kv is None:
            raise ValueError("the cond-only baseline needs the empty-prompt keys/values")
        return kv

    @property
    def groups(self) -> tuple[tuple[int, ...], ...]:
        """Regions whose local prompts have the same token count, in region order (usually one group: all)."""
        return self._groups

    def stacked_kv(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per group, the keys/values of its regions stacked on the batch axis: ``[G, T, H·d]`` (built once)."""
        if self._stacked is None:
            self._stacked = [(torch.cat([self.local_kv[i][0] for i in g]), torch.cat([self.local_kv[i][1] for i in g]))
                             for g in self.groups]
        return self._stacked


def token_groups(tokens: list[int]) -> tuple[tuple[int, ...], ...]:
    """Indices grouped by equal token count, groups ordered by their first index."""
    groups: dict[int, list[int]] = {}
    for i, t in enumerate(tokens):
        groups.setdefault(int(t), []).append(i)
    return tuple(tuple(g) for g in groups.values())


@dataclass
class GroupPlan:
    """One attention call: the queries of `regions`, padded to the largest region, stacked on the batch axis.

    gather: ``[G · b · n_max]`` flat indices into the ``[b · U]`` union queries, region-major, then row, then cell;
            padding entries point at index 0 (their coefficient is 0, so they add nothing).
    values: ``[G, 1, n_max]`` the regions' mask values at those cells, 0 at the padding.
    """

    regions: tuple[int, ...]
    n_max: int
    gather: torch.Tensor
    values: torch.Tensor


@dataclass
class FusedPlan:
    """Everything about one resolution and row count that does not change between steps (built once per run).

    union: ``[U]`` cells inside some region; scatter: ``[b · U]`` flat indices of those cells in ``[b · N]``.
    """

    b: int
    cells: int
    union: torch.Tensor
    scatter: torch.Tensor
    groups: list[GroupPlan]


def fused_plan(index: RegionIndex, b: int, groups: tuple[tuple[int, ...], ...]) -> FusedPlan:
    """The gather/scatter plan of `index` for `b` rows (on the index's device; values in its dtype)."""
    device, union = index.union.device, index.union
    u = union.numel()
    row_off = torch.arange(b, device=device) * u
    plans = []
    for g in groups:
        n_max = max(1, *(int(index.pos[i].numel()) for i in g))
        gather = torch.zeros(len(g), b, n_max, dtype=torch.long, device=device)
        values = torch.zeros(len(g), 1, n_max, dtype=index.values[g[0]].dtype if index.values else torch.float32,
                             device=device)
        for j, i in enumerate(g):
            n = index.pos[i].numel()
            gather[j, :, :n] = row_off.view(b, 1) + index.pos[i].view(1, n)
            values[j, 0, :n] = index.values[i]
        plans.append(GroupPlan(tuple(g), n_max, gather.reshape(-1), values))
    cells = index.height * index.width
    scatter = (torch.arange(b, device=device).view(b, 1) * cells + union.view(1, u)).reshape(-1)
    return FusedPlan(b, cells, union, scatter, plans)


@dataclass
class Coefficients:
    """The step's weights spread over a plan: per group ``c [G, b · n_max, 1]`` = w_i(row) · M_i(cell) (0 at the
    padding), and per union cell ``total`` S = sum_i c_i and ``total - 1``, both ``[b, U, 1]``. Computed once per
    model call and resolution, shared by all its layers."""

    coef: list[torch.Tensor]
    total: torch.Tensor
    total_m1: torch.Tensor


def coefficients(plan: FusedPlan, weights: torch.Tensor, dtype: torch.dtype) -> Coefficients:
    """`weights` ``[b, R]`` (on the plan's device) spread over `plan` in `dtype`."""
    w = weights.to(dtype=dtype)
    b, u = plan.b, plan.union.numel()
    coef, total = [], None
    for g in plan.groups:
        wg = w.t() if len(g.regions) == w.shape[1] else w.t()[list(g.regions)]          # [G, b]
        c = (wg.unsqueeze(-1) * g.values.to(dtype)).reshape(-1)                           # [G·b·n_max]
        part = torch.zeros(b * u, dtype=dtype, device=w.device).index_add(0, g.gather, c)
        total = part if total is None else total + part
        coef.append(c.view(len(g.regions), b * g.n_max, 1))
    total = total.view(b, u, 1)
    return Coefficients(coef, total, total - 1)


def fused_delta(hidden: torch.Tensor, base: torch.Tensor | None, out: torch.Tensor, plan: FusedPlan,
                coefs: Coefficients, mode: str, ops: LayerOps) -> torch.Tensor:
    """The change of the union cells of one cond chunk, ``[b * U, C]`` in `out`'s dtype.

    hidden: ``[b, N, C_in]`` the normalised hidden state h_c that went into to_q; out: ``[b, N, C]`` the layer's
    output for the cond rows, ``A(h_c, D)``; base: ``[b, N, C]`` the paired uncond rows' output or None (then the
    baseline is A(h_c, empty prompt)); `mode` "guidance", anything else is "mix".

    One attention call per token-count group (one in total when every local prompt has the same length)."""
    b, u = plan.b, plan.union.numel()
    q = ops.to_q(hidden.index_select(1, plan.union))                 # [b, U, inner]
    inner = q.shape[-1]
    q_flat = q.reshape(b * u, inner)
    acc = torch.zeros(b * u, inner, dtype=q.dtype, device=q.device)
    for g, (k, v), c in zip(plan.groups, ops.stacked_kv(), coefs.coef):
        qg = q_flat.index_select(0, g.gather).view(len(g.regions), b * g.n_max, inner)
        o = ops.attention(qg, k, v, ops.heads)                        # [G, b·n_max, inner]
        acc.index_add_(0, g.gather, (o * c).reshape(-1, inner))
    acc = acc.view(b, u, inner)
    bias = ops.bias
    total = coefs.total
    if mode == "guidance":
        if base is not None:
            # sum c_i (W o_i + b) - S·B  =  to_out(acc) + (S - 1) b - S·B
            delta = torch.addcmul(torch.addcmul(ops.to_out(acc), coefs.total_m1, bias), total,
                                  base.index_select(1, plan.union), value=-1)
        else:
            # sum c_i (W o_i + b) - S (W o_empty + b)  =  W (acc - S o_empty)  =  to_out(acc - S o_empty) - b
            k, v = ops.get_empty_kv()
            o_empty = ops.attention(q_flat.unsqueeze(0), k, v, ops.heads).view(b, u, inner)
            delta = ops.to_out(torch.addcmul(acc, total, o_empty, value=-1)) - bias
    else:
        # sum c_i (A_i - A_D)  =  W acc + S b - S A_D  =  to_out(acc) - b + S (b - A_D)
        delta = torch.addcmul(ops.to_out(acc) - bias, total, bias - out.index_select(1, plan.union))
    return delta.reshape(b * u, -1).to(out.dtype)


def scatter_delta(out: torch.Tensor, plan: FusedPlan, delta: torch.Tensor, row0: int = 0,
                  inplace: bool = False) -> torch.Tensor:
    """`out` ``[rows, N, C]`` with `delta` ``[b · U, C]`` added at the union cells of rows ``row0 .. row0 + b``
    (a new tensor unless `inplace`); every other element keeps its exact value."""
    flat = out.view(-1, out.shape[-1]) if inplace else out.reshape(-1, out.shape[-1])
    idx = plan.scatter if row0 == 0 else plan.scatter + row0 * plan.cells
    res = flat.index_add_(0, idx, delta) if inplace else flat.index_add(0, idx, delta)
    return res.view(out.shape)
