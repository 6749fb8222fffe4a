"""BOUNDING_BOXES interop (nodes/bbox_nodes.py): absent on cores without io.BoundingBoxes, exact on newer ones.

The host is ComfyUI 0.3.75, which lacks the type; a newer core is simulated by giving `io` a BoundingBoxes
stand-in and importing the module afresh under the pack's own package. The conversions themselves are unit
tests (tests/unit/test_layout_regions.py).
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
    with pytest.raises(ValueError, match=r"Bounding Boxes to Layout: bboxes\[0\]: expected numbers"):
        to_layout.execute([{"x": "left"}], 512, 512, "")
