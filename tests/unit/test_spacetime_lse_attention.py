"""Attention with log-sum-exp (spacetime.lse_attention): each path against written-out softmax, and merging."""
from __future__ import annotations

import pytest
import torch

from spacetime.lse_attention import (_cuda_attention_with_lse, attention_with_lse, explicit_attention_with_lse,
                                     merged_attention)


def _reference(q, k, v):
    scores = q.double() @ k.double().transpose(-1, -2) / q.shape[-1] ** 0.5
    return scores.softmax(-1) @ v.double(), torch.logsumexp(scores, dim=-1)


def _qkv(seed=0, nq=37, nk=53, dim=16, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(2, 3, n, dim, generator=gen) * s for n, s in ((nq, 2.0), (nk, 2.0), (nk, 1.0)))
    return q.to(dtype), k.to(dtype), v.to(dtype)


TOLERANCE = {torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 2e-2}


@pytest.mark.parametrize("dtype", list(TOLERANCE))
@pytest.mark.parametrize("path", [attention_with_lse, explicit_attention_with_lse])
def test_output_in_the_query_dtype_and_fp32_lse_match_softmax(path, dtype):
    q, k, v = _qkv(dtype=dtype)
    out, lse = path(q, k, v)
    want_out, want_lse = _reference(q, k, v)
    assert out.dtype == dtype and lse.dtype == torch.float32
    assert out.shape == q.shape and lse.shape == q.shape[:3]
    assert torch.allclose(out.double(), want_out, atol=TOLERANCE[dtype] * 4)
    assert torch.allclose(lse.double(), want_lse, atol=TOLERANCE[dtype] * 8)


def test_explicit_path_chunks_long_query_sets_without_changing_them():
    q, k, v = _qkv(1, nq=2500, nk=40)
    out, lse = explicit_attention_with_lse(q, k, v)
    want_out, want_lse = _reference(q, k, v)
    assert torch.allclose(out.double(), want_out, atol=1e-5) and torch.allclose(lse.double(), want_lse, atol=1e-5)


@pytest.mark.parametrize("dtype", list(TOLERANCE))
def test_merging_two_key_sets_equals_attention_over_both(dtype):
    """Even where one part dominates by far (a text sink), the merge keeps the other's small share."""
    q, k, v = _qkv(2, dtype=dtype)
    k[:, :, :3] = q.mean(dim=2, keepdim=True) * 4               # keys every query scores far above the rest
    merged = merged_attention(attention_with_lse(q, k[:, :, :3], v[:, :, :3]),
                              attention_with_lse(q, k[:, :, 3:], v[:, :, 3:]))
    want, _ = _reference(q, k, v)
    assert merged.dtype == torch.float32
    assert torch.allclose(merged.double(), want, atol=TOLERANCE[dtype] * 4)


@pytest.mark.parametrize("dtype, nq", [(torch.float16, 50), (torch.bfloat16, 7), (torch.float32, 50)])
def test_the_gpu_kernels_are_called_as_their_schemas_say_and_the_padded_lse_is_cut(dtype, nq):
    """Shapes only (meta tensors, no GPU here): the memory-efficient kernel pads the log-sum-exp to 32 queries."""
    q = torch.empty(2, 3, nq, 64, device="meta", dtype=dtype)
    k = torch.empty(2, 3, 70, 64, device="meta", dtype=dtype)
    out, lse = _cuda_attention_with_lse(q, k, k)
    assert out.shape == q.shape and lse.shape == (2, 3, nq) and lse.dtype == torch.float32


def test_no_queries_or_no_keys_are_not_handed_to_a_kernel():
    """A grid too coarse for any region cell has no queries (the CPU kernel dies on them); a text of no tokens has
    no keys, and merging it leaves the other part as it is."""
    q, k, v = _qkv(3)
    out, lse = attention_with_lse(q[:, :, :0], k, v)
    assert out.shape == (2, 3, 0, 16) and lse.shape == (2, 3, 0)
    empty = attention_with_lse(q, k[:, :, :0], v[:, :, :0])
    assert torch.equal(empty[0], torch.zeros_like(q)) and torch.isneginf(empty[1]).all()
    image = attention_with_lse(q, k, v)
    assert torch.equal(merged_attention(empty, image), image[0].float())
