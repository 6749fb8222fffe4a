"""Phrasings of positions, counts, non-objects and references, on sentences written for these tests.

Each test reads the layout `layout_model.predict` returns: which objects it has, how many boxes, where they lie.
"""
from __future__ import annotations

import pytest

from layout_model import Layout, predict

EPS = 1e-6


def nouns(layout: Layout) -> list[str]:
    """One name per object (instances of a group repeat it), in layout order."""
    return [o.category or o.noun for o in layout.objects]


def boxes_of(layout: Layout, noun: str) -> list[list[float]]:
    found = [o.box for o in layout.objects if noun in (o.category, o.noun)]
    assert found, f"no {noun!r} in {nouns(layout)}"
    return found


def centre_of(layout: Layout, noun: str) -> tuple[float, float]:
    """Centre of all boxes of `noun` (the mean centre of a group)."""
    boxes = boxes_of(layout, noun)
    return (sum(b[0] + b[2] for b in boxes) / (2 * len(boxes)),
            sum(b[1] + b[3] for b in boxes) / (2 * len(boxes)))


# -- 1. absolute positions ------------------------------------------------------------------------

@pytest.mark.parametrize("text, noun, right, low", [
    ("A cat sits in the upper right corner.", "cat", True, False),
    ("A red ball in the lower left.", "sports ball", False, True),
    ("A vase at the bottom-left.", "vase", False, True),
    ("A clock in the top left corner of the image.", "clock", False, False),
    ("In the upper-right corner of the frame sits an owl.", "bird", True, False),
    ("A lamp stands in the lower right-hand corner of the picture.", "lamp", True, True),
])
def test_corner_phrases_put_the_object_in_that_corner(text, noun, right, low):
    layout = predict(text)
    assert nouns(layout) == [noun]
    x, y = centre_of(layout, noun)
    assert (x > 0.6 if right else x < 0.4) and (y > 0.6 if low else y < 0.4), (x, y)


def test_two_objects_in_opposite_corners():
    layout = predict("The cat is in the lower right corner and a dog is in the upper left.")
    assert nouns(layout) == ["cat", "dog"]
    cat, dog = centre_of(layout, "cat"), centre_of(layout, "dog")
    assert cat[0] > 0.6 and cat[1] > 0.6 and dog[0] < 0.4 and dog[1] < 0.4


@pytest.mark.parametrize("text, noun, axis, side", [
    ("A dog on the far right.", "dog", 0, "high"),
    ("A lamp near the left edge of the picture.", "lamp", 0, "low"),
    ("A horse on the right side of the photo.", "horse", 0, "high"),
    ("A kite flies near the top edge of the frame.", "kite", 1, "low"),
    ("A cat sleeps along the bottom edge.", "cat", 1, "high"),
    ("A boat sails at the far left of the image.", "boat", 0, "low"),
])
def test_edge_and_side_phrases_move_the_object_there(text, noun, axis, side):
    layout = predict(text)
    assert nouns(layout) == [noun]
    value = centre_of(layout, noun)[axis]
    assert value > 0.6 if side == "high" else value < 0.4


@pytest.mark.parametrize("text, noun, part", [
    ("A sofa occupies the left half of the image.", "couch", (0.0, 0.0, 0.5, 1.0)),
    ("A tree in the right third.", "tree", (2 / 3, 0.0, 1.0, 1.0)),
    ("A bus takes up the top third of the photo.", "bus", (0.0, 0.0, 1.0, 1 / 3)),
    ("A car fills the bottom half of the frame.", "car", (0.0, 0.5, 1.0, 1.0)),
    ("A couch in the left third of the picture, a lamp on the far right.", "couch", (0.0, 0.0, 1 / 3, 1.0)),
    ("Three dogs run in the right third of the image.", "dog", (2 / 3, 0.0, 1.0, 1.0)),
])
def test_halves_and_thirds_keep_every_box_inside_that_part(text, noun, part):
    layout = predict(text)
    assert not {"half", "third", "image", "picture", "photo", "frame"} & set(nouns(layout))
    for box in boxes_of(layout, noun):
        assert part[0] - EPS <= box[0] and box[2] <= part[2] + EPS, box
        assert part[1] - EPS <= box[1] and box[3] <= part[3] + EPS, box
        assert box[2] - box[0] > 0.05 and box[3] - box[1] > 0.05, box


def test_a_half_and_a_half_on_the_other_axis_give_a_quarter():
    layout = predict("A clock in the left half of the image, in the top half.")
    (box,) = boxes_of(layout, "clock")
    assert box[2] <= 0.5 + EPS and box[3] <= 0.5 + EPS


def test_relations_still_hold_beside_a_half():
    layout = predict("A dog in the left half and a cat to the right of the dog.")
    assert nouns(layout) == ["dog", "cat"]
    (dog,) = boxes_of(layout, "dog")
    assert dog[2] <= 0.5 + EPS
    assert centre_of(layout, "cat")[0] > centre_of(layout, "dog")[0]


@pytest.mark.parametrize("text, noun", [
    ("A boat centered in the frame.", "boat"),
    ("A bird in the middle of the picture.", "bird"),
    ("A vase in the centre of the image.", "vase"),
    ("A red apple centered on the canvas.", "apple"),
])
def test_centre_phrases_and_no_position_word_becomes_an_object(text, noun):
    layout = predict(text)
    assert nouns(layout) == [noun]
    x, y = centre_of(layout, noun)
    assert abs(x - 0.5) < 0.1 and abs(y - 0.5) < 0.1


# -- 2. counts ------------------------------------------------------------------------------------

def overlap(a: list[float], b: list[float]) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


@pytest.mark.parametrize("text, noun, count, instance", [
    ("Thirteen birds sit on a wire.", "bird", 13, "a bird"),
    ("Twenty apples next to a bowl.", "apple", 20, "an apple"),
    ("A dozen eggs next to a cup.", "egg", 12, "an egg"),
    ("A trio of cats on a sofa.", "cat", 3, "a cat"),
    ("A pair of red apples on a table.", "apple", 2, "a red apple"),
    ("Several dogs play near a tree.", "dog", 3, "a dog"),
    ("12 apples on a plate.", "apple", 12, "an apple"),
    ("Fifteen red balloons above a house.", "balloon", 15, "a red balloon"),
    ("Two dozen roses beside a vase.", "rose", 24, "a rose"),
    ("Twenty-one stars above a tower.", "star", 21, "a star"),
])
def test_counts_give_that_many_singular_instance_boxes(text, noun, count, instance):
    layout = predict(text)
    group = [o for o in layout.objects if noun in (o.category, o.noun)]
    assert len(group) == count and {o.count for o in group} == {count}
    assert {o.phrase for o in group} == {instance}
    assert len(layout.objects) == count + 1  # the other object of the sentence stays
    boxes = [o.box for o in group]
    for k, a in enumerate(boxes):
        assert 0.0 <= a[0] < a[2] <= 1.0 and 0.0 <= a[1] < a[3] <= 1.0
        assert all(overlap(a, b) < 0.2 * (a[2] - a[0]) * (a[3] - a[1]) for b in boxes[k + 1:])


def test_every_instance_of_a_large_count_gets_the_relation():
    layout = predict("Fourteen birds fly above a red barn.")
    birds = [k for k, o in enumerate(layout.objects) if o.category == "bird"]
    barn = next(k for k, o in enumerate(layout.objects) if o.noun == "barn")
    assert len(birds) == 14
    assert {i for i, rel, j in layout.relations if rel == "above" and j == barn} == set(birds)
    assert max(layout.objects[k].center[1] for k in birds) < layout.objects[barn].center[1]


def test_a_count_beyond_what_can_be_drawn_is_capped_and_later_objects_stay():
    layout = predict("A hundred birds above a red barn.")
    assert 20 <= nouns(layout).count("bird") <= 40
    assert nouns(layout)[-1] == "barn"


# -- 3. words for the medium, a document or a time get no region ----------------------------------

@pytest.mark.parametrize("text, expected", [
    ("A dog next to a cat, in the cartoon.", ["dog", "cat"]),
    ("A cartoon of a dog next to a cat.", ["dog", "cat"]),
    ("A lamp as described in the catalog.", ["lamp"]),
    ("The forecast shows rain over a house.", ["house"]),
    ("A man waits for an hour next to a car.", ["person", "car"]),
    ("A great deal of sand around a bucket.", ["sand", "bucket"]),
    ("A watercolor of a fox next to a tree.", ["fox", "tree"]),
    ("A dog reads the story to a cat.", ["dog", "cat"]),
    ("The weekend: a bike leaning on a fence.", ["bicycle", "fence"]),
    ("A cat paused for a moment beside a vase.", ["cat", "vase"]),
    ("A castle in the style of a fairy tale, with a dragon above it.", ["castle", "dragon"]),
    ("A woman reads the article while a cat sleeps on the sofa.", ["person", "cat", "couch"]),
    ("Every summer a boat waits by the pier for a year.", ["boat", "pier"]),
])
def test_medium_document_and_time_words_are_not_objects(text, expected):
    assert nouns(predict(text)) == expected


def test_relations_skip_the_time_phrase_and_reach_the_real_object():
    layout = predict("A man waits for an hour to the left of a red car.")
    assert nouns(layout) == ["person", "car"]
    assert layout.relations == [(0, "left of", 1)]
    assert centre_of(layout, "person")[0] < centre_of(layout, "car")[0]


def test_a_frame_of_time_before_a_relation_keeps_the_subject():
    layout = predict("For a moment, a cat sat above the old clock, as the news described.")
    assert nouns(layout) == ["cat", "clock"]
    assert layout.relations == [(0, "above", 1)]


# -- 4. references to two earlier things ----------------------------------------------------------

def related(layout: Layout) -> set[tuple[str, str, str]]:
    """Relations as (trajector noun, relation, landmark noun)."""
    name = nouns(layout)
    return {(name[i], rel, name[j]) for i, rel, j in layout.relations}


@pytest.mark.parametrize("text, expected, relations", [
    ("A car and a bus; the former is left of the latter.", ["car", "bus"], {("car", "left of", "bus")}),
    ("A red cup and a blue plate. The latter is above the former.", ["cup", "plate"],
     {("plate", "above", "cup")}),
    ("A dog sleeps near a chair and a lamp; the latter stands to the right of the former.",
     ["dog", "chair", "lamp"],
     {("dog", "next to", "chair"), ("dog", "next to", "lamp"), ("lamp", "right of", "chair")}),
])
def test_former_and_latter_name_the_last_two_things(text, expected, relations):
    layout = predict(text)
    assert nouns(layout) == expected  # no object for "the former" / "the latter"
    assert related(layout) == relations


@pytest.mark.parametrize("text, expected, relations", [
    ("A cup and a plate, and a fork to the right of both.", ["cup", "plate", "fork"],
     {("fork", "right of", "cup"), ("fork", "right of", "plate")}),
    ("The cup and the plate both sit above a table.", ["cup", "plate", "dining table"],
     {("cup", "above", "dining table"), ("plate", "above", "dining table")}),
    ("A car and a truck. A bird flies above them.", ["car", "truck", "bird"],
     {("bird", "above", "car"), ("bird", "above", "truck")}),
    ("A cat and a dog with a ball to their left.", ["cat", "dog", "sports ball"],
     {("sports ball", "left of", "cat"), ("sports ball", "left of", "dog")}),
])
def test_both_and_them_after_a_pair_relate_to_both(text, expected, relations):
    layout = predict(text)
    assert nouns(layout) == expected
    assert related(layout) == relations
    trajector, relation, _ = next(iter(relations))
    for _, _, landmark in relations:
        a, b = centre_of(layout, trajector), centre_of(layout, landmark)
        assert (a[0] > b[0]) if relation == "right of" else (a[0] < b[0]) if relation == "left of" else a[1] < b[1]


@pytest.mark.parametrize("text, relations", [
    ("Two dogs lie on a rug with a cat behind them.", {("dog", "on", "rug"), ("cat", "behind", "dog")}),
    ("The scissors lie on a desk with a cup to the left of them.",
     {("scissors", "on", "desk"), ("cup", "left of", "scissors")}),
    ("A man stands on a rug, a cat to their left.", {("person", "on", "rug"), ("cat", "left of", "person")}),
])
def test_them_with_a_group_or_a_person_before_it_still_means_that_one(text, relations):
    assert related(predict(text)) == relations


@pytest.mark.parametrize("text, expected, relations", [
    ("A dog and a cat sit facing each other.", ["dog", "cat"], {("dog", "next to", "cat")}),
    ("A dog and a cat sit next to each other on a sofa.", ["dog", "cat", "couch"],
     {("dog", "next to", "cat"), ("dog", "on", "couch"), ("cat", "on", "couch")}),
    ("A book and a clock are stacked on top of each other.", ["book", "clock"], {("book", "above", "clock")}),
    ("A bus and a car parked next to one another.", ["bus", "car"], {("bus", "next to", "car")}),
    ("Two cats look at one another.", ["cat", "cat"], set()),
])
def test_each_other_relates_the_things_named_together(text, expected, relations):
    layout = predict(text)
    assert nouns(layout) == expected
    assert related(layout) == relations
