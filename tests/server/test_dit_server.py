"""The patch end to end on the DiT families through a real ComfyUI server (main.py, HTTP + websocket): loaders ->
Predict Layout -> Region Prompt Encode -> SpaceTime Attention Patch -> the family's usual sampling -> VAE Decode ->
SaveImage, beside the same graph's vanilla branch on the same seed; the images, read back over /view, must differ
inside the boxes.

Flux and SD3 load through ComfyUI's own UNETLoader, CLIPLoader and VAELoader from random-weight files in the
server's models folders (support.model_files says what each core's detection allows and why the text encoder is
CLIP-L alone). Chroma, Qwen-Image and Z-Image cannot: their detectors fix the real widths (Chroma's guidance
approximator 5120 wide with 3072-wide outputs, Qwen-Image 3072 wide with a 3584-wide text input, Z-Image 3840) and
their text encoders are built from fixed configs (T5-XXL, Qwen2.5-VL 7B, Qwen3 4B), so their MODEL and CLIP come
from the test-only loader node (support/tiny_loader.py, served by the test-only extension
support/server_nodes/spacetime_tiny_models) with support.models' tiny builds; their VAE is still the VAELoader's
file (Qwen-Image's a tiny Wan 2.1 VAE, as its real one). Flux.2 too: its text encoders (Mistral 24B, Klein's Qwen3)
are built from fixed configs, and a tiny Flux.2 would need the real width to pass detection; its VAE is a Flux.2
VAE decoder.

Flux samples as Flux.1-dev does (FluxGuidance, cfg 1, the negative zeroed out), Flux.2 as Flux.2-dev does
(FluxGuidance 4, cfg 1, EmptyFlux2LatentImage), Z-Image as Z-Image-Turbo (cfg 1),
SD3, Chroma and Qwen-Image with CFG and a negative. A new family is one entry in FAMILIES.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from support import model_files
from support.server_graphs import add_saved_branches, api_prompt, branch_change

PROMPT = "a red cat to the left of a blue dog"
TINY_LOADER = "SpaceTimeTestTinyCheckpoint"      # support/server_nodes/spacetime_tiny_models
SIZE = 64


def _next_dit_has_embed_cap() -> bool:
    """Z-Image's seam (ComfyUI 0.33.0); a core without it gets the patch's refusal (tests/host/test_patch_z_image)."""
    from comfy.ldm.lumina.model import NextDiT

    return hasattr(NextDiT, "embed_cap")


@dataclass(frozen=True)
class Family:
    cfg: float
    negative: str | None                # a negative prompt, or the prompt zeroed out (unused at cfg 1)
    flux_guidance: float | None = None  # FluxGuidance on the prompt
    # ComfyUI's own loaders: writes the diffusion model into models/diffusion_models and returns its name, and
    # CLIPLoader's type for the shared CLIP-L; without them, the test-only loader node's model of this name
    write_unet: Callable[[Path], str] | None = None
    clip_type: str = ""
    write_vae: Callable[[Path], str] = model_files.write_taesd16   # writes models/vae/<name>, returns the name
    supported: Callable[[], bool] = lambda: True   # False: the server must report the patch's refusal
    latent: str = "EmptySD3LatentImage"            # the empty latent node of the family's templates


FAMILIES = {
    "flux": Family(1.0, None, flux_guidance=3.5, write_unet=model_files.write_flux, clip_type="stable_diffusion"),
    "flux2": Family(1.0, None, flux_guidance=4.0, write_vae=model_files.write_flux2_vae,
                    latent="EmptyFlux2LatentImage"),
    "sd3": Family(4.0, "blurry, low quality", write_unet=model_files.write_sd3, clip_type="sd3"),
    "chroma": Family(4.0, "blurry, low quality"),
    "qwen_image": Family(4.0, "blurry, low quality", write_vae=model_files.write_wan21_vae),
    "z_image": Family(1.0, None, supported=_next_dit_has_embed_cap),
}


@pytest.fixture(scope="module")
def dit_server(comfy, tmp_path_factory):
    """A server of its own whose models folders hold the families' files (written here, deleted afterwards: the
    Flux file is 1 GB on cores that fix its width) and whose custom nodes include the test-only loader."""
    from support.paths import REPO
    from support.server import start_server

    root = tmp_path_factory.mktemp("dit-models")
    models = root / "models"
    clip_name = model_files.write_clip_l(models / "text_encoders")
    vaes = {write: write(models / "vae") for write in {family.write_vae for family in FAMILIES.values()}}
    files = {name: {"clip_name": clip_name, "vae_name": vaes[family.write_vae],
                    **({"unet_name": family.write_unet(models / "diffusion_models")} if family.write_unet else {})}
             for name, family in FAMILIES.items()}
    yaml = root / "extra_model_paths.yaml"
    yaml.write_text(f"spacetime_dit_tests:\n  base_path: {models}\n  diffusion_models: diffusion_models\n"
                    f"  text_encoders: text_encoders\n  vae: vae\n"
                    f"  custom_nodes: {REPO / 'tests' / 'support' / 'server_nodes'}\n")
    server = start_server(["--extra-model-paths-config", str(yaml)])
    try:
        yield server, files
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def family_prompt(object_info: dict, family: str, files: dict[str, str]) -> dict:
    """The family's graph, a patched and a vanilla branch on the same seed, each saved by a SaveImage."""
    spec = FAMILIES[family]
    if spec.write_unet:
        nodes = {"unet": ("UNETLoader", {"unet_name": files["unet_name"], "weight_dtype": "default"}),
                 "clip": ("CLIPLoader", {"clip_name": files["clip_name"], "type": spec.clip_type})}
        clip = ["clip", 0]
    else:
        nodes = {"unet": (TINY_LOADER, {"ckpt_name": family})}
        clip = ["unet", 1]
    nodes |= {
        "vae": ("VAELoader", {"vae_name": files["vae_name"]}),
        # a seed per family, so that the server's cache does not replay the layout without its UI output (the boxes)
        "layout": ("SpaceTimePredictLayout", {"text": PROMPT, "width": SIZE, "height": SIZE,
                                              "seed": list(FAMILIES).index(family), "layout_json": ""}),
        "regions": ("SpaceTimeRegionPromptEncode", {"clip": clip, "layout": ["layout", 0]}),
        "patch": ("SpaceTimeAttentionPatch", {"model": ["unet", 0], "regions": ["regions", 0]}),
        "text": ("CLIPTextEncode", {"clip": clip, "text": PROMPT}),
        "latent": (spec.latent, {"width": SIZE, "height": SIZE, "batch_size": 1}),
    }
    positive = ["text", 0]
    if spec.flux_guidance is not None:
        nodes["guided"] = ("FluxGuidance", {"conditioning": positive, "guidance": spec.flux_guidance})
        positive = ["guided", 0]
    if spec.negative is None:
        nodes["negative"] = ("ConditioningZeroOut", {"conditioning": ["text", 0]})
    else:
        nodes["negative"] = ("CLIPTextEncode", {"clip": clip, "text": spec.negative})
    add_saved_branches(nodes, family, spec.cfg, positive, ["negative", 0])
    return api_prompt(object_info, nodes)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_the_patch_runs_end_to_end_on_the_server(dit_server, family):
    server, files = dit_server
    prompt = family_prompt(server.get_json("/object_info"), family, files[family])
    history, messages = server.run_prompt(prompt, timeout=900)
    if not FAMILIES[family].supported():
        errors = [m["data"] for m in messages if m["type"] == "execution_error"]
        assert errors and errors[0]["node_id"] == "patch", errors
        assert "the patch does not know this model" in errors[0]["exception_message"], errors
        return
    assert history.get("status", {}).get("status_str") == "success", [m for m in messages if "error" in m["type"]]
    change, inside = branch_change(server, history["outputs"], SIZE)
    assert change[inside].mean() > 0.01, f"the patch left the boxes as vanilla drew them ({change[inside].mean()})"
