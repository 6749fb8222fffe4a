"""The real frontend in headless Chromium loads the pack's JavaScript without console errors."""
from support import node_ids
from support.browser import run_scenario, screenshot_path
from support.paths import PACK_DIR_NAME


def test_frontend_loads_pack_js_and_nodes(comfy_server):
    result = run_scenario("page_loads", comfy_server.url, screenshot_path("page-loads"))
    assert "spacetimeattention.boxEditor" in result["extensions"]
    info = comfy_server.get_json("/object_info")
    ours = {name for name in result["nodeTypes"] if info[name]["python_module"] == f"custom_nodes.{PACK_DIR_NAME}"}
    assert ours == node_ids.expected_ids(node_ids.core_has_bounding_boxes(info))
    assert result["errors"] == []


def test_core_box_canvas_wires_to_the_box_nodes(comfy_server):
    """In the real frontend of a 2026 core: Create Bounding Boxes (elements or bboxes) into Boxes to Layout, and
    Layout to Bounding Boxes into Draw BBoxes and back into the canvas, link without a type mismatch."""
    import pytest

    if "CreateBoundingBoxes" not in comfy_server.get_json("/object_info"):
        pytest.skip("this core has no Create Bounding Boxes (ComfyUI 0.3.75)")
    result = run_scenario("core_boxes", comfy_server.url, screenshot_path("core-boxes"))
    assert result["errors"] == []
    assert result["links"] == {"elements": True, "bboxes": True, "layoutOut": True, "draw": True,
                               "intoCanvas": True, "toEncode": True, "refused": True}
