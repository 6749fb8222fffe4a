"""The real main.py serves the pack: node definitions with what the frontend shows, its JS, a clean start-up log."""
from support import node_ids
from support.paths import PACK_DIR_NAME


def test_object_info_lists_the_pack_nodes(comfy_server):
    info = comfy_server.get_json("/object_info")
    ours = {name for name, spec in info.items() if spec["python_module"] == f"custom_nodes.{PACK_DIR_NAME}"}
    assert ours == node_ids.expected_ids(node_ids.core_has_bounding_boxes(info))
    for node_id in sorted(ours):
        served = info[node_id]
        assert served["category"].startswith("conditioning/spacetime"), node_id
        assert served["display_name"] and served["display_name"] != node_id, node_id
        inputs = [(name, spec) for section in ("required", "optional")
                  for name, spec in served["input"].get(section, {}).items()]
        untold = [name for name, spec in inputs if not (len(spec) > 1 and isinstance(spec[1], dict)
                                                          and spec[1].get("tooltip"))]
        assert not untold, f"{node_id}: the frontend gets no tooltip for {untold}"


def test_start_up_log_has_no_import_failure(comfy_server):
    log = comfy_server.log()
    assert "IMPORT FAILED" not in "\n".join(line for line in log.splitlines() if PACK_DIR_NAME in line)
    assert PACK_DIR_NAME in log


def test_extensions_serve_the_pack_javascript(comfy_server):
    extensions = comfy_server.get_json("/extensions")
    ours = [path for path in extensions if path.startswith(f"/extensions/{PACK_DIR_NAME}/")]
    assert ours, extensions
    box_editor = [path for path in extensions if path.endswith("/box_editor.js")]
    assert len(box_editor) == 1, f"the web directory is served twice: {box_editor}"
    import urllib.request

    with urllib.request.urlopen(comfy_server.url + ours[0]) as resp:
        assert resp.status == 200 and b"registerExtension" in resp.read()


def test_bad_prompt_is_rejected_with_json_errors(comfy_server):
    status, body = comfy_server.post_json("/prompt", {"prompt": {
        "1": {"class_type": "SpaceTimePredictLayout", "inputs": {"text": 5}}}})
    assert status == 400 and isinstance(body, dict) and "error" in body


def test_test_servers_leave_the_hosts_own_folders_alone(comfy_server):
    """tools/run.sh serves the same host to the user: settings a test writes and models it generates stay out of
    the host's own user and models folders."""
    from support.paths import comfy_dir

    marker = "SpaceTime.TestIsolationMarker"
    assert comfy_server.post_json("/api/settings", {marker: 1})[0] == 200
    assert comfy_server.get_json("/api/settings")[marker] == 1
    host_settings = comfy_dir() / "user" / "default" / "comfy.settings.json"
    assert not host_settings.exists() or marker not in host_settings.read_text()
    assert not list((comfy_dir() / "models" / "checkpoints").glob("random_sd15*"))
