"""Layout JSON: versioned format, round trip, and validation errors that name the field."""
from __future__ import annotations

import copy
import json
import math

import pytest

from layout_model import RELATIONS, SCHEMA, VERSION, Layout, LayoutError, LayoutObject, predict
from layout_model.schema import MAX_SIDE_PX, MAX_TEXT_CHARS, MIN_SIDE_PX, noun_of

TEXT = "Two dogs sit between a white couch and a lighthouse, with a red ball above them."


@pytest.fixture(scope="module")
def layout_dict() -> dict:
    return predict(TEXT, width=640, height=384).to_dict()


def test_to_dict_format(layout_dict):
    assert layout_dict["schema"] == SCHEMA == "spacetime-layout" and layout_dict["version"] == VERSION == 1
    assert set(layout_dict) == {"schema", "version", "width", "height", "text", "predictor",
                                "objects", "relations"}
    assert (layout_dict["width"], layout_dict["height"], layout_dict["predictor"]) == (640, 384, "rules")
    first = layout_dict["objects"][0]
    assert set(first) == {"phrase", "noun", "category", "count", "group", "attributes", "box",
                          "center", "prompt"}
    assert (first["phrase"], first["noun"], first["category"], first["count"]) == ("a dog", "dog", "dog", 2)
    assert layout_dict["objects"][1]["group"] == first["group"] is not None
    for obj in layout_dict["objects"]:
        x0, y0, x1, y1 = obj["box"]
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
        assert obj["center"] == [round((x0 + x1) / 2, 4), round((y0 + y1) / 2, 4)]
    assert all(rel in RELATIONS for _, rel, _ in layout_dict["relations"])
    json.dumps(layout_dict)


def test_round_trip_dict_and_json(layout_dict):
    layout = Layout.from_dict(layout_dict)
    assert layout.to_dict() == layout_dict
    assert Layout.from_json(layout.to_json()).to_dict() == layout_dict
    assert Layout.from_json(layout.to_json(indent=2)) == layout


def test_prompt_override_and_null_category_round_trip(layout_dict):
    data = copy.deepcopy(layout_dict)
    data["objects"][0]["prompt"] = "a photo of a fluffy dog"
    data["objects"][0]["category"] = None
    layout = Layout.from_dict(data)
    assert layout.objects[0].prompt == "a photo of a fluffy dog" and layout.objects[0].category is None
    assert Layout.from_dict(layout.to_dict()) == layout


def test_minimal_object_gets_defaults():
    data = {"schema": SCHEMA, "version": 1,
            "objects": [{"phrase": "a small boat", "box": [0.1, 0.2, 0.3, 0.4]}]}
    obj = Layout.from_dict(data).objects[0]
    assert (obj.noun, obj.category, obj.count, obj.group, obj.attributes, obj.prompt) == \
        ("boat", None, 1, None, [], None)
    assert obj.center == [0.2, 0.3]


def test_center_is_derived_from_box(layout_dict):
    data = copy.deepcopy(layout_dict)
    data["objects"][0]["center"] = [0.9, 0.9]  # stale value from an editor is ignored
    obj = Layout.from_dict(data).objects[0]
    assert obj.center == [round((obj.box[0] + obj.box[2]) / 2, 4), round((obj.box[1] + obj.box[3]) / 2, 4)]


def test_end_box_round_trips_and_is_clamped_like_box(layout_dict):
    data = copy.deepcopy(layout_dict)
    data["objects"][1]["end_box"] = [0.6, -0.0004, 1.0004, 0.31234567]
    layout = Layout.from_dict(data)
    assert layout.objects[1].end_box == [0.6, 0.0, 1.0, 0.31234567]
    assert [o.end_box for k, o in enumerate(layout.objects) if k != 1] == [None] * (len(layout.objects) - 1)
    out = layout.to_dict()
    assert out["objects"][1]["end_box"] == [0.6, 0.0, 1.0, 0.3123]      # 4 decimals, like box
    assert out["objects"][1]["center"] == layout_dict["objects"][1]["center"]  # the centre is the start box's
    assert all("end_box" not in o for k, o in enumerate(out["objects"]) if k != 1)
    again = Layout.from_json(layout.to_json())
    assert again.to_dict() == out and again.objects[1].end_box == [0.6, 0.0, 1.0, 0.3123]


def test_a_layout_without_end_boxes_reads_and_writes_as_before(layout_dict):
    data = copy.deepcopy(layout_dict)
    data["objects"][0]["end_box"] = None              # null: the object does not move
    layout = Layout.from_dict(data)
    assert all(o.end_box is None for o in layout.objects)
    assert layout.to_dict() == layout_dict and layout.to_dict()["version"] == VERSION == 1


def test_small_rounding_excess_is_clamped(layout_dict):
    data = copy.deepcopy(layout_dict)
    data["objects"][0]["box"] = [-0.0004, 0.1, 1.0004, 0.5]
    assert Layout.from_dict(data).objects[0].box == [0.0, 0.1, 1.0, 0.5]


def _set(path: str, value):
    """A mutation that sets data[...path...] = value (path like 'objects.0.box')."""
    def apply(data):
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        target = data
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
        return data
    return apply


def _delete(path: str):
    def apply(data):
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        target = data
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]
        return data
    return apply


@pytest.mark.parametrize("mutate, field", [
    (_set("schema", "other"), "schema"),
    (_delete("schema"), "schema"),
    (_set("version", 2), "version"),
    (_set("version", "1"), "version"),
    (_set("version", True), "version"),
    (_set("width", 0), "width"),
    (_set("width", 63), "width"),
    (_set("width", 8193), "width"),
    (_set("height", 1.5), "height"),
    (_set("text", "x" * 20001), "text"),
    (_set("text", 42), "text"),
    (_set("objects", {"a": 1}), "objects"),
    (_set("objects.2", "dog"), "objects[2]"),
    (_set("objects.2.box", [0.1, 0.2, 0.3]), "objects[2].box"),
    (_set("objects.2.box", [0.1, 0.2, 0.3, float("nan")]), "objects[2].box"),
    (_set("objects.2.box", [0.1, 0.2, 0.3, math.inf]), "objects[2].box"),
    (_set("objects.2.box", [0.5, 0.2, 0.3, 0.4]), "objects[2].box"),
    (_set("objects.2.box", [0.1, 0.4, 0.3, 0.4]), "objects[2].box"),
    (_set("objects.2.box", [0.1, 0.2, 1.5, 0.4]), "objects[2].box"),
    (_set("objects.2.box", [-0.2, 0.2, 0.3, 0.4]), "objects[2].box"),
    (_set("objects.2.box", [-0.002, 0.2, 0.3, 0.4]), "objects[2].box"),
    (_set("objects.2.box", [1.0004, 0.2, 1.0009, 0.4]), "objects[2].box"),  # empty once clamped
    (_set("objects.2.box", ["0.1", 0.2, 0.3, 0.4]), "objects[2].box"),
    (_set("objects.2.box", [True, 0.2, 0.3, 0.4]), "objects[2].box"),
    (_delete("objects.2.box"), "objects[2].box"),
    (_set("objects.2.center", [0.1]), "objects[2].center"),
    (_set("objects.2.phrase", ""), "objects[2].phrase"),
    (_set("objects.2.phrase", 7), "objects[2].phrase"),
    (_set("objects.2.phrase", "x" * 501), "objects[2].phrase"),
    (_set("objects.2.prompt", "x" * 501), "objects[2].prompt"),
    (_set("objects.2.category", "dragon"), "objects[2].category"),
    (_set("objects.2.count", 0), "objects[2].count"),
    (_set("objects.2.count", True), "objects[2].count"),
    (_set("objects.2.group", -1), "objects[2].group"),
    (_set("objects.2.attributes", "red"), "objects[2].attributes"),
    (_set("objects.1.end_box", [0.1, 0.2, 0.3]), "objects[1].end_box"),
    (_set("objects.1.end_box", [0.1, 0.2, 0.3, float("nan")]), "objects[1].end_box"),
    (_set("objects.1.end_box", [0.5, 0.2, 0.3, 0.4]), "objects[1].end_box"),
    (_set("objects.1.end_box", [0.1, 0.4, 0.3, 0.4]), "objects[1].end_box"),
    (_set("objects.1.end_box", [0.1, 0.2, 1.5, 0.4]), "objects[1].end_box"),
    (_set("objects.1.end_box", [1.0004, 0.2, 1.0009, 0.4]), "objects[1].end_box"),  # empty once clamped
    (_set("objects.1.end_box", "left"), "objects[1].end_box"),
    (_set("objects.1.end_box", [True, 0.2, 0.3, 0.4]), "objects[1].end_box"),
    (_set("relations", "none"), "relations"),
    (_set("relations.0", [0, "left of"]), "relations[0]"),
    (_set("relations.0", [0, "left of", 99]), "relations[0][2]"),
    (_set("relations.0", [-1, "left of", 1]), "relations[0][0]"),
    (_set("relations.0", [0, "inside", 1]), "relations[0][1]"),
    (_set("relations.0", [1, "left of", 1]), "relations[0]"),
])
def test_from_dict_errors_name_the_field(layout_dict, mutate, field):
    data = mutate(copy.deepcopy(layout_dict))
    with pytest.raises(LayoutError) as err:
        Layout.from_dict(data)
    assert err.value.field == field
    assert isinstance(err.value, ValueError) and str(err.value).startswith(field + ":")


def test_too_many_objects(layout_dict):
    data = copy.deepcopy(layout_dict)
    data["objects"] = [data["objects"][0]] * 65
    data["relations"] = []
    with pytest.raises(LayoutError) as err:
        Layout.from_dict(data)
    assert err.value.field == "objects"


@pytest.mark.parametrize("value, field", [([], "layout"), (None, "layout"), ("{}", "layout")])
def test_not_a_dict(value, field):
    with pytest.raises(LayoutError) as err:
        Layout.from_dict(value)
    assert err.value.field == field


@pytest.mark.parametrize("text", ["{", "nope", "[1, 2", b"{}"])
def test_from_json_rejects_bad_json(text):
    with pytest.raises(LayoutError) as err:
        Layout.from_json(text)
    assert err.value.field == "json"


def test_layout_object_is_a_plain_dataclass():
    obj = LayoutObject(phrase="a cat", noun="cat", category="cat", box=[0.1, 0.1, 0.5, 0.5])
    assert obj.center == [0.3, 0.3] and obj.count == 1 and obj.group is None and obj.prompt is None
    layout = Layout(objects=[obj], text="a cat")
    assert Layout.from_dict(layout.to_dict()) == layout


def test_the_noun_of_a_typed_phrase_is_filled_by_python(layout_dict):
    data = copy.deepcopy(layout_dict)
    del data["objects"][0]["noun"]            # the editor sends a renamed box without a noun
    data["objects"][0]["phrase"] = "  a tall red  lamp "
    assert Layout.from_dict(data).objects[0].noun == "lamp"
    assert Layout.from_dict(layout_dict).objects[0].noun == layout_dict["objects"][0]["noun"]  # kept when sent
    assert (noun_of("a big ball"), noun_of("tree"), noun_of("  ")) == ("ball", "tree", "")


@pytest.mark.parametrize("text, width, height, field", [
    ("x" * (MAX_TEXT_CHARS + 1), 512, 512, "text"), (None, 512, 512, "text"),
    ("a cat", MIN_SIDE_PX - 1, 512, "width"), ("a cat", 512, MAX_SIDE_PX + 1, "height"),
])
def test_the_predictor_enforces_the_same_limits_as_the_schema(text, width, height, field):
    with pytest.raises(LayoutError) as err:
        predict(text, width=width, height=height)
    assert err.value.field == field
    predict("x" * MAX_TEXT_CHARS, width=MIN_SIDE_PX, height=MAX_SIDE_PX)   # the bounds themselves are fine
