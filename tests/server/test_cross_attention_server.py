"""The patch end to end on the cross-attention DiTs (PixArt, Cosmos-Predict2, Anima) through a real ComfyUI server
(main.py, HTTP + websocket): the test-only tiny loader -> Predict Layout -> Region Prompt Encode -> SpaceTime
Attention Patch -> KSampler with CFG and a negative -> VAELoader's VAE Decode -> SaveImage, beside the same graph's
vanilla branch on the same seed; the images, read back over /view, must differ inside the boxes.

None of them can load from small files through ComfyUI's own loaders: the detectors fix the real sizes (PixArt 1152
wide with 16 heads; Cosmos-Predict2 and Anima 1024-wide text, heads known only at widths 2048 and 5120) and the text
encoders are built from fixed configs (T5-XXL, Cosmos's old T5-XXL, Qwen3 0.6B), so their MODEL and CLIP come
from the test-only loader node (support/tiny_loader.py, served by the test-only extension
support/server_nodes/spacetime_tiny_models) with support.models' and support.models_pixart's tiny builds. Their
VAE is VAELoader's file: a random TAESD with 4 latent channels for PixArt (its latents are SD1.5's or SDXL's), a
tiny Wan 2.1 VAE for Cosmos-Predict2 and Anima (their own). Anima exists on ComfyUI 0.33.0 only."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from support import model_files
from support.server_graphs import add_saved_branches, api_prompt, branch_change

PROMPT = "a red cat to the left of a blue dog"
NEGATIVE = "blurry, low quality"
TINY_LOADER = "SpaceTimeTestTinyCheckpoint"      # support/server_nodes/spacetime_tiny_models


def _has_anima() -> bool:
    import comfy.supported_models as sm

    return hasattr(sm, "Anima")


@dataclass(frozen=True)
class Family:
    size: int                           # image side in pixels
    latent: str                         # the empty-latent node the family's graphs use
    write_vae: Callable[[Path], str]    # writes models/vae/<name>, returns the name
    available: Callable[[], bool] = lambda: True


FAMILIES = {
    # the tiny PixArt's 8 x 8 patches: 384 px is a 6 x 6 token grid (its position embedding needs a latent over 32)
    "pixart": Family(384, "EmptyLatentImage", model_files.write_taesd4),
    "cosmos": Family(128, "EmptySD3LatentImage", model_files.write_wan21_vae),
    "anima": Family(64, "EmptySD3LatentImage", model_files.write_wan21_vae, available=_has_anima),
}


@pytest.fixture(scope="module")
def xattn_server(comfy, tmp_path_factory):
    """A server of its own with the families' VAE files and the test-only loader among its custom nodes."""
    from support.paths import REPO
    from support.server import start_server

    root = tmp_path_factory.mktemp("xattn-models")
    models = root / "models"
    vaes = {write: write(models / "vae") for write in {family.write_vae for family in FAMILIES.values()}}
    yaml = root / "extra_model_paths.yaml"
    yaml.write_text(f"spacetime_xattn_tests:\n  base_path: {models}\n  vae: vae\n"
                    f"  custom_nodes: {REPO / 'tests' / 'support' / 'server_nodes'}\n")
    server = start_server(["--extra-model-paths-config", str(yaml)])
    try:
        yield server, {name: vaes[family.write_vae] for name, family in FAMILIES.items()}
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def family_prompt(object_info: dict, family: str, vae_name: str) -> dict:
    """The family's graph, a patched and a vanilla branch on the same seed, each saved by a SaveImage."""
    spec = FAMILIES[family]
    clip = ["unet", 1]
    nodes = {
        "unet": (TINY_LOADER, {"ckpt_name": family}),
        "vae": ("VAELoader", {"vae_name": vae_name}),
        # a seed per family, so that the server's cache does not replay the layout without its UI output (the boxes)
        "layout": ("SpaceTimePredictLayout", {"text": PROMPT, "width": spec.size, "height": spec.size,
                                              "seed": 100 + list(FAMILIES).index(family), "layout_json": ""}),
        "regions": ("SpaceTimeRegionPromptEncode", {"clip": clip, "layout": ["layout", 0]}),
        "patch": ("SpaceTimeAttentionPatch", {"model": ["unet", 0], "regions": ["regions", 0]}),
        "text": ("CLIPTextEncode", {"clip": clip, "text": PROMPT}),
        "negative": ("CLIPTextEncode", {"clip": clip, "text": NEGATIVE}),
        "latent": (spec.latent, {"width": spec.size, "height": spec.size, "batch_size": 1}),
    }
    add_saved_branches(nodes, family, 4.0, ["text", 0], ["negative", 0])
    return api_prompt(object_info, nodes)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_the_patch_runs_end_to_end_on_the_server(xattn_server, family):
    spec = FAMILIES[family]
    if not spec.available():
        pytest.skip(f"this core has no {family} model (ComfyUI 0.33.0 and newer)")
    server, vaes = xattn_server
    prompt = family_prompt(server.get_json("/object_info"), family, vaes[family])
    history, messages = server.run_prompt(prompt, timeout=900)
    assert history.get("status", {}).get("status_str") == "success", [m for m in messages if "error" in m["type"]]
    change, inside = branch_change(server, history["outputs"], spec.size)
    # the vanilla branch is deterministic, so any change is the patch's; the tiny Cosmos-Predict2 through its random
    # VAE moves the boxes by under 2 levels of 255 on average, so the floor is 1 level, and the boxes must change more
    # than the rest of the image (which changes only through the later blocks' self-attention)
    assert change[inside].mean() > 1 / 255, f"the patch left the boxes as vanilla drew them ({change[inside].mean()})"
    assert change[inside].mean() > change[~inside].mean(), (change[inside].mean(), change[~inside].mean())
