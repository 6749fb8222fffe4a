"""A layout as regions (layout_model.regions) and as pixel boxes (layout_model.pixel_boxes)."""
from __future__ import annotations

import pytest

from layout_model import Layout, LayoutError, LayoutObject, predict
from layout_model.pixel_boxes import boxes_to_layout, layout_to_pixel_boxes, masks_to_layout
from layout_model.regions import DEFAULT_TEMPLATE, end_boxes, gligen_box, layout_regions, local_description


def _layout(*objects: LayoutObject) -> Layout:
    return Layout(objects=list(objects), width=640, height=480)


def _obj(phrase="the red cat", noun="cat", category="cat", box=(0.1, 0.2, 0.3, 0.4), prompt=None, end_box=None):
    return LayoutObject(phrase=phrase, noun=noun, category=category, box=list(box), prompt=prompt,
                        end_box=None if end_box is None else list(end_box))


def test_each_object_becomes_a_region_with_its_box_centre_name_and_description():
    layout = predict("a red cat to the left of a blue dog")
    regions = layout_regions(layout)
    assert [r.text for r in regions] == ["a photo of a red cat", "a photo of a blue dog"]
    assert [r.name for r in regions] == ["cat", "dog"]
    assert [r.box for r in regions] == [o.box for o in layout.objects]
    assert [r.center for r in regions] == [o.center for o in layout.objects]


def test_template_placeholders_and_their_fallbacks():
    assert local_description(_obj(), "{noun}, {category}") == "cat, cat"
    assert local_description(_obj(category=None), "{category} / {phrase}") == "cat / the red cat"
    assert local_description(_obj(noun="", category=None), "{noun}|{category}") == "the red cat|the red cat"
    assert local_description(_obj(), "") == DEFAULT_TEMPLATE.replace("{phrase}", "the red cat")


def test_own_prompt_wins_over_the_template_and_an_override_line_over_both():
    layout = _layout(_obj(prompt="  a fluffy cat "), _obj(phrase="a dog", noun="dog", prompt="   "))
    assert [r.text for r in layout_regions(layout)] == ["a fluffy cat", "a photo of a dog"]
    assert [r.text for r in layout_regions(layout, overrides="\n a wet dog ")] == ["a fluffy cat", "a wet dog"]
    with pytest.raises(LayoutError) as err:
        layout_regions(layout, overrides="a\nb\nc")
    assert err.value.field == "overrides" and "3 lines but the layout has 2 objects" in str(err.value)
    assert len(layout_regions(layout, overrides="\n\n\n")) == 2       # blank lines alone never conflict


def test_a_rounding_step_outside_the_image_is_clamped():
    (region,) = layout_regions(_layout(_obj(box=(-0.0004, 0.0, 0.5, 1.0009))))
    assert region.box == [0.0, 0.0, 0.5, 1.0] and region.center == [0.25, 0.5]


def test_end_boxes_move_the_objects_that_have_one_and_keep_the_rest():
    layout = _layout(_obj(box=(0.0, 0.4, 0.3, 0.7), end_box=(0.7, 0.4, 1.0004, 0.7)), _obj(box=(0.4, 0.1, 0.6, 0.3)))
    regions = layout_regions(layout, background="a road")
    assert [r.end_box for r in regions] == [[0.7, 0.4, 1.0, 0.7], None, None]       # clamped like box
    assert end_boxes(regions) == [[0.7, 0.4, 1.0, 0.7], [0.4, 0.1, 0.6, 0.3], [0.0, 0.0, 1.0, 1.0]]
    assert regions[0].center == [0.15, 0.55]                                         # the start box's centre
    still = _layout(_obj(), _obj(box=(0.4, 0.1, 0.6, 0.3)))
    assert end_boxes(layout_regions(still, background="a road")) is None


def test_a_bad_end_box_names_the_object_and_field():
    with pytest.raises(LayoutError, match=r"layout.objects\[1\].end_box: need x0 < x1") as err:
        layout_regions(_layout(_obj(), _obj(end_box=(0.5, 0.1, 0.4, 0.9))))
    assert err.value.field == "layout.objects[1].end_box"


@pytest.mark.parametrize("box, message", [
    ((0.5, 0.1, 0.4, 0.9), r"layout.objects\[1\].box: need x0 < x1"),
    ((0.1, 0.5, 0.4, 0.5), r"need y0 < y1"),
    ((0.1, float("nan"), 0.4, 0.5), r"finite numbers"),
    ((0.1, 0.1, 1.05, 0.5), r"must lie in \[0, 1\]"),
    ((0.1, 0.1, 0.5), r"expected 4 finite numbers"),
])
def test_bad_boxes_name_the_object_and_field(box, message):
    with pytest.raises(LayoutError, match=message) as err:
        layout_regions(_layout(_obj(), _obj(box=box)))
    assert err.value.field == "layout.objects[1].box"


def test_gligen_boxes_snap_to_multiples_of_eight_and_keep_thin_boxes():
    assert gligen_box([0.1, 0.25, 0.5, 0.75], 640, 480) == (256, 240, 64, 120)
    assert gligen_box([0.5, 0.5, 0.501, 0.9], 512, 512) == (8, 208, 256, 256)


def test_pixel_boxes_round_trip_keeps_names_and_bad_boxes_name_the_box():
    layout = Layout.from_dict({"schema": "spacetime-layout", "version": 1, "width": 640, "height": 480,
                               "objects": [{"phrase": "a tall red lamp", "box": [0.1, 0.2, 0.5, 0.9]}]})
    boxes = layout_to_pixel_boxes(layout)
    assert boxes == [{"x": 64, "y": 96, "width": 256, "height": 336, "label": "a tall red lamp",
                      "metadata": {"type": "obj", "text": "", "desc": "a tall red lamp"}}]
    back = boxes_to_layout(boxes, 640, 480)
    assert back.objects[0].box == pytest.approx(layout.objects[0].box, abs=1 / 480)
    assert (back.objects[0].phrase, back.objects[0].noun) == ("a tall red lamp", "lamp")
    for bad, field in (([{"x": 1}], "bboxes[0]"), ("boxes", "bboxes"), (boxes, "width"), (["x"], "bboxes[0]"),
                       ([{"bbox": [1, 2]}], "bboxes[0]")):
        with pytest.raises(LayoutError) as err:
            boxes_to_layout(bad, 0 if field == "width" else 512, 512)
        assert err.value.field == field


def test_pixel_boxes_outside_or_empty_are_dropped_and_a_batch_uses_its_first_image():
    layout = boxes_to_layout([[{"x": -10, "y": 0, "width": 60, "height": 100},
                               {"x": 600, "y": 0, "width": 50, "height": 50},
                               {"x": 0, "y": 0, "width": 0, "height": 10}],
                              [{"x": 0, "y": 0, "width": 512, "height": 512}]], 512, 512)
    assert len(layout.objects) == 1 and layout.objects[0].box == [0.0, 0.0, 0.0977, 0.1953]
    assert layout.objects[0].phrase == "object 1" and layout.predictor == "bounding_boxes"


def test_every_box_form_gives_the_same_layout():
    """Create Bounding Boxes' bboxes and elements, a detector's labelled boxes, the canvas state and KJNodes' BBOX
    in both of its number formats: the same two boxes."""
    want = [[0.25, 0.0, 0.75, 0.5], [0.0, 0.5, 0.5, 1.0]]
    forms = {
        "core frames": ([[{"x": 128, "y": 0, "width": 256, "height": 256},
                          {"x": 0, "y": 256, "width": 256, "height": 256}]], {}),
        "canvas state": ([{"x": 128, "y": 0, "width": 256, "height": 256, "metadata": {"desc": "a red cat"}},
                          {"x": 0, "y": 256, "width": 256, "height": 256, "metadata": {"text": "a dog"}}], {}),
        "detector": ([{"x": 128.0, "y": 0.0, "width": 256.0, "height": 256.0, "label": "cat", "score": 0.9},
                      {"x": 0.0, "y": 256.0, "width": 256.0, "height": 256.0, "label": "dog"}], {}),
        "elements": ([{"type": "obj", "bbox": [0, 250, 500, 750], "desc": "a red cat"},
                      {"type": "obj", "bbox": [500, 0, 1000, 500], "desc": "a dog"}], {}),
        "kj xywh": ([(128, 0, 256, 256), (0, 256, 256, 256)], {"number_format": "xywh"}),
        "kj xyxy": ([[128, 0, 384, 256], [0, 256, 256, 512]], {"number_format": "xyxy"}),
        "one box": ({"x": 128, "y": 0, "width": 256, "height": 256}, {}),
    }
    names = {"canvas state": ["a red cat", "a dog"], "detector": ["cat", "dog"], "elements": ["a red cat", "a dog"]}
    for form, (value, kw) in forms.items():
        layout = boxes_to_layout(value, 512, 512, **kw)
        boxes = [o.box for o in layout.objects]
        assert boxes == want[:len(boxes)], form
        expected = names.get(form, ["object 1", "object 2"])
        assert [o.phrase for o in layout.objects] == expected[:len(boxes)], form
    named = boxes_to_layout(forms["detector"][0], 512, 512, names=["", "a blue dog"])
    assert [o.phrase for o in named.objects] == ["cat", "a blue dog"]
    with pytest.raises(LayoutError) as err:
        boxes_to_layout(forms["kj xywh"][0], 512, 512, number_format="yxyx")
    assert err.value.field == "number_format"


def test_masks_become_their_extents():
    import torch

    masks = torch.zeros(3, 64, 128)
    masks[0, 8:24, 16:48] = 1.0
    masks[2, 32:64, 64:128] = 0.9
    layout = masks_to_layout(masks, ["a red cat", "", ""], "a cat and a dog")
    assert (layout.width, layout.height, layout.text) == (128, 64, "a cat and a dog")
    assert [o.box for o in layout.objects] == [[0.125, 0.125, 0.375, 0.375], [0.5, 0.5, 1.0, 1.0]]
    assert [o.phrase for o in layout.objects] == ["a red cat", "object 3"]
    for bad, field in ((torch.zeros(2, 64, 64), "masks"), (torch.zeros(4), "masks"),
                       (torch.ones(1, 64, 32), "masks width")):
        with pytest.raises(LayoutError) as err:
            masks_to_layout(bad)
        assert err.value.field == field


@pytest.mark.parametrize("text, counted, description", [
    ("two cats on a sofa", "cat", "a photo of a cat"),
    ("three red apples next to a bowl", "apple", "a photo of a red apple"),
    ("a pair of shoes under a bed", "shoe", "a photo of a shoe"),
    ("the two men stand left of a bus", "man", "a photo of a man"),
    ("two orange cats sleep near a dog", "cat", "a photo of an orange cat"),
    ("four wine glasses on a table", "wine glass", "a photo of a wine glass"),
    ("a family at a table", "person", "a photo of a person"),
    ("dogs playing with a ball", "dog", "a photo of a dog"),
])
def test_each_instance_of_a_counted_object_gets_a_singular_description(text, counted, description):
    layout = predict(text)
    members = [k for k, o in enumerate(layout.objects) if o.noun == counted]
    assert len(members) == layout.objects[members[0]].count > 1
    regions = layout_regions(layout)
    assert {regions[k].text for k in members} == {description}
    others = [r.text for k, r in enumerate(regions) if k not in members]
    assert all(t == "a photo of " + o.phrase for t, o in zip(others, [o for o in layout.objects
                                                                    if o.noun != counted]))


def test_instance_phrases_drop_counts_and_determiners_and_keep_modifiers():
    from layout_model.predictor import instance_phrase

    assert instance_phrase("the three little pigs", "pig") == "a little pig"
    assert instance_phrase("2 giraffes", "giraffe") == "a giraffe"
    assert instance_phrase("many umbrellas", "umbrella") == "an umbrella"
    assert instance_phrase("a group of people", "person") == "a person"
    layout = predict("two cats on a sofa next to three dogs")
    assert [o.phrase for o in layout.objects] == ["a cat", "a cat", "a sofa", "a dog", "a dog", "a dog"]
    assert [o.count for o in layout.objects] == [2, 2, 1, 3, 3, 3]
