"""The optimiser's pure-torch parts: attention score, token positions, loop, Euler trajectory, CLIP loss, plot."""
from __future__ import annotations

import math
import weakref

import pytest
import torch

from spacetime.optimize.attention import AttentionRecorder, phrase_positions, region_attention_ratio
from spacetime.optimize.clip_score import ClipScorer, crop_boxes
from spacetime.optimize.context import SamplingContext
from spacetime.optimize.loop import optimize, total_ticks
from spacetime.optimize.plot import plot_optimisation
from spacetime.optimize.trajectory import euler_step, euler_trajectory
from spacetime.step_weights import StepWeights


# ---------------------------------------------------------------------------------------------- tokens, score

def test_phrase_positions_finds_last_occurrence_and_falls_back():
    assert phrase_positions([0, 5, 6, 7, 8, 1], [7, 8], 77) == [3, 4]
    assert phrase_positions([0, 8, 6, 8, 1], [8], 77) == [3]
    assert phrase_positions([0, 5, 6, 1], [9], 77) == [1, 2]          # absent: all content tokens
    assert phrase_positions([0, 5, 6, 1], [], 77) == [1, 2]
    assert phrase_positions([0, 5, 6, 7, 1], [7], 3) == []            # beyond the encoded length


def test_region_attention_ratio_matches_a_direct_computation():
    g = torch.Generator().manual_seed(0)
    heads, d, n = 2, 4, 6
    q = torch.randn(1, n, heads * d, generator=g)
    k = torch.randn(1, 5, heads * d, generator=g)
    mask = torch.tensor([1.0, 1.0, 0.0, 0.0, 0.0, 1.0])
    got = region_attention_ratio(q, [k], [[2, 3]], mask[None], heads)
    amap = torch.zeros(n)
    for h in range(heads):
        qs, ks = q[0, :, h * d:(h + 1) * d], k[0, 1:, h * d:(h + 1) * d]        # start token dropped
        p = torch.softmax(qs @ ks.T / math.sqrt(d), dim=-1)
        amap += (p[:, 1] + p[:, 2]) / heads                                    # positions 2, 3 -> columns 1, 2
    assert torch.allclose(got[0, 0], (amap * mask).sum() / amap.sum(), atol=1e-6)


def test_region_attention_ratio_rewards_attention_inside_the_mask_and_has_a_gradient():
    heads, d = 1, 2
    k = torch.tensor([[[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]]])                 # start, object, other
    q = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]], requires_grad=True)          # cell 0 looks at the object
    inside = region_attention_ratio(q, [k], [[1]], torch.tensor([[1.0, 0.0]]), heads)
    outside = region_attention_ratio(q, [k], [[1]], torch.tensor([[0.0, 1.0]]), heads)
    assert inside.item() > 0.9 > 0.1 > outside.item()
    inside.sum().backward()
    assert q.grad is not None and torch.isfinite(q.grad).all()
    assert region_attention_ratio(q, [k], [[]], torch.ones(1, 2), heads).item() == 0.0


def test_recorder_only_records_between_begin_and_end():
    rec = AttentionRecorder()
    rec.add(torch.ones(1, 2))
    assert rec.end() is None
    rec.begin()
    rec.add(torch.full((1, 2), 0.25))
    rec.add(torch.full((1, 2), 0.75))
    assert rec.end().item() == pytest.approx(0.5)
    assert not rec.active


# ---------------------------------------------------------------------------------------------- loop

class FakeObjective:
    """loss = sum (w - target)², one gradient pass = one call; final pass returns the weights as the 'latent'."""

    name = "fake"

    def __init__(self, target: float, poison: float | None = None):
        self.target, self.poison, self.weights = target, poison, None

    def passes_ticks(self, ctx):
        return 3

    def gradient_pass(self, ctx, weights):
        self.weights = weights
        loss = ((weights - self.target) ** 2).sum()
        if self.poison is not None:
            loss = loss * self.poison
        loss.backward()
        return float(loss.detach())

    def final_pass(self, ctx):
        return self.weights.detach().clone(), float(((self.weights - self.target) ** 2).sum())


def fake_ctx(steps: int = 4) -> SamplingContext:
    return SamplingContext(denoise=lambda x, s: x, x_start=torch.zeros(1), sigmas=torch.linspace(1, 0, steps + 1),
                           sample=lambda x, s, w: x, progress=lambda s: 1 - s, check_interrupt=lambda: None,
                           tick=lambda n=1: None)


def test_optimize_takes_adam_steps_and_reports_losses():
    w = torch.full((2, 5), 1.0, requires_grad=True)
    result = optimize(w, FakeObjective(0.0), fake_ctx(), iterations=3, learning_rate=0.1)
    assert len(result.losses) == 3 and result.losses[0] == pytest.approx(10.0)
    assert torch.allclose(result.weights, torch.full((2, 5), 0.7), atol=5e-3)   # Adam: ~lr per step
    assert result.final_loss < result.losses[0]
    assert w.grad is None                                                     # nothing left behind
    assert total_ticks(FakeObjective(0.0), fake_ctx(steps=4), 3) == 3 * 3 + 4


@pytest.mark.parametrize("poison", [float("nan"), float("inf")])
def test_optimize_rejects_non_finite_losses_by_name(poison):
    w = torch.ones(1, 3, requires_grad=True)
    with pytest.raises(ValueError, match=r"^Node X: objective 'fake' gave a (nan|inf) loss.*learning_rate"):
        optimize(w, FakeObjective(0.0, poison), fake_ctx(), 2, 0.1, where="Node X")
    assert w.grad is None and torch.equal(w, torch.ones(1, 3))


def test_optimize_rejects_bad_settings():
    w = torch.ones(1, 3, requires_grad=True)
    with pytest.raises(ValueError, match="Node X: iterations must be at least 1"):
        optimize(w, FakeObjective(0.0), fake_ctx(), 0, 0.1, where="Node X")
    with pytest.raises(ValueError, match="Node X: learning_rate"):
        optimize(w, FakeObjective(0.0), fake_ctx(), 1, 0.0, where="Node X")


def test_an_interrupted_optimisation_leaves_no_graph_behind():
    class Interrupt(Exception):
        pass

    class Interrupting(FakeObjective):
        def gradient_pass(self, ctx, weights):
            self.loss = ((weights * 2) ** 2).sum()     # a graph that references the weights
            raise Interrupt

    w = torch.ones(1, 3, requires_grad=True)
    ref = weakref.ref(w)
    objective = Interrupting(0.0)
    with pytest.raises(Interrupt):
        optimize(w, objective, fake_ctx(), 2, 0.1)
    assert w.grad is None
    del objective, w
    import gc

    gc.collect()
    assert ref() is None


# ---------------------------------------------------------------------------------------------- trajectory

def toy_denoiser(theta: torch.Tensor):
    return lambda x, s: torch.tanh(theta * x) * 0.5 + 0.1 * s.view(-1, 1)


def test_euler_trajectory_gradient_matches_finite_differences_and_plain_loop():
    sigmas = torch.tensor([3.0, 1.5, 0.7, 0.0])
    x0 = torch.tensor([[0.3, -1.2]])
    theta = torch.tensor(0.8, dtype=torch.float64, requires_grad=True)
    calls = []
    x = euler_trajectory(toy_denoiser(theta), x0.double(), sigmas.double(), before_step=calls.append,
                         after_backward_step=lambda i: calls.append(-1 - i))
    loss = (x ** 2).sum()
    loss.backward()
    assert calls[:3] == [0, 1, 2] and sorted(calls[3:]) == [-3, -2, -1]

    def plain(t: float) -> float:
        y = x0.double()
        for i in range(3):
            y = euler_step(toy_denoiser(torch.tensor(t, dtype=torch.float64)), y, sigmas[i].double(),
                           sigmas[i + 1].double())
        return float((y ** 2).sum())

    eps = 1e-6
    fd = (plain(0.8 + eps) - plain(0.8 - eps)) / (2 * eps)
    assert float(loss.detach()) == pytest.approx(plain(0.8), rel=1e-12)
    assert float(theta.grad) == pytest.approx(fd, rel=1e-5)


# ---------------------------------------------------------------------------------------------- CLIP loss

def tiny_clip():
    from transformers import CLIPConfig, CLIPModel

    torch.manual_seed(0)
    cfg = CLIPConfig(text_config=dict(hidden_size=32, intermediate_size=64, num_attention_heads=2, num_hidden_layers=1,
                                      max_position_embeddings=77, vocab_size=100),
                     vision_config=dict(hidden_size=32, intermediate_size=64, num_attention_heads=2,
                                        num_hidden_layers=1, image_size=32, patch_size=8), projection_dim=16)
    return CLIPModel(cfg)


def test_clip_scorer_scores_global_image_and_crops_with_a_gradient():
    model = tiny_clip()
    ids = torch.tensor([[0, 5, 6, 1], [0, 7, 1, 1], [0, 8, 1, 1]])
    crops = torch.tensor([[0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0]])
    scorer = ClipScorer(model, ids, crops)
    assert not any(p.requires_grad for p in model.parameters())
    image = torch.rand(1, 3, 48, 48, requires_grad=True)
    loss = scorer.loss(image)
    assert loss.ndim == 0 and torch.isfinite(loss) and 0.0 <= float(loss) <= 2.0 * (1 + 2 * 5)
    loss.backward()
    assert image.grad.abs().sum() > 0
    assert image.grad[:, :, :24, 24:].abs().sum() < image.grad[:, :, :24, :24].abs().sum()  # crops weigh 5x


def test_crop_boxes_are_the_boxes_or_the_discs_bounding_squares():
    boxes = torch.tensor([[0.1, 0.2, 0.3, 0.4]])
    centers = torch.tensor([[0.1, 0.5]])
    assert torch.equal(crop_boxes(boxes, centers, "box", 0.2), boxes)
    assert torch.allclose(crop_boxes(boxes, centers, "disc", 0.2), torch.tensor([[0.0, 0.3, 0.3, 0.7]]))


def test_plot_has_weights_and_loss_panels():
    image = plot_optimisation(StepWeights(torch.rand(2, 50)), [0.5, 0.4], 0.3, "attention", names=["cat", "dog"])
    assert image.dtype.name == "uint8" and image.shape == (256 + 160, 512, 3)
    assert (image[260:] < 200).any()            # something drawn in the loss panel


def test_update_is_spread_between_the_sampled_columns_only():
    from spacetime.optimize.loop import fill_between_knots

    initial = torch.full((2, 10), 1.0)
    values = initial.clone()
    touched = torch.zeros(10, dtype=torch.bool)
    touched[[2, 6]] = True
    values[:, 2], values[:, 6] = 3.0, 5.0
    filled = fill_between_knots(values, initial, touched)
    assert torch.allclose(filled[0, 2:7], torch.tensor([3.0, 3.5, 4.0, 4.5, 5.0]))
    assert torch.equal(filled[:, :2], initial[:, :2]) and torch.equal(filled[:, 7:], initial[:, 7:])
    assert torch.equal(filled[:, [2, 6]], values[:, [2, 6]])
    one = torch.zeros(10, dtype=torch.bool)
    one[4] = True
    assert torch.equal(fill_between_knots(values, initial, one), values)
