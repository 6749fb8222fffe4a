"""The real frontend in headless Chromium loads the pack's JavaScript without console errors."""
from support import node_ids
from support.browser import run_scenario, screenshot_path


def test_frontend_loads_pack_js_and_nodes(comfy_server):
    result = run_scenario("page_loads", comfy_server.url, screenshot_path("page-loads"))
    assert "spacetimeattention.boxEditor" in result["extensions"]
    has_boxes = node_ids.core_has_bounding_boxes(comfy_server.get_json("/object_info"))
    assert set(result["nodeTypes"]) == node_ids.expected_ids(has_boxes)
    assert result["errors"] == []
