"""The lab's loader registration claims the lab UNet and nothing else, and the fixed TAESD round-trips."""
from __future__ import annotations

import random

import numpy as np
import torch


def _detected(unet_config: dict) -> list[str]:
    import comfy.supported_models

    return [m.__name__ for m in comfy.supported_models.models if m.matches(unet_config)]


def test_registration_matches_only_the_lab_unet(comfy):
    from lab.experiment import boot_host
    from lab.model import UNET_CONFIG
    from support.models import TINY_SD15_UNET

    boot_host()
    assert _detected(UNET_CONFIG)[0] == "SpaceTimeLab"
    sd15 = dict(TINY_SD15_UNET, model_channels=320, context_dim=768)
    assert "SpaceTimeLab" not in _detected(sd15) and "SpaceTimeLab" not in _detected(TINY_SD15_UNET)


def test_registration_is_idempotent(comfy):
    import comfy.supported_models

    from lab.experiment import boot_host

    host = boot_host()
    module = host.pack_module("nodes.lab_registration")
    module.register_lab_model()
    assert [m.__name__ for m in comfy.supported_models.models].count("SpaceTimeLab") == 1


@torch.no_grad()
def test_fixed_taesd_encodes_and_decodes_the_rendered_scene(comfy):
    import comfy.sd

    from lab.model import SD15_LATENT_SCALE, fixed_taesd_state_dict, pixels_to_latent
    from lab.render import render
    from lab.scenes import random_scene

    vae = comfy.sd.VAE(sd=fixed_taesd_state_dict())
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
