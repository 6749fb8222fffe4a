"""BOUNDING_BOXES interop (nodes/bbox_nodes.py): absent on cores without io.BoundingBoxes, exact on newer ones.

The host is ComfyUI 0.3.75, which lacks the type; a newer core is simulated by giving `io` a BoundingBoxes
stand-in and importing the module afresh under the pack's own package.
"""
from __future__ import annotations

import importlib
import sys

import pytest


@pytest.fixture
def bbox_module(comfy):
    name = f"{comfy.pack_name}.nodes.bbox_nodes"
    sys.modules.pop(name, None)
    yield lambda: importlib.import_module(name)
    sys.modules.pop(name, None)


def test_no_nodes_on_a_core_without_bounding_boxes(bbox_module):
    from comfy_api.latest import io

    assert not hasattr(io, "BoundingBoxes")
    assert bbox_module().NODES == []


def test_round_trip_keeps_boxes_names_and_local_prompts(bbox_module):
    module = bbox_module()
    layout = module.Layout.from_dict({
        "schema": "spacetime-layout", "version": 1, "width": 640, "height": 480, "text": "a cat and a dog",
        "objects": [{"phrase": "a cat", "box": [0.1, 0.2, 0.5, 0.9]},
                    {"phrase": "a dog", "box": [0.5, 0.25, 0.95, 0.75], "prompt": "a fluffy dog"}],
        "relations": [[0, "left of", 1]]})
    boxes = module.layout_to_boxes(layout)
    assert boxes[0] == {"x": 64, "y": 96, "width": 256, "height": 336, "metadata": {"text": "a cat", "desc": ""}}
    back = module.boxes_to_layout(boxes, 640, 480, "a cat and a dog")
    assert [o.phrase for o in back.objects] == ["a cat", "a dog"]
    assert [o.prompt for o in back.objects] == [None, "a fluffy dog"]
    for a, b in zip(back.objects, layout.objects):
        assert a.box == pytest.approx(b.box, abs=1 / 480)


def test_boxes_outside_or_empty_are_dropped_and_bad_input_names_the_box(bbox_module):
    module = bbox_module()
    layout = module.boxes_to_layout([[{"x": -10, "y": 0, "width": 60, "height": 100},
                                      {"x": 600, "y": 0, "width": 50, "height": 50},
                                      {"x": 0, "y": 0, "width": 0, "height": 10}]], 512, 512)
    assert len(layout.objects) == 1 and layout.objects[0].box[0] == 0.0
    assert layout.objects[0].phrase == "object 1"
    with pytest.raises(module.LayoutError) as err:
        module.boxes_to_layout([{"x": 1}], 512, 512)
    assert err.value.field == "bboxes[0]"


def test_nodes_exist_and_run_on_a_core_with_bounding_boxes(bbox_module, monkeypatch):
    from comfy_api.latest import io

    monkeypatch.setattr(io, "BoundingBoxes", io.Custom("BOUNDING_BOXES"), raising=False)
    module = bbox_module()
    ids = [cls.define_schema().node_id for cls in module.NODES]
    assert ids == ["SpaceTimeLayoutToBoundingBoxes", "SpaceTimeBoxesToLayout"]
    to_layout = module.NODES[1]
    out = to_layout.execute([{"x": 0, "y": 0, "width": 256, "height": 512, "metadata": {"text": "a tree"}}],
                            512, 512, "a tree")
    layout = out.args[0] if hasattr(out, "args") else out.result[0]
    assert layout.objects[0].phrase == "a tree" and layout.objects[0].box == [0.0, 0.0, 0.5, 1.0]
    boxes = module.NODES[0].execute(layout)
    boxes = boxes.args[0] if hasattr(boxes, "args") else boxes.result[0]
    assert boxes == [{"x": 0, "y": 0, "width": 256, "height": 512, "metadata": {"text": "a tree", "desc": ""}}]
