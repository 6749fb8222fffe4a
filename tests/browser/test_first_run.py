"""A new user's first run in both renderers: the main example shows predicted boxes, a moved box is what the
server uses, and queueing the graph gives an image."""
import json

import pytest

from support.browser import run_scenario, screenshot_path
from support.workflow import EXAMPLE_DIR

pytestmark = pytest.mark.fullsize


@pytest.mark.parametrize("mode", ["classic", "vue"])
def test_main_example_queues_to_an_image_with_the_moved_box(comfy_server, full_sd15_checkpoint, mode):
    result = run_scenario("queue_example", comfy_server.url, str(EXAMPLE_DIR / "Layout-guided SD1.5.json"),
                          full_sd15_checkpoint, screenshot_path(f"first-run-{mode}"), mode, timeout=400)
    assert result["errors"] == []
    assert result["moved"][0] > result["before"][0] and result["moved"][1] < result["before"][1]
    sent = json.loads(result["sentLayout"])
    assert sent["objects"][0]["box"] == pytest.approx(result["moved"], abs=1e-3)
    assert result["status"] == "success", result
    assert result["images"], "no image came back"
    assert result["shownAfterRun"]["objects"][0]["box"] == pytest.approx(result["moved"], abs=1e-3)
