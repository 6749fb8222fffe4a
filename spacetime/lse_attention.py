"""Attention that also returns each query's log-sum-exp, so attentions over disjoint key sets can be merged exactly.

The joint-attention region term reads ``[local prompt; image]`` as one softmax for every region, and ``[empty
prompt; image]`` beside it. With each part's log-sum-exp the image part is attended once and shared by all of
them; only the short text parts are attended per region. Fast kernels return the log-sum-exp anyway; where none is
available (or one refuses the inputs) an explicit computation in fp32 gives the same numbers.
"""
from __future__ import annotations

import torch

QUERY_CHUNK = 1024      # queries per explicit score matrix: bounds its memory at large token counts


def attention_with_lse(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``softmax(q k^T / sqrt(D)) v`` in q's dtype and the fp32 log-sum-exp of each query's scaled scores.

    q: ``(B, H, Nq, D)``; k, v: ``(B, H, Nk, D)``. Returns ``(B, H, Nq, D)`` and ``(B, H, Nq)``. No keys give
    zeros and a log-sum-exp of -inf (so a merge leaves the other part alone); kernels are not handed empty inputs.
    """
    if q.shape[2] == 0 or k.shape[2] == 0:
        lse = torch.full(q.shape[:3], float("-inf"), dtype=torch.float32, device=q.device)
        return q.new_zeros(q.shape[:3] + v.shape[3:]), lse
    if q.device.type == "cpu" and q.dtype in (torch.float32, torch.float16, torch.bfloat16):
        out, lse = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(q, k, v)
        return out, lse
    if q.device.type == "cuda":
        try:
            return _cuda_attention_with_lse(q, k, v)
        except RuntimeError:        # a kernel that refuses these inputs (GPU generation, head size, layout)
            pass
    return explicit_attention_with_lse(q, k, v)


def _cuda_attention_with_lse(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The flash kernel for half precision, the memory-efficient one otherwise (it pads the log-sum-exp)."""
    if q.dtype in (torch.float16, torch.bfloat16) and q.shape[-1] <= 256 and q.shape[-1] % 8 == 0:
        out, lse = torch.ops.aten._scaled_dot_product_flash_attention(q, k, v)[:2]
    else:
        out, lse = torch.ops.aten._scaled_dot_product_efficient_attention(q, k, v, None, True)[:2]
    return out, lse[..., :q.shape[2]]


def explicit_attention_with_lse(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The same result from written-out scores in fp32, a chunk of queries at a time."""
    scale = q.shape[-1] ** -0.5
    keys, values = k.float().transpose(-1, -2), v.float()
    outs, lses = [], []
    for start in range(0, q.shape[2], QUERY_CHUNK):
        scores = (q[:, :, start:start + QUERY_CHUNK].float() @ keys) * scale
        lse = torch.logsumexp(scores, dim=-1)
        outs.append(((scores - lse.unsqueeze(-1)).exp() @ values).to(q.dtype))
        lses.append(lse)
    return torch.cat(outs, dim=2), torch.cat(lses, dim=2)


def merged_attention(a: tuple[torch.Tensor, torch.Tensor], b: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """fp32 attention over the union of two disjoint key sets, from each set's ``(out, lse)``."""
    (out_a, lse_a), (out_b, lse_b) = a, b
    share_a = torch.sigmoid(lse_a - lse_b).unsqueeze(-1)
    return out_b.float() + share_a * (out_a.float() - out_b.float())
