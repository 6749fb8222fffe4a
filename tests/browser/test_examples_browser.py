"""Every example workflow loads in the real frontend from Browse Templates' route, in both node renderers:
no missing node types, no dialog, the box editor shows boxes for the linked prompt, and the API prompt the
frontend would queue equals what tests/support/workflow.py makes of the file (the headless tests rely on it).
"""
import json

import pytest

from support.browser import run_scenario
from support.paths import PACK_DIR_NAME, artifacts_dir
from support.workflow import EXAMPLE_DIR, example_names, specs_from_object_info, ui_to_api

EXAMPLES = example_names()


@pytest.mark.parametrize("mode", ["classic", "vue"])
def test_examples_load_show_boxes_and_match_the_converter(comfy_server, mode):
    result = run_scenario("examples", comfy_server.url, PACK_DIR_NAME, str(artifacts_dir()), mode)
    assert result["errors"] == []
    assert sorted(result["names"]) == EXAMPLES
    specs = specs_from_object_info(comfy_server.get_json("/object_info"))
    for name, info in result["workflows"].items():
        assert info["missing"] == [], name
        assert info["dialogs"] == [], name
        assert info["editor"]["objects"], f"{name}: the box editor shows no boxes ({info['editor']['status']})"
        queued = {nid: {"class_type": n["class_type"], "inputs": n["inputs"]} for nid, n in info["prompt"].items()}
        workflow = json.loads((EXAMPLE_DIR / f"{name}.json").read_text())
        assert ui_to_api(workflow, specs) == queued, name
