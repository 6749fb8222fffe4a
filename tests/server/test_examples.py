"""The example workflows are served as templates by the real server and are valid prompts for it.

The host has no real model files, so /prompt may only object to the model file names its loaders were given
(checkpoints; for DiT graphs the diffusion model, text encoders and VAE).
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
def test_example_is_served_and_only_lacks_model_files(comfy_server, name):
    served = comfy_server.get_json(f"/api/workflow_templates/{PACK_DIR_NAME}/{name}.json")
    assert served == json.loads((EXAMPLE_DIR / f"{name}.json").read_text())
    info = comfy_server.get_json("/object_info")
    prompt = ui_to_api(served, specs_from_object_info(info))
    status, body = comfy_server.post_json("/prompt", {"prompt": prompt})
    # 200 when some output (the layout preview) is still valid, 400 when none is; node_errors lists the invalid
    # nodes either way, and they must be exactly the loaders of model files this host lacks.
    assert status == 200 or (status == 400 and body["error"]["type"] == "prompt_outputs_failed_validation"), body
    missing = {node_id for node_id, node in prompt.items() if node["class_type"] in MODEL_FILE_INPUTS
               and any(node["inputs"][name] not in _choices(info, node["class_type"], name)
                       for name in MODEL_FILE_INPUTS[node["class_type"]])}
    assert set(body.get("node_errors", {})) == missing, body
    for node_id, err in body.get("node_errors", {}).items():
        names = MODEL_FILE_INPUTS[prompt[node_id]["class_type"]]
        assert all(e.get("extra_info", {}).get("input_name") in names for e in err["errors"]), err


# loader inputs that name a model file
MODEL_FILE_INPUTS = {"CheckpointLoaderSimple": ("ckpt_name",), "UNETLoader": ("unet_name",),
                     "CLIPLoader": ("clip_name",), "DualCLIPLoader": ("clip_name1", "clip_name2"),
                     "VAELoader": ("vae_name",)}


def _choices(object_info: dict, node: str, name: str) -> list[str]:
    """The files the server offers for a loader input (a plain list on 0.3.x cores, a COMBO with options on
    newer)."""
    spec = object_info[node]["input"]["required"][name]
    return spec[0] if isinstance(spec[0], list) else spec[1]["options"]
