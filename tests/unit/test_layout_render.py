"""The layout preview draws a moving object's end box and its motion arrow, and nothing else changes."""
from __future__ import annotations

import copy

import numpy as np
import pytest

pytest.importorskip("PIL")

from layout_model.render import BACKGROUND, PALETTE, render_preview  # noqa: E402
from layout_model.schema import Layout, LayoutObject  # noqa: E402

SIZE = 256


def _layouts() -> tuple[Layout, Layout]:
    """A layout whose object 0 moves from the top left to the bottom right (object 1 holds still), and the same
    layout with the end box removed."""
    moving = Layout(objects=[
        LayoutObject(phrase="a cat", noun="cat", category="cat", box=[0.05, 0.05, 0.3, 0.3],
                     end_box=[0.6, 0.6, 0.95, 0.95]),
        LayoutObject(phrase="a dog", noun="dog", category="dog", box=[0.6, 0.05, 0.95, 0.3]),
    ], relations=[(0, "left of", 1)], width=SIZE, height=SIZE)
    still = copy.deepcopy(moving)
    still.objects[0].end_box = None
    return moving, still


def _pixels(layout: Layout) -> np.ndarray:
    return np.asarray(render_preview(layout)).astype(int)


def _of_colour(image: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """Pixels nearer the object's colour than the canvas' background."""
    return (np.abs(image - colour).sum(-1) < np.abs(image - BACKGROUND).sum(-1))


def _area(box: list[float], margin: int = 0) -> tuple[slice, slice]:
    x0, y0, x1, y1 = (round(v * (SIZE - 1)) for v in box)
    return slice(max(0, y0 - margin), y1 + margin + 1), slice(max(0, x0 - margin), x1 + margin + 1)


def test_a_moving_object_draws_its_end_box_and_an_arrow_in_its_colour():
    moving, still = _layouts()
    with_motion, without = _pixels(moving), _pixels(still)
    colour = PALETTE[0]
    end = _area(moving.objects[0].end_box)
    drawn = _of_colour(with_motion[end], colour)
    assert drawn.sum() > 100, "the end box's dashed outline is drawn in the object's colour"
    assert not _of_colour(without[end], colour).any(), "nothing of that colour there without the end box"
    rows, cols = np.nonzero(drawn)
    assert drawn[rows.min(), :].sum() < drawn.shape[1] - 4, "the outline is dashed, not solid"
    assert (with_motion[end] != BACKGROUND).any(-1).all(), "the end box is tinted"
    middle = round(0.475 * (SIZE - 1))  # halfway between the two centres, outside both boxes
    spot = (slice(middle - 2, middle + 3), slice(middle - 2, middle + 3))
    assert _of_colour(with_motion[spot], colour).any() and not _of_colour(without[spot], colour).any(), \
        "an arrow in the object's colour joins the centres"


def test_everything_but_the_motion_is_drawn_exactly_as_without_an_end_box():
    moving, still = _layouts()
    with_motion, without = _pixels(moving), _pixels(still)
    motion = np.zeros(with_motion.shape[:2], dtype=bool)
    centre_to_centre = [0.175, 0.175, 0.775, 0.775]
    motion[_area(moving.objects[0].end_box, margin=2)] = True
    motion[_area(centre_to_centre, margin=12)] = True  # the arrow and its head
    assert (with_motion != without).any(-1)[motion].any()
    assert np.array_equal(with_motion[~motion], without[~motion]), "labels, start boxes, relations unchanged"
