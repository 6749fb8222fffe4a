"""The example workflows are served as templates by the real server and are valid prompts for it.

The host has no real checkpoints, so /prompt may only object to the checkpoint file names.
"""
import json

import pytest

from support.paths import PACK_DIR_NAME
from support.workflow import EXAMPLE_DIR, example_names, specs_from_object_info, ui_to_api

EXAMPLES = example_names()


def test_examples_have_thumbnails():
    assert EXAMPLES, "no example workflows"
    for name in EXAMPLES:
        thumb = EXAMPLE_DIR / f"{name}.jpg"
        assert thumb.exists() and thumb.read_bytes()[:3] == b"\xff\xd8\xff", f"{name}.jpg is not a JPEG"


def test_workflow_templates_lists_the_examples(comfy_server):
    listing = comfy_server.get_json("/api/workflow_templates")
    assert sorted(listing.get(PACK_DIR_NAME, [])) == EXAMPLES


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_is_served_and_only_lacks_checkpoints(comfy_server, name):
    served = comfy_server.get_json(f"/api/workflow_templates/{PACK_DIR_NAME}/{name}.json")
    assert served == json.loads((EXAMPLE_DIR / f"{name}.json").read_text())
    prompt = ui_to_api(served, specs_from_object_info(comfy_server.get_json("/object_info")))
    status, body = comfy_server.post_json("/prompt", {"prompt": prompt})
    # 200 when some output (the layout preview) is still valid; node_errors lists the invalid nodes either way.
    assert status in (200, 400), body
    for node_id, err in body.get("node_errors", {}).items():
        assert prompt[node_id]["class_type"] == "CheckpointLoaderSimple", (node_id, err)
        assert all(e.get("extra_info", {}).get("input_name") == "ckpt_name" for e in err["errors"]), err
