"""spacetime.modulation: per-token modulation from the model's own and each region's."""
import torch

from spacetime.modulation import per_token


def test_tokens_take_their_regions_share_and_keep_the_rest():
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(2, 1, 5, generator=gen)
    regional = torch.randn(2, 3, 5, generator=gen)
    alpha = torch.zeros(2, 4, 3)
    alpha[0, 1, 0] = 1.0                      # token 1 of row 0: all of region 0
    alpha[0, 2, 1] = 0.25                     # token 2: a quarter of region 1
    alpha[0, 3, 0] = alpha[0, 3, 2] = 1.0     # token 3: two regions overlap and add, as the attention terms do
    out = per_token(base, regional, alpha)
    assert out.shape == (2, 4, 5)
    assert torch.equal(out[0, 0], base[0, 0]) and torch.equal(out[1], base[1].expand(4, 5))
    assert torch.allclose(out[0, 1], regional[0, 0], atol=1e-6)
    assert torch.allclose(out[0, 2], base[0, 0] + 0.25 * (regional[0, 1] - base[0, 0]), atol=1e-6)
    assert torch.allclose(out[0, 3], regional[0, 0] + regional[0, 2] - base[0, 0], atol=1e-6)


def test_the_result_keeps_the_models_dtype():
    base, regional = torch.randn(1, 1, 4, dtype=torch.bfloat16), torch.randn(1, 2, 4, dtype=torch.bfloat16)
    assert per_token(base, regional, torch.full((1, 3, 2), 0.5)).dtype == torch.bfloat16
