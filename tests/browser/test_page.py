"""The real frontend in headless Chromium loads the pack's JavaScript without console errors."""
import json

from support.browser import run_scenario, screenshot_path
from support.paths import REPO

PUBLIC_IDS = json.loads((REPO / "node_list.json").read_text())


def test_frontend_loads_pack_js_and_nodes(comfy_server):
    result = run_scenario("page_loads", comfy_server.url, screenshot_path("page-loads"))
    assert "spacetime.boxEditor" in result["extensions"]
    assert sorted(result["nodeTypes"]) == sorted(PUBLIC_IDS)
    assert result["errors"] == []
