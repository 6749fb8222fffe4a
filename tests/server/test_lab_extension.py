"""The lab extension installed beside the pack (as tools/provision.sh installs it) serves its own examples: they
are templates of spacetime_lab only, the server knows every node they use (the lab's loader from the lab
extension), and each runs to its two images on the lab checkpoint it names (lab/fixtures offered to the server as
a checkpoints folder, as tools/run.sh links them into the host's)."""
import json

import numpy as np
import pytest

from lab.thumbnail import example_names
from support.paths import PACK_DIR_NAME, REPO
from support.workflow import specs_from_object_info, ui_to_api

LAB_EXAMPLES = REPO / "lab" / "example_workflows"
NAMES = example_names()


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory):
    from support.server import start_server

    yaml = tmp_path_factory.mktemp("lab-models") / "extra_model_paths.yaml"
    yaml.write_text(f"spacetime_lab_tests:\n  checkpoints: {REPO / 'lab' / 'fixtures'}\n")
    server = start_server(["--extra-model-paths-config", str(yaml)])
    yield server
    server.stop()


def test_the_lab_examples_are_templates_of_the_lab_extension_only(lab_server):
    assert NAMES == ["lab_shapes", "lab_shapes_dit"]
    listing = lab_server.get_json("/api/workflow_templates")
    assert sorted(listing.get("spacetime_lab", [])) == NAMES
    assert not set(NAMES) & set(listing.get(PACK_DIR_NAME, []))
    info = lab_server.get_json("/object_info")
    assert info["SpaceTimeLabCheckpointLoader"]["python_module"] == "custom_nodes.spacetime_lab"
    for name in NAMES:
        served = lab_server.get_json(f"/api/workflow_templates/spacetime_lab/{name}.json")
        assert served == json.loads((LAB_EXAMPLES / f"{name}.json").read_text())
        assert {node["type"] for node in served["nodes"]} <= set(info), name


@pytest.mark.parametrize("name", NAMES)
def test_the_lab_example_runs_on_the_server(lab_server, name):
    """The template as the frontend queues it, at its own settings but one image per sampler: both branches save
    an image, and the patched one differs from the vanilla one of the same seed."""
    workflow = json.loads((LAB_EXAMPLES / f"{name}.json").read_text())
    prompt = ui_to_api(workflow, specs_from_object_info(lab_server.get_json("/object_info")))
    for node in prompt.values():
        if node["class_type"] == "EmptyLatentImage":
            node["inputs"]["batch_size"] = 1
    history, messages = lab_server.run_prompt(prompt, timeout=900)
    assert history.get("status", {}).get("status_str") == "success", [m for m in messages if "error" in m["type"]]
    images = {}
    for node_id, node in prompt.items():
        if node["class_type"] == "SaveImage":
            images[node["inputs"]["filename_prefix"]] = lab_server.image(history["outputs"][node_id]["images"][0])
    vanilla = images.pop(f"spacetime/{name}_vanilla")
    (patched,) = images.values()
    assert patched.shape == vanilla.shape == (256, 256, 3)
    assert np.abs(patched - vanilla).mean() > 0.005, "the patched image is the vanilla one"
