"""A differentiable path through ComfyUI's VAE object."""
from __future__ import annotations

from typing import Any, Callable

import torch


def vae_decoder(vae: Any) -> Callable[[torch.Tensor], torch.Tensor]:
    """Differentiable latent -> image ``[B, 3, H, W]`` in [0, 1] through ``vae.first_stage_model.decode``
    (``VAE.decode`` copies into a preallocated buffer and would cut the graph)."""
    def decode(z: torch.Tensor) -> torch.Tensor:
        image = vae.first_stage_model.decode(z.to(device=vae.device, dtype=vae.vae_dtype))
        return ((image.float() + 1.0) / 2.0).clamp(0.0, 1.0)
    return decode


def vae_module(vae: Any) -> torch.nn.Module:
    return vae.first_stage_model


def vae_patcher(vae: Any) -> Any:
    """The ModelPatcher that loads the VAE onto the compute device."""
    return vae.patcher
