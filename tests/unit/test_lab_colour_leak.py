"""Colour leak: the share of object-coloured pixels in colours the prompt does not name."""
from __future__ import annotations

import numpy as np

from lab.metrics import colour_leak
from lab.render import render
from lab.scenes import Obj, Scene


def _scene(*objects: Obj) -> Scene:
    return Scene(tuple(objects), (), 32)


def test_a_rendered_scene_leaks_nothing_and_a_recoloured_one_leaks_its_share():
    red, blue = Obj("red", "square", (2, 2, 12, 12)), Obj("blue", "circle", (18, 18, 28, 28))
    image = render(_scene(red, blue))
    assert colour_leak(_scene(red, blue), image) == 0.0
    green = Obj("green", "circle", blue.box)
    leak = colour_leak(_scene(red, green), image)          # the blue pixels are now unasked for
    assert 0.3 < leak < 0.6


def test_a_black_image_leaks_nothing():
    assert colour_leak(_scene(Obj("red", "square", (2, 2, 12, 12))), np.zeros((32, 32, 3), np.float32)) == 0.0
