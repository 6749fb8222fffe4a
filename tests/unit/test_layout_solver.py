"""The solver on scenes built directly (no parser): unrelated things get pixels of their own.

Where two regions overlap the patch adds both local prompts to the same pixels, so boxes of things the text does
not relate must not overlap, however many there are and whatever the canvas' shape.
"""
from __future__ import annotations

import pytest

from layout_model.lexicon import COCO80
from layout_model.scene import Entity, Scene
from layout_model.solver import solve

CANVASES = [(512, 512), (1024, 256), (256, 1024)]


def _thing(noun: str, count: int = 1) -> Entity:
    return Entity(phrase=f"a {noun}", noun=noun, category=noun if noun in COCO80 else None, attributes=[],
                  count=count)


def overlap(a, b) -> float:
    """Intersection over the smaller box (the measure docs/benchmarks.md reports)."""
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return inter / min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))


def _centre(box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def test_two_things_on_one_landmark_sit_side_by_side_on_it():
    scene = Scene("a cat and a dog on a car", [_thing("cat"), _thing("dog"), _thing("car")],
                  [(0, "on", 2), (1, "on", 2)])
    [cat], [dog], [car] = solve(scene, 512, 512)
    assert overlap(cat, dog) <= 0.02
    (cx, cy), (dx, dy), (_, ry) = _centre(cat), _centre(dog), _centre(car)
    assert cy < ry and dy < ry  # both still on the car
    assert abs(cx - dx) > abs(cy - dy)  # beside each other, not a tower through the car


def test_things_beside_one_landmark_do_not_overlap():
    scene = Scene("a cup, a fork and a knife left of the plate",
                  [_thing("cup"), _thing("fork"), _thing("knife"), _thing("plate")],
                  [(0, "left of", 3), (1, "left of", 3), (2, "left of", 3)])
    boxes = [b for [b] in solve(scene, 512, 512)]
    assert max(overlap(boxes[i], boxes[j]) for i in range(3) for j in range(i + 1, 3)) <= 0.02
    assert all(_centre(boxes[i])[0] < _centre(boxes[3])[0] for i in range(3))


@pytest.mark.parametrize("count", [12, 64])
@pytest.mark.parametrize("width, height", CANVASES)
def test_unrelated_things_get_disjoint_boxes_on_the_canvas(count, width, height):
    scene = Scene("list", [_thing(noun) for noun in COCO80[:count]], [])
    boxes = [b for [b] in solve(scene, width, height)]
    assert all(0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0 for x0, y0, x1, y1 in boxes)
    assert max(overlap(a, b) for k, a in enumerate(boxes) for b in boxes[k + 1:]) <= 0.02


def _rows(boxes) -> list[int]:
    """Instances per row, top to bottom (a row = one top edge)."""
    tops: dict[float, int] = {}
    for box in boxes:
        tops[box[1]] = tops.get(box[1], 0) + 1
    return [tops[y] for y in sorted(tops)]


@pytest.mark.parametrize("count", [2, 3, 5, 12, 20, 64])
@pytest.mark.parametrize("width, height", CANVASES)
def test_a_count_is_a_grid_of_disjoint_boxes_on_the_canvas(count, width, height):
    [apples] = solve(Scene(f"{count} apples", [_thing("apple", count)], []), width, height)
    assert len(apples) == count
    assert all(0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0 for x0, y0, x1, y1 in apples)
    assert all(overlap(a, b) <= 0.01 for k, a in enumerate(apples) for b in apples[k + 1:])  # 4-decimal rounding
    rows = _rows(apples)
    assert sum(rows) == count and len(set(rows[:-1])) <= 1 and rows[-1] <= rows[0]  # full rows, then the rest


def test_a_count_takes_the_shape_of_the_canvas():
    scene = Scene("12 apples", [_thing("apple", 12)], [])
    [wide] = solve(scene, 1024, 256)
    [tall] = solve(scene, 256, 1024)
    assert len(_rows(wide)) <= 2
    assert max(_rows(tall)) <= 2


def test_a_count_keeps_to_the_room_its_relation_leaves():
    """Twelve birds above a car on a wide canvas: one row of birds above the car, not a block that shrinks both."""
    scene = Scene("twelve birds above a car", [_thing("bird", 12), _thing("car")], [(0, "above", 1)])
    birds, [car] = solve(scene, 1024, 256)
    assert _rows(birds) == [12]
    assert all(bird[3] <= car[1] + 0.01 for bird in birds)
    assert car[3] - car[1] > 0.25  # the car keeps a useful height
