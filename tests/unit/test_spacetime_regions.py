"""Validation of region geometry and the Regions container."""
import pytest
import torch

from spacetime.regions import Regions, local_description, validate_box, validate_center

W = "Region Prompt Encode: layout.objects[1].box"


def test_valid_and_slightly_out_boxes_are_clipped():
    assert validate_box([0.1, 0.2, 0.3, 0.4], W) == pytest.approx([0.1, 0.2, 0.3, 0.4])
    assert validate_box([-0.05, 0.0, 1.04, 1.0], W) == pytest.approx([0.0, 0.0, 1.0, 1.0])


@pytest.mark.parametrize("box, message", [
    ([0.5, 0.1, 0.4, 0.9], r"Region Prompt Encode: layout.objects\[1\].box is \[0.5, 0.1, 0.4, 0.9\] \(x0 >= x1"),
    ([0.1, 0.5, 0.4, 0.5], r"\(y0 >= y1"),
    ([0.1, float("nan"), 0.4, 0.5], r"NaN"),
    ([0.1, 0.1, 2.0, 0.5], r"outside the image"),
    ([1.02, 0.1, 1.08, 0.5], r"x0 >= x1 after clipping"),
    ([0.1, 0.1, 0.5], r"has 3 numbers"),
    (None, r"expected four numbers"),
])
def test_bad_boxes_raise_with_node_and_field(box, message):
    with pytest.raises(ValueError, match=message):
        validate_box(box, W)


def test_center_defaults_and_clamps():
    assert validate_center(None, [0.0, 0.2, 0.4, 0.6], "c") == pytest.approx([0.2, 0.4])
    assert validate_center([1.3, -0.2], [0, 0, 1, 1], "c") == [1.0, 0.0]
    with pytest.raises(ValueError, match="finite"):
        validate_center([float("inf"), 0.2], [0, 0, 1, 1], "c")


def test_template():
    assert local_description("a photo of {phrase}", "the red cat", "cat") == "a photo of the red cat"
    assert local_description("{noun}, {category}", "the red cat", "cat", "animal") == "cat, animal"


def test_regions_container_checks_shapes():
    e = torch.zeros(1, 77, 8)
    r = Regions([e, torch.zeros(1, 154, 8)], [None, None], torch.zeros(2, 4), torch.zeros(2, 2), ["a", "b"],
                ["pa", "pb"], e)
    assert len(r) == 2 and r.context_dim == 8 and r.describe()[1]["tokens"] == 154
    with pytest.raises(ValueError, match="width"):
        Regions([torch.zeros(1, 77, 4)], [None], torch.zeros(1, 4), torch.zeros(1, 2), ["a"], ["p"], e)


def test_object_description_prefers_the_objects_own_prompt():
    from spacetime.regions import object_description

    assert object_description("a photo of {phrase}", "a red cat", "cat", "cat", "  a fluffy cat ") == "a fluffy cat"
    assert object_description("a photo of {phrase}", "a red cat", "cat", "cat", "  ") == "a photo of a red cat"
    assert object_description("", "a red cat", own_prompt=None) == "a photo of a red cat"   # empty → default
