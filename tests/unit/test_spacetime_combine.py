"""The combination on synthetic layers against the method's equations (support.reference)."""
import pytest
import torch

from spacetime.combine import LayerOps, coefficients, fused_delta, fused_plan, scatter_delta
from spacetime.masks import RegionIndex, region_masks
from support import reference

HEADS, DH, C_IN, C_CTX = 4, 8, 24, 20
INNER = HEADS * DH


def combine_rows(out: torch.Tensor, hidden: torch.Tensor, base: torch.Tensor | None, index: RegionIndex,
                 weights: torch.Tensor, mode: str, ops: LayerOps) -> torch.Tensor:
    """The formula on one cond chunk in one call, as the bridge composes it from the core's steps (it caches the
    plan per run and the coefficients per model call); weights ``[b, R]``, `out` is left unchanged."""
    plan = fused_plan(index, out.shape[0], ops.groups)
    coefs = coefficients(plan, weights.to(device=out.device), out.dtype)
    return scatter_delta(out, plan, fused_delta(hidden, base, out, plan, coefs, mode, ops))


def make_layer(seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    wq, wk, wv = (torch.randn(INNER, c, generator=g) * 0.3 for c in (C_IN, C_CTX, C_CTX))
    wo, bo = torch.randn(C_IN, INNER, generator=g) * 0.3, torch.randn(C_IN, generator=g)
    wq_t, wo_t, bo_t = wq.to(dtype), wo.to(dtype), bo.to(dtype)

    def to_q(x):
        return torch.nn.functional.linear(x, wq_t)

    def to_out(x):
        return torch.nn.functional.linear(x, wo_t, bo_t)

    params = (wq, wk, wv, wo, bo)

    def ops(locals_, empty):
        kv = [((L @ wk.T).to(dtype).unsqueeze(0), (L @ wv.T).to(dtype).unsqueeze(0)) for L in locals_]
        e = ((empty @ wk.T).to(dtype).unsqueeze(0), (empty @ wv.T).to(dtype).unsqueeze(0))
        return LayerOps(to_q=to_q, to_out=to_out, bias=bo_t, heads=HEADS, local_kv=kv, empty_kv=e)

    def attn(h, ctx):
        return reference.attention(h, ctx, *params, HEADS)

    return params, ops, attn


def scene(h=6, w=8, b=2, tokens=(7, 12), seed=1):
    g = torch.Generator().manual_seed(seed)
    boxes = torch.tensor([[0.0, 0.0, 0.6, 0.7], [0.4, 0.3, 1.0, 1.0]])
    masks = region_masks(boxes, torch.zeros(2, 2), h, w, "box")
    locals_ = [torch.randn(t, C_CTX, generator=g) for t in tokens]
    prompt = torch.randn(b, 9, C_CTX, generator=g)
    neg = torch.randn(b, 9, C_CTX, generator=g)
    empty = torch.randn(5, C_CTX, generator=g)
    h_c = torch.randn(b, h * w, C_IN, generator=g)
    h_u = torch.randn(b, h * w, C_IN, generator=g)
    return masks, locals_, prompt, neg, empty, h_c, h_u


@pytest.mark.parametrize("b", [1, 3])
def test_guidance_with_uncond_rows_matches_paper(b):
    params, mk, attn = make_layer()
    masks, locals_, prompt, neg, empty, h_c, h_u = scene(b=b)
    weights = torch.tensor([[1.5, 0.7]]).expand(b, 2)
    out_c = torch.stack([attn(h_c[r], prompt[r]) for r in range(b)]).float()
    base = torch.stack([attn(h_u[r], neg[r]) for r in range(b)]).float()
    got = combine_rows(out_c, h_c, base, RegionIndex.from_masks(masks, 6, 8), weights, "guidance",
                       mk(locals_, empty))
    for r in range(b):
        want, _ = reference.guidance(h_c[r], h_u[r], prompt[r], neg[r], locals_, masks, [1.5, 0.7], params, HEADS)
        torch.testing.assert_close(got[r].double(), want, atol=1e-5, rtol=1e-5)


def test_guidance_without_uncond_uses_empty_prompt():
    params, mk, attn = make_layer()
    masks, locals_, prompt, neg, empty, h_c, _ = scene(b=1)
    out_c = attn(h_c[0], prompt[0]).float().unsqueeze(0)
    got = combine_rows(out_c, h_c, None, RegionIndex.from_masks(masks, 6, 8), torch.tensor([[2.0, 0.5]]),
                       "guidance", mk(locals_, empty))
    want, _ = reference.guidance(h_c[0], None, prompt[0], empty, locals_, masks, [2.0, 0.5], params, HEADS)
    torch.testing.assert_close(got[0].double(), want, atol=1e-5, rtol=1e-5)


def test_mix_matches_paper():
    params, mk, attn = make_layer()
    masks, locals_, prompt, neg, empty, h_c, _ = scene(b=2)
    out_c = torch.stack([attn(h_c[r], prompt[r]) for r in range(2)]).float()
    got = combine_rows(out_c, h_c, None, RegionIndex.from_masks(masks, 6, 8), torch.tensor([[0.3, 0.6]] * 2),
                       "mix", mk(locals_, empty))
    for r in range(2):
        want = reference.mix(h_c[r], prompt[r], locals_, masks, [0.3, 0.6], params, HEADS)
        torch.testing.assert_close(got[r].double(), want, atol=1e-5, rtol=1e-5)


def test_outside_cells_and_zero_weights_are_bit_exact():
    params, mk, attn = make_layer()
    masks, locals_, prompt, neg, empty, h_c, h_u = scene(b=2)
    out_c = torch.randn(2, 48, C_IN)
    base = torch.randn(2, 48, C_IN)
    index = RegionIndex.from_masks(masks, 6, 8)
    got = combine_rows(out_c, h_c, base, index, torch.ones(2, 2), "guidance", mk(locals_, empty))
    outside = masks.amax(0) == 0
    assert outside.any()
    assert torch.equal(got[:, outside], out_c[:, outside])
    assert not torch.equal(got[:, ~outside], out_c[:, ~outside])
    same = combine_rows(out_c, h_c, base, index, torch.zeros(2, 2), "guidance", mk(locals_, empty))
    assert torch.equal(same, out_c)


def test_feathered_mask_scales_the_term():
    params, mk, attn = make_layer()
    _, locals_, prompt, neg, empty, h_c, h_u = scene(b=1)
    masks = region_masks(torch.tensor([[0.1, 0.1, 0.8, 0.9], [0.5, 0.2, 1.0, 0.6]]), torch.zeros(2, 2), 6, 8,
                         "box", feather=0.4)
    out_c = attn(h_c[0], prompt[0]).float().unsqueeze(0)
    base = attn(h_u[0], neg[0]).float().unsqueeze(0)
    got = combine_rows(out_c, h_c, base, RegionIndex.from_masks(masks, 6, 8), torch.tensor([[1.0, 2.0]]),
                       "guidance", mk(locals_, empty))
    want, _ = reference.guidance(h_c[0], h_u[0], prompt[0], neg[0], locals_, masks, [1.0, 2.0], params, HEADS)
    torch.testing.assert_close(got[0].double(), want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_follows_activations(dtype):
    params, mk, attn = make_layer(dtype=dtype)
    masks, locals_, prompt, neg, empty, h_c, h_u = scene(b=2)
    out_c = torch.stack([attn(h_c[r], prompt[r]) for r in range(2)]).to(dtype)
    base = torch.stack([attn(h_u[r], neg[r]) for r in range(2)]).to(dtype)
    index = RegionIndex.from_masks(masks, 6, 8).to(torch.device("cpu"), dtype)
    try:
        got = combine_rows(out_c, h_c.to(dtype), base, index, torch.tensor([[1.5, 0.7]] * 2), "guidance",
                           mk(locals_, empty))
    except RuntimeError as exc:  # pragma: no cover - a CPU build without these kernels
        pytest.skip(f"{dtype} attention unsupported on this CPU build: {exc}")
    assert got.dtype == dtype
    for r in range(2):
        want, _ = reference.guidance(h_c[r], h_u[r], prompt[r], neg[r], locals_, masks, [1.5, 0.7], params, HEADS)
        tol = 0.05 if dtype == torch.float16 else 0.2
        torch.testing.assert_close(got[r].double(), want, atol=tol * float(want.abs().max()), rtol=tol)


def test_gradients_reach_the_weights():
    params, mk, attn = make_layer()
    masks, locals_, prompt, neg, empty, h_c, h_u = scene(b=1)
    w = torch.tensor([[1.0, 1.0]], requires_grad=True)
    out_c = attn(h_c[0], prompt[0]).float().unsqueeze(0)
    base = attn(h_u[0], neg[0]).float().unsqueeze(0)
    got = combine_rows(out_c, h_c, base, RegionIndex.from_masks(masks, 6, 8), w, "guidance", mk(locals_, empty))
    got.square().sum().backward()
    assert w.grad is not None and torch.all(w.grad != 0)
