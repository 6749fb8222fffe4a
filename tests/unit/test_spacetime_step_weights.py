"""Step weights: the progress grid, interpolation, schedules, JSON, plot."""
import json

import pytest
import torch

from spacetime.plot import plot_step_weights
from spacetime.step_weights import StepWeights, auto_weight, build_schedule, interpolate_rows


def test_interpolation_on_grid_and_between():
    sw = StepWeights(torch.tensor([[0.0, 1.0, 3.0], [2.0, 2.0, 2.0]]))
    assert sw.grid == 3
    torch.testing.assert_close(sw.at(0.0), torch.tensor([0.0, 2.0]))
    torch.testing.assert_close(sw.at(0.25), torch.tensor([0.5, 2.0]))
    torch.testing.assert_close(sw.at(0.75), torch.tensor([2.0, 2.0]))
    torch.testing.assert_close(sw.at(1.0), torch.tensor([3.0, 2.0]))
    torch.testing.assert_close(sw.at(7.0), torch.tensor([3.0, 2.0]))          # clamped
    assert sw.at(torch.tensor([0.0, 0.5, 1.0])).shape == (3, 2)


def test_auto_resolves_from_region_count_and_mode():
    sw = StepWeights(torch.ones(1, 50), relative=True)
    g = sw.resolve(4, "guidance")
    assert g.values.shape == (4, 50) and torch.allclose(g.values, torch.full((4, 50), 1.25))
    assert torch.allclose(sw.resolve(2, "mix").values, torch.full((2, 50), 0.5))
    assert auto_weight("guidance", 1) == 5.0
    with pytest.raises(ValueError, match="3 rows but there are 2 regions"):
        StepWeights(torch.ones(3, 5)).resolve(2, "guidance")


def test_json_round_trip():
    sw = build_schedule("cosine", 2.0, 0.0, 10, per_region_text="\n1\n0 4\n1 2 3", relative=False)
    data = json.loads(json.dumps(sw.to_dict()))
    back = StepWeights.from_dict(data)
    assert torch.equal(back.values, sw.values) and back.grid == 10 and back.relative is False


def test_schedules():
    assert torch.allclose(build_schedule("constant", 0.7, 9, 5).values, torch.full((1, 5), 0.7))
    lin = build_schedule("linear", 1.0, 0.0, 5).values[0]
    torch.testing.assert_close(lin, torch.tensor([1.0, 0.75, 0.5, 0.25, 0.0]))
    cos = build_schedule("cosine", 1.0, 0.0, 5).values[0]
    assert cos[0] == 1 and abs(float(cos[2]) - 0.5) < 1e-6 and abs(float(cos[-1])) < 1e-6
    lst = build_schedule("list", 0, 0, 5, values_text="0, 1, 0").values[0]
    torch.testing.assert_close(lst, torch.tensor([0.0, 0.5, 1.0, 0.5, 0.0]))
    per = build_schedule("linear", 1.0, 0.0, 5, per_region_text="\n2\n0 4")
    assert per.values.shape == (3, 5)
    torch.testing.assert_close(per.values[0], lin)
    torch.testing.assert_close(per.values[1], torch.full((5,), 2.0))
    torch.testing.assert_close(per.values[2], torch.tensor([0.0, 1.0, 2.0, 3.0, 4.0]))


def test_schedule_errors_name_the_node():
    with pytest.raises(ValueError, match="Step Weights Schedule: values is empty"):
        build_schedule("list", 0, 0, 5, values_text=" ")
    with pytest.raises(ValueError, match="Step Weights Schedule: per_region line 2: 'x' is not a number"):
        build_schedule("constant", 1, 1, 5, per_region_text="1\nx")
    with pytest.raises(ValueError, match="NaN"):
        StepWeights(torch.tensor([[float("nan")]]))


def test_weights_are_differentiable():
    v = torch.ones(2, 5, requires_grad=True)
    interpolate_rows(v, torch.tensor([0.1, 0.9])).sum().backward()
    assert v.grad is not None and v.grad.sum() == 4


def test_plot_is_an_image():
    img = plot_step_weights(build_schedule("linear", 1, 0, 20, per_region_text="1\n0.5 2"), names=["cat", "dog"])
    assert img.shape == (256, 512, 3) and img.dtype.name == "uint8" and img.min() < 128
