"""The lab is a user of the pack: importing the pack (and the lab extension) adds nothing to ComfyUI's model
registry, the lab checkpoint loads through the lab's own node, and the lab's fixed TAESD round-trips."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

FIXTURE = Path(__file__).resolve().parents[2] / "lab" / "fixtures" / "spacetime_lab.safetensors"
LOADER = "SpaceTimeLabCheckpointLoader"


def test_booting_the_pack_and_the_lab_leaves_the_model_registry_as_comfyui_defines_it(comfy):
    import comfy.supported_models as supported_models

    assert LOADER in comfy.nodes.NODE_CLASS_MAPPINGS, "the lab extension is not loaded in this host"
    foreign = [f"{m.__module__}.{m.__name__}" for m in supported_models.models
               if m.__module__ != "comfy.supported_models"]
    assert foreign == []


def test_lab_loader_node_has_a_category_and_tooltips(comfy):
    schema = comfy.node_class(LOADER).define_schema()
    assert schema.category == "spacetime/lab" and schema.display_name == "Load SpaceTime Lab Checkpoint"
    assert all(inp.tooltip for inp in schema.inputs) and all(out.tooltip for out in schema.outputs)


def test_lab_loader_refuses_a_checkpoint_of_another_model(comfy, tmp_path):
    from safetensors.torch import save_file

    checkpoint = comfy.sibling_module(LOADER, "checkpoint")
    path = tmp_path / "not_lab.safetensors"
    save_file({"model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight":
               torch.zeros(32, 768)}, str(path))
    with pytest.raises(ValueError, match="not a lab checkpoint"):
        checkpoint.load_lab_checkpoint(path)


@pytest.mark.skipif(not FIXTURE.exists(), reason="lab/fixtures/spacetime_lab.safetensors is not there")
def test_checkpoint_loader_simple_does_not_know_the_lab_model(comfy):
    """Only the lab's node loads the lab model: ComfyUI's own loader finds no config for it in its registry."""
    import comfy.sd as sd

    with pytest.raises(RuntimeError, match="Could not detect model type"):
        sd.load_checkpoint_guess_config(str(FIXTURE))


@torch.no_grad()
def test_fixed_taesd_encodes_and_decodes_the_rendered_scene(comfy):
    import comfy.sd as sd

    from lab.render import render
    from lab.scenes import random_scene

    model = comfy.sibling_module(LOADER, "model")
    SD15_LATENT_SCALE, pixels_to_latent = model.SD15_LATENT_SCALE, model.pixels_to_latent
    vae = sd.VAE(sd=model.fixed_taesd_state_dict())
    scene = random_scene(random.Random(3), n_objects=3)
    big = torch.from_numpy(render(scene, 256))[None]
    small = torch.from_numpy(render(scene))[None].permute(0, 3, 1, 2)
    latent = vae.encode(big) * SD15_LATENT_SCALE
    assert tuple(latent.shape) == (1, 4, 32, 32)
    assert (latent - pixels_to_latent(small)).abs().mean() < 0.02
    decoded = vae.decode(pixels_to_latent(small) / SD15_LATENT_SCALE)
    assert tuple(decoded.shape) == (1, 256, 256, 3)
    assert float((decoded - big).abs().mean()) < 0.04
    assert np.isclose(float(decoded.min()), 0.0, atol=0.02)
