"""The lab extension installed beside the pack (as tools/provision.sh installs it) serves its own example:
lab_shapes is a template of spacetime_lab only, and the server knows every node it uses, the lab's loader from
the lab extension."""
import json

from support.paths import PACK_DIR_NAME, REPO

LAB_SHAPES = REPO / "lab" / "example_workflows" / "lab_shapes.json"


def test_lab_shapes_is_a_template_of_the_lab_extension_only(comfy_server):
    listing = comfy_server.get_json("/api/workflow_templates")
    assert listing.get("spacetime_lab") == ["lab_shapes"]
    assert "lab_shapes" not in listing.get(PACK_DIR_NAME, [])
    served = comfy_server.get_json("/api/workflow_templates/spacetime_lab/lab_shapes.json")
    assert served == json.loads(LAB_SHAPES.read_text())
    info = comfy_server.get_json("/object_info")
    assert info["SpaceTimeLabCheckpointLoader"]["python_module"] == "custom_nodes.spacetime_lab"
    assert {node["type"] for node in served["nodes"]} <= set(info)
