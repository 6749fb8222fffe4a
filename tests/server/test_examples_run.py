"""The main example workflows run to an image on the real server (HTTP + websocket), with the full-size
random-weight SD1.5 checkpoint in place of the user's, at 64 px and 2 steps."""
import json

import pytest

from support.workflow import EXAMPLE_DIR, make_small, specs_from_object_info, ui_to_api

pytestmark = pytest.mark.fullsize


@pytest.mark.parametrize("name", ["Layout-guided SD1.5", "Optimized weights SD1.5"])
def test_example_runs_to_an_image(comfy_server, full_sd15_checkpoint, name):
    workflow = json.loads((EXAMPLE_DIR / f"{name}.json").read_text())
    prompt = make_small(ui_to_api(workflow, specs_from_object_info(comfy_server.get_json("/object_info"))),
                        None, full_sd15_checkpoint)
    history, messages = comfy_server.run_prompt(prompt, timeout=600)
    assert history.get("status", {}).get("status_str") == "success", [m for m in messages if "error" in m["type"]]
    outputs = history["outputs"]
    layout_node = next(k for k, v in prompt.items() if v["class_type"] == "SpaceTimePredictLayout")
    cached = [n for m in messages if m["type"] == "execution_cached" for n in m["data"]["nodes"]]
    if layout_node not in cached:      # a node reused from the previous prompt's cache reports no UI output
        assert [o["noun"] for o in outputs[layout_node]["spacetime_layout"][0]["objects"]] == ["cat", "dog"]
    assert any(out.get("images") for node, out in outputs.items() if prompt[node]["class_type"] == "PreviewImage")
    kinds = [m["type"] for m in messages]
    assert "execution_start" in kinds and "progress" in kinds


def test_optimize_with_the_clip_objective_runs_on_the_server(comfy_server, full_sd15_checkpoint):
    """The paper's objective end to end: back-propagation through sampling, the VAE and a (tiny) CLIP model."""
    from support.clip_fixtures import TINY_CLIP_NAME

    workflow = json.loads((EXAMPLE_DIR / "Optimized weights SD1.5.json").read_text())
    prompt = make_small(ui_to_api(workflow, specs_from_object_info(comfy_server.get_json("/object_info"))),
                        None, full_sd15_checkpoint)
    loader = next(k for k, v in prompt.items() if v["class_type"] == "CheckpointLoaderSimple")
    optimize = next(k for k, v in prompt.items() if v["class_type"] == "SpaceTimeOptimizeStepWeights")
    prompt[optimize]["inputs"].update(objective="clip", clip_model=TINY_CLIP_NAME, vae=[loader, 2], iterations=1)
    history, messages = comfy_server.run_prompt(prompt, timeout=900)
    assert history.get("status", {}).get("status_str") == "success", [m for m in messages if "error" in m["type"]]
    report = history["outputs"][optimize]["spacetime_optimize"][0]
    assert len(report["losses"]) == 1 and report["losses"][0] == report["losses"][0]
