"""The one-object shape test's scoring on rendered scenes with known answers (no ComfyUI)."""
from __future__ import annotations

import numpy as np
import pytest

from lab.render import render
from lab.scenes import COLOURS, SHAPES
from lab.shape_test import NONE, drawn_shape, markdown_header, markdown_row, one_object_scene, tally


@pytest.mark.parametrize("colour", list(COLOURS))
@pytest.mark.parametrize("shape", SHAPES)
def test_a_rendered_object_is_read_as_its_own_shape(colour, shape):
    assert drawn_shape(render(one_object_scene(colour, shape), 256)) == shape


def test_an_empty_canvas_draws_none():
    assert drawn_shape(np.zeros((256, 256, 3), np.float32)) == NONE


def test_the_largest_detection_decides():
    small = render(one_object_scene("red", "square"), 256)
    big = render(one_object_scene("blue", "circle"), 256)
    canvas = np.zeros((256, 256, 3), np.float32)
    canvas[:, :128] = big[:, 64:192]  # the whole circle on the left
    canvas[96:160, 160:224] = small[96:160, 96:160]  # a square corner piece, smaller, on the right
    assert drawn_shape(canvas) == "circle"


def test_tally_counts_most_frequent_first_and_rows_follow_shapes():
    assert tally(["circle", NONE, "square", "circle"]) == "2 circle, 1 square, 1 none"
    assert tally([NONE, "triangle"]) == "1 triangle, 1 none"
    row = markdown_row("m", {"circle": ["circle"], "square": ["circle", "square"], "triangle": [NONE]})
    assert row == "| m | 1 circle | 1 circle, 1 square | 1 none |"
    assert markdown_header().splitlines()[0] == "| model | asked circle | asked square | asked triangle |"


@pytest.mark.parametrize("args, message", [
    (["--checkpoint", "no_such_lab.safetensors"], "--checkpoint: no file at"),
    (["--samples", "0"], "--samples: must be 1 or more, got 0"),
])
@pytest.mark.parametrize("module", ["lab.shape_test", "lab.pooled_probe"])
def test_bad_options_are_refused_before_comfyui_boots(module, args, message, capsys):
    import importlib

    with pytest.raises(SystemExit):
        importlib.import_module(module).main(args)
    assert message in capsys.readouterr().err
