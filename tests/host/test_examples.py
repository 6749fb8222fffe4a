"""Every example workflow, converted from its UI file, validates and runs in the real executor.

The checkpoint loader is swapped for a test node that hands out the tiny random models of the right family
(the graphs are otherwise unchanged), sizes and steps are made small, and SaveImage becomes PreviewImage so
runs leave nothing in the output folder. Flux.2, Qwen-Image, Z-Image, Anima and Wan come without a VAE: their VAELoader
stays and loads a random VAE file of the family's kind (support.model_files). Z-Image needs NextDiT.embed_cap
(0.33.0); on a core without it (0.3.75) its example must end in the patch's refusal. Anima exists on 0.33.0 only.
One run goes through the real CheckpointLoaderSimple with the full-size random SD1.5 checkpoint. The Wan example's
moving box: its patched video differs from the vanilla one at the box's Start position in the first latent frame
and at its End position in the last.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from support.tiny_loader import tiny_loader as register_tiny_loader
from support.workflow import EXAMPLE_DIR, example_names, make_small, specs_from_classes, ui_to_api

EXAMPLES = example_names()
TINY_LOADER = "SpaceTimeTestTinyCheckpoint"


def family(name: str) -> str:
    lowered = name.lower()
    for marker, key in (("flux.2", "flux2"), ("flux", "flux"), ("sdxl", "sdxl"), ("qwen-image", "qwen_image"),
                        ("z-image", "z_image"), ("anima", "anima"), ("wan", "wan")):
        if marker in lowered:
            return key
    return "sd15"


@pytest.fixture(scope="module")
def tiny_wan(comfy):
    from support.models_wan import tiny_wan

    return tiny_wan()


@pytest.fixture(scope="module")
def tiny_loader(comfy, tiny_sd15, tiny_sdxl, tiny_flux, tiny_flux2, tiny_qwen_image, tiny_z_image, tiny_anima,
                tiny_wan):
    """A test-only loader node with CheckpointLoaderSimple's outputs; ckpt_name picks the tiny family (Anima None
    on cores without it)."""
    models = {"sd15": tiny_sd15, "sdxl": tiny_sdxl, "flux": tiny_flux, "flux2": tiny_flux2,
              "qwen_image": tiny_qwen_image, "z_image": tiny_z_image, "anima": tiny_anima, "wan": tiny_wan}
    with register_tiny_loader(comfy, TINY_LOADER, models) as name:
        yield name


@pytest.fixture(scope="module")
def vae_files(comfy, tmp_path_factory) -> dict[str, str]:
    """The VAE file each family without a tiny VAE loads through VAELoader, in a folder the host lists."""
    import folder_paths

    from support import model_files

    folder = tmp_path_factory.mktemp("example-vaes")
    folder_paths.add_model_folder_path("vae", str(folder))
    wan21 = model_files.write_wan21_vae(folder)     # Qwen-Image's, Anima's (qwen_image_vae) and Wan 2.1's VAE
    return {"qwen_image": wan21, "anima": wan21, "wan": wan21, "z_image": model_files.write_taesd16(folder),
            "flux2": model_files.write_flux2_vae(folder)}


def z_image_refused() -> bool:
    """Whether this core's NextDiT lacks embed_cap, so the patch refuses Z-Image (tests/host/test_patch_z_image)."""
    from comfy.ldm.lumina.model import NextDiT

    return not hasattr(NextDiT, "embed_cap")


def skip_without_anima(name: str) -> None:
    import comfy.supported_models as sm

    if family(name) == "anima" and not hasattr(sm, "Anima"):
        pytest.skip("ComfyUI 0.3.75 has no Anima (comfy.supported_models.Anima arrived in 0.33)")


def api_prompt(comfy, name: str) -> dict:
    workflow = json.loads((EXAMPLE_DIR / f"{name}.json").read_text())
    return ui_to_api(workflow, specs_from_classes(comfy.nodes.NODE_CLASS_MAPPINGS))


def preview_pixels(run, node_id: str) -> np.ndarray:
    import folder_paths

    image = run.outputs[node_id]["images"][0]
    path = folder_paths.get_directory_by_type(image["type"])
    return np.asarray(Image.open(f"{path}/{image['subfolder']}/{image['filename']}"))


def ids_of(prompt: dict, kind: str) -> list[str]:
    return [nid for nid, node in prompt.items() if node["class_type"] == kind]


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_validates_and_runs_with_tiny_models(comfy, tiny_loader, vae_files, name):
    skip_without_anima(name)
    prompt = make_small(api_prompt(comfy, name), tiny_loader, family(name), vae_files.get(family(name)))
    ok, err, _, node_errors = comfy.validate(prompt)
    assert ok, (err, node_errors)
    run = comfy.run(prompt)
    if family(name) == "z_image" and z_image_refused():
        assert not run.success and "the patch does not know this model" in run.error_text(), run.error_text()
        return
    assert run.success, run.error_text()
    for node_id in ids_of(prompt, "PreviewImage"):
        assert run.outputs[node_id]["images"], f"{name}: preview {node_id} has no image"
    [layout_id] = ids_of(prompt, "SpaceTimePredictLayout")
    [used] = run.outputs[layout_id]["spacetime_layout"]
    assert used["schema"] == "spacetime-layout" and used["objects"], used


@pytest.mark.parametrize("name", [n for n in EXAMPLES if family(n) in ("flux", "flux2", "qwen_image", "z_image")])
def test_dit_examples_ship_guidance_with_step_weights_a_ramp_from_4_to_0(comfy, name):
    """The setting the DiT lab's validation split chose for the shipped region term (docs/dit-method.md): guidance
    with step weights falling linearly from 4 to 0, as on UNets."""
    prompt = api_prompt(comfy, name)
    [patch] = ids_of(prompt, "SpaceTimeAttentionPatch")
    [schedule] = ids_of(prompt, "SpaceTimeStepWeightsSchedule")
    assert prompt[patch]["inputs"]["mode"] == "guidance"
    assert prompt[patch]["inputs"]["step_weights"] == [schedule, 0]
    inputs = prompt[schedule]["inputs"]
    assert (inputs["shape"], inputs["unit"], inputs["start"], inputs["end"]) == ("linear", "absolute", 4, 0)


def test_optimized_example_with_the_clip_objective_runs_in_the_executor(comfy, tiny_loader, tmp_path):
    """The paper's objective through PromptExecutor: the example with objective clip and a tiny random CLIP."""
    import folder_paths

    from support.clip_fixtures import TINY_CLIP_NAME, write_tiny_clip

    write_tiny_clip(tmp_path / TINY_CLIP_NAME)
    folder_paths.add_model_folder_path("spacetime_clip", str(tmp_path))
    prompt = make_small(api_prompt(comfy, "Optimized weights SD1.5"), tiny_loader, "sd15")
    [loader] = ids_of(prompt, tiny_loader)
    [optimize] = ids_of(prompt, "SpaceTimeOptimizeStepWeights")
    prompt[optimize]["inputs"].update(objective="clip", clip_model=TINY_CLIP_NAME, vae=[loader, 2])
    run = comfy.run(prompt)
    assert run.success, run.error_text()
    losses = run.outputs[optimize]["spacetime_optimize"][0]["losses"]
    assert len(losses) == prompt[optimize]["inputs"]["iterations"] and all(loss == loss for loss in losses)


def test_compare_example_patched_differs_from_vanilla_on_the_same_seed(comfy, tiny_loader):
    name = "Patched vs vanilla SD1.5"
    prompt = make_small(api_prompt(comfy, name), tiny_loader, "sd15")
    samplers = ids_of(prompt, "KSampler")
    assert len({prompt[s]["inputs"]["seed"] for s in samplers}) == 1
    patched = [s for s in samplers if prompt[prompt[s]["inputs"]["model"][0]]["class_type"] != tiny_loader]
    assert len(samplers) == 2 and len(patched) == 1
    run = comfy.run(prompt)
    assert run.success, run.error_text()
    # Each sampler feeds one VAEDecode feeding one preview.
    previews = {}
    for preview in ids_of(prompt, "PreviewImage"):
        source = prompt[preview]["inputs"]["images"][0]
        if prompt[source]["class_type"] == "VAEDecode":
            previews[prompt[source]["inputs"]["samples"][0]] = preview_pixels(run, preview)
    assert set(previews) == set(samplers)
    assert not np.array_equal(previews[samplers[0]], previews[samplers[1]])


def test_basic_example_runs_through_checkpoint_loader_simple(comfy, full_sd15_checkpoint):
    prompt = make_small(api_prompt(comfy, "Layout-guided SD1.5"), None, full_sd15_checkpoint)
    run = comfy.run(prompt)
    assert run.success, run.error_text()


def saved_latent(run, node_id: str):
    """The latent a SaveLatent node wrote (removed once read, so runs leave nothing in the output folder)."""
    import folder_paths
    from safetensors.torch import load_file

    [entry] = run.outputs[node_id]["latents"]
    path = Path(folder_paths.get_directory_by_type(entry["type"])) / entry["subfolder"] / entry["filename"]
    try:
        return load_file(str(path))["latent_tensor"]
    finally:
        path.unlink()


def frame_box(start: list[float], end: list[float], frame: int, frames: int) -> list[float]:
    """Where a moving box is at one latent frame of Wan's VAE (spacetime/frames.py): linear over the 4 (frames - 1)
    + 1 pixel frames, at the mean of those the latent frame covers (frame 0: pixel frame 0; frame j: 4j-3 .. 4j)."""
    t = 0.0 if frame == 0 else (4 * frame - 1.5) / (4 * (frames - 1))
    return [a + t * (b - a) for a, b in zip(start, end)]


def hot_cells(cells):
    """The cells of a (rows, columns) map holding at least half its largest value, and their centre as fractions
    of the map (x, y)."""
    hot = cells >= 0.5 * cells.max()
    ys, xs = hot.nonzero(as_tuple=True)
    rows, cols = cells.shape
    return hot, (float((xs.float() + 0.5).mean()) / cols, float((ys.float() + 0.5).mean()) / rows)


def test_wan_example_patch_follows_the_moving_box(comfy, tiny_loader, vae_files):
    """The example's car moves from the left (Start) to the right (End, the box editor's end_box in layout_json):
    against a vanilla sampler on the same seed, each latent frame changes at the car's box for that frame (Start
    in the first, two thirds across in the last; within half a token, the grid's resolution), and little
    elsewhere. 128 x 64 px, 9 frames: 3 latent frames of 8 x 4 tokens."""
    name = "Layout-guided Wan 2.1 moving box"
    prompt = make_small(api_prompt(comfy, name), tiny_loader, "wan", vae_files["wan"])
    [latent] = ids_of(prompt, "EmptyHunyuanLatentVideo")
    prompt[latent]["inputs"].update(width=128, height=64)
    [patched] = ids_of(prompt, "KSampler")
    [patch] = ids_of(prompt, "SpaceTimeAttentionPatch")
    vanilla = "vanilla_sampler"
    prompt[vanilla] = copy.deepcopy(prompt[patched])
    prompt[vanilla]["inputs"]["model"] = prompt[patch]["inputs"]["model"]     # ModelSamplingSD3, unpatched
    for sampler in (patched, vanilla):
        prompt[f"save_{sampler}"] = {"class_type": "SaveLatent", "inputs": {
            "samples": [sampler, 0], "filename_prefix": f"spacetime_test/{sampler}"}}
    run = comfy.run(prompt)
    assert run.success, run.error_text()
    [layout_id] = ids_of(prompt, "SpaceTimePredictLayout")
    [car] = run.outputs[layout_id]["spacetime_layout"][0]["objects"]
    start, end = car["box"], car["end_box"]
    assert end[0] > start[2], (start, end)       # the edit moves the car across, the boxes apart
    diff = (saved_latent(run, f"save_{patched}") - saved_latent(run, f"save_{vanilla}")).abs().mean(dim=1)[0]
    assert diff.shape == (3, 8, 16)
    half_token = (1 / 16, 1 / 8)          # (1, 2, 2) patches: a token is 2 x 2 latent cells
    for frame, cells in enumerate(diff):
        hot, (x, y) = hot_cells(cells)
        x0, y0, x1, y1 = frame_box(start, end, frame, len(diff))
        assert x0 - half_token[0] <= x <= x1 + half_token[0] and y0 - half_token[1] <= y <= y1 + half_token[1], \
            (frame, (x, y), (x0, y0, x1, y1))
        assert cells[hot].mean() > 20 * cells[~hot].mean(), (frame, cells)
