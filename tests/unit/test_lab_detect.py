"""The lab detector on rendered scenes with known answers: clean, noisy, at the model's and ComfyUI's sizes."""
from __future__ import annotations

import random

import numpy as np
import pytest

from lab.detect import classify_shape, colour_labels, detect
from lab.render import render
from lab.scenes import COLOURS, SHAPES, Obj, Scene, random_scene


def _kinds(found):
    return sorted((d.colour, d.shape) for d in found)


@pytest.mark.parametrize("size", [32, 256])
def test_finds_every_object_of_random_scenes(size):
    rng = random.Random(0)
    for _ in range(60):
        scene = random_scene(rng, held_out=None)
        assert _kinds(detect(render(scene, size))) == sorted(o.kind for o in scene.objects)


@pytest.mark.parametrize("colour", list(COLOURS))
@pytest.mark.parametrize("shape", SHAPES)
def test_each_kind_alone_with_its_box(colour, shape):
    scene = Scene((Obj(colour, shape, (8.0, 6.0, 20.0, 18.0)),), (), 32)
    (found,) = detect(render(scene, 256))
    assert (found.colour, found.shape) == (colour, shape)
    assert np.allclose(found.box, (64, 48, 160, 144), atol=6)


def test_noise_and_speckles_are_ignored():
    rng, noise = random.Random(1), np.random.default_rng(1)
    hits = 0
    for _ in range(40):
        scene = random_scene(rng, held_out=None)
        image = render(scene, 256) + noise.normal(0, 0.12, (256, 256, 3))
        specks = noise.integers(0, 256, (30, 2))
        image[specks[:, 0], specks[:, 1]] = noise.uniform(0, 1, (30, 3))
        hits += _kinds(detect(np.clip(image, 0, 1))) == sorted(o.kind for o in scene.objects)
    assert hits >= 38


def test_dim_edges_keep_their_hue_and_black_is_background():
    image = np.zeros((4, 4, 3), np.float32)
    image[0, 0] = np.asarray(COLOURS["blue"]) / 255 * 0.5
    labels = colour_labels(image)
    assert labels[0, 0] == list(COLOURS).index("blue")
    assert (labels.ravel()[1:] == -1).all()


def test_grey_is_not_an_object_colour():
    assert (colour_labels(np.full((3, 3, 3), 0.8, np.float32)) == -1).all()


def test_shape_templates_separate_a_stretched_triangle_from_a_circle():
    y, x = np.mgrid[0:20, 0:40]
    triangle = np.abs((x + 0.5) / 40 - 0.5) <= (y + 0.5) / 20 / 2
    assert classify_shape(triangle) == "triangle"
    ellipse = ((x + 0.5) / 40 - 0.5) ** 2 + ((y + 0.5) / 20 - 0.5) ** 2 <= 0.25
    assert classify_shape(ellipse) == "circle"


def test_uint8_input_is_accepted():
    scene = Scene((Obj("yellow", "square", (4.0, 4.0, 14.0, 14.0)),), (), 32)
    (found,) = detect((render(scene) * 255).astype(np.uint8))
    assert (found.colour, found.shape) == ("yellow", "square")
