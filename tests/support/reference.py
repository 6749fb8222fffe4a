"""The method's equations (docs/method.md) written out directly: full images, explicit per-head softmax, float64.

Ground truth for the unit and host tests of the patch: nothing here is shared with `spacetime.combine` or
`spacetime.masks`, so a mistake there cannot hide in both; it is deliberately slow and plain.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

Params = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]


Norms = tuple[torch.Tensor, torch.Tensor, float]


def rms(x: torch.Tensor, gain: torch.Tensor, eps: float) -> torch.Tensor:
    """RMSNorm of each row of one head's slice ``[T, d]`` with scale `gain` ``[d]``."""
    return x / torch.sqrt((x * x).mean(dim=-1, keepdim=True) + eps) * gain.double()


def attention(h: torch.Tensor, ctx: torch.Tensor, wq: torch.Tensor, wk: torch.Tensor, wv: torch.Tensor,
              wo: torch.Tensor, bo: torch.Tensor | None, heads: int, norms: Norms | None = None) -> torch.Tensor:
    """``A(h, ctx) = to_out(softmax(q k^T / sqrt(d)) v)`` for one sample: h ``[N, C_in]``, ctx ``[T, C_ctx]``.
    With `norms` ``(query scale, key scale, eps)``, each head's queries and keys are RMS-normalised first (Cosmos)."""
    h, ctx = h.double(), ctx.double()
    q, k, v = h @ wq.double().T, ctx @ wk.double().T, ctx @ wv.double().T
    d = q.shape[-1] // heads
    outs = []
    for j in range(heads):
        sl = slice(j * d, (j + 1) * d)
        qj, kj = q[:, sl], k[:, sl]
        if norms is not None:
            qj, kj = rms(qj, norms[0], norms[2]), rms(kj, norms[1], norms[2])
        scores = qj @ kj.T / math.sqrt(d)
        outs.append(torch.softmax(scores, dim=-1) @ v[:, sl])
    out = torch.cat(outs, dim=-1) @ wo.double().T
    if bo is not None:
        out = out + bo.double()
    return out


def disc_mask(cx: float, cy: float, height: int, width: int, radius: float = 0.2) -> torch.Tensor:
    """The paper's disc on cell centres (square grids): cell on if (x - cx)^2 + (y - cy)^2 < r^2."""
    m = torch.zeros(height * width, dtype=torch.float64)
    for r in range(height):
        for c in range(width):
            x, y = (c + 0.5) / width, (r + 0.5) / height
            if (x - cx) ** 2 + (y - cy) ** 2 < radius ** 2:
                m[r * width + c] = 1.0
    return m


def sampled_mask(pixels: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``[height * width]``: an image-resolution mask read at each attention cell's centre pixel."""
    rows = ((torch.arange(height) + 0.5) / height * pixels.shape[0]).floor().long()
    cols = ((torch.arange(width) + 0.5) / width * pixels.shape[1]).floor().long()
    return (pixels[rows][:, cols] > 0.5).to(torch.float64).reshape(-1)


def box_mask(box: Sequence[float], height: int, width: int) -> torch.Tensor:
    """Cell on if its centre is in [x0, x1) x [y0, y1)."""
    x0, y0, x1, y1 = box
    m = torch.zeros(height * width, dtype=torch.float64)
    for r in range(height):
        for c in range(width):
            x, y = (c + 0.5) / width, (r + 0.5) / height
            if x0 <= x < x1 and y0 <= y < y1:
                m[r * width + c] = 1.0
    return m


def guidance(h_c: torch.Tensor, h_u: torch.Tensor | None, prompt: torch.Tensor, negative: torch.Tensor,
             locals_: Sequence[torch.Tensor], masks: Sequence[torch.Tensor], weights: Sequence[float],
             params: Params, heads: int, norms: Norms | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Guidance mode: ``out_c = A(h_c, D) + sum_i M_i w_i (A(h_c, L_i) - A(h_u, neg))``; ``out_u = A(h_u, neg)``.

    With ``h_u = None`` the baseline is ``A(h_c, empty)`` with empty = `negative` (the cond-only fallback)."""
    base = attention(h_u if h_u is not None else h_c, negative, *params, heads, norms)
    out = attention(h_c, prompt, *params, heads, norms)
    for L, m, w in zip(locals_, masks, weights):
        out = out + m.double().view(-1, 1) * float(w) * (attention(h_c, L, *params, heads, norms) - base)
    return out, base


def mix(h_c: torch.Tensor, prompt: torch.Tensor, locals_: Sequence[torch.Tensor], masks: Sequence[torch.Tensor],
        weights: Sequence[float], params: Params, heads: int, norms: Norms | None = None) -> torch.Tensor:
    """Mix mode: ``out_c = (1 - sum_i w_i M_i) A(h_c, D) + sum_i w_i M_i A(h_c, L_i)``."""
    glob = attention(h_c, prompt, *params, heads, norms)
    total = torch.zeros(glob.shape[0], 1, dtype=torch.float64)
    out = torch.zeros_like(glob)
    for L, m, w in zip(locals_, masks, weights):
        c = m.double().view(-1, 1) * float(w)
        total = total + c
        out = out + c * attention(h_c, L, *params, heads, norms)
    return (1 - total) * glob + out
