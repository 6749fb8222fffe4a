"""The main example workflows run to an image on the real server (HTTP + websocket) at 64 px and 2 steps: the SD1.5
ones with the full-size random-weight SD1.5 checkpoint in place of the user's; the Flux.2, Qwen-Image, Z-Image, Anima
and Wan ones with tiny models in place of their diffusion model and text encoder (the test-only loader node of
support/server_nodes/spacetime_tiny_models: these families' detectors and text encoders are fixed at the real
widths, tests/server/test_dit_server.py) and their VAELoader loading a random VAE file of the family's kind. The
Wan example is a video (9 frames at 64 px) whose car moves; Anima needs ComfyUI 0.33."""
import json
import shutil

import pytest

from support.workflow import EXAMPLE_DIR, make_small, specs_from_object_info, ui_to_api

TINY_LOADER = "SpaceTimeTestTinyCheckpoint"      # support/server_nodes/spacetime_tiny_models
DIT_EXAMPLES = {"Layout-guided Flux.2-dev": "flux2", "Layout-guided Flux.2-klein": "flux2",
                "Layout-guided Qwen-Image": "qwen_image",
                "Layout-guided Z-Image": "z_image", "Layout-guided Anima": "anima",
                "Layout-guided Wan 2.1 moving box": "wan"}
# what Predict Layout finds in each example's prompt; the Wan example's car has the box editor's end box
NOUNS = {"wan": ["car"]}
FRAMES = {"wan": 9}         # make_small's video length; the images are the frames


@pytest.mark.fullsize
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


@pytest.mark.fullsize
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


@pytest.fixture(scope="module")
def dit_example_server(comfy, tmp_path_factory):
    """A server of its own with the test-only loader node among its custom nodes and the families' VAE files in its
    models folder; yields it and the VAE file name of each family."""
    from support import model_files
    from support.paths import REPO
    from support.server import start_server

    root = tmp_path_factory.mktemp("dit-example-models")
    wan21 = model_files.write_wan21_vae(root / "vae")        # Qwen-Image's, Anima's and Wan 2.1's VAE
    vaes = {"qwen_image": wan21, "anima": wan21, "wan": wan21, "z_image": model_files.write_taesd16(root / "vae"),
            "flux2": model_files.write_flux2_vae(root / "vae")}
    yaml = root / "extra_model_paths.yaml"
    yaml.write_text(f"spacetime_example_tests:\n  base_path: {root}\n  vae: vae\n"
                    f"  custom_nodes: {REPO / 'tests' / 'support' / 'server_nodes'}\n")
    server = start_server(["--extra-model-paths-config", str(yaml)])
    try:
        yield server, vaes
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _z_image_refused() -> bool:
    """Whether this core's NextDiT lacks embed_cap, so the patch refuses Z-Image (tests/host/test_patch_z_image)."""
    from comfy.ldm.lumina.model import NextDiT

    return not hasattr(NextDiT, "embed_cap")


@pytest.mark.parametrize("name", list(DIT_EXAMPLES))
def test_dit_example_runs_to_an_image_with_tiny_models(dit_example_server, name):
    server, vaes = dit_example_server
    family = DIT_EXAMPLES[name]
    if family == "anima" and "anima" not in _tiny_families(server):
        pytest.skip("ComfyUI 0.3.75 has no Anima (comfy.supported_models.Anima arrived in 0.33)")
    workflow = json.loads((EXAMPLE_DIR / f"{name}.json").read_text())
    prompt = make_small(ui_to_api(workflow, specs_from_object_info(server.get_json("/object_info"))),
                        TINY_LOADER, family, vaes[family])
    history, messages = server.run_prompt(prompt, timeout=900)
    if family == "z_image" and _z_image_refused():
        errors = [m["data"] for m in messages if m["type"] == "execution_error"]
        patch = next(k for k, v in prompt.items() if v["class_type"] == "SpaceTimeAttentionPatch")
        assert errors and errors[0]["node_id"] == patch, errors
        assert "the patch does not know this model" in errors[0]["exception_message"], errors
        return
    assert history.get("status", {}).get("status_str") == "success", [m for m in messages if "error" in m["type"]]
    outputs = history["outputs"]
    layout_node = next(k for k, v in prompt.items() if v["class_type"] == "SpaceTimePredictLayout")
    cached = [n for m in messages if m["type"] == "execution_cached" for n in m["data"]["nodes"]]
    if layout_node not in cached:      # the other example's layout (same text and size) may be reused, silently
        [used] = outputs[layout_node]["spacetime_layout"]
        assert [o["noun"] for o in used["objects"]] == NOUNS.get(family, ["cat", "dog"])
        assert all(("end_box" in o) == (family == "wan") for o in used["objects"]), used
    [decoded] = [node for node, out in outputs.items() if prompt[node]["class_type"] == "PreviewImage"
                 and prompt[prompt[node]["inputs"]["images"][0]]["class_type"] == "VAEDecode"]
    assert len(outputs[decoded]["images"]) == FRAMES.get(family, 1)
    image = server.image(outputs[decoded]["images"][-1])
    assert image.shape == (64, 64, 3) and image.std() > 0.01, "the decoded image is flat"


def _tiny_families(server) -> list[str]:
    """The families the server's tiny loader offers (Anima only on cores that have it)."""
    spec = server.get_json(f"/object_info/{TINY_LOADER}")[TINY_LOADER]["input"]["required"]["ckpt_name"]
    return spec[0] if isinstance(spec[0], list) else spec[1]["options"]
