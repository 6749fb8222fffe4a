"""The contract between the optimisation code and whatever host runs the diffusion model.

The objectives never see ComfyUI: the bridge hands them a `SamplingContext` built inside a running sampler call, so
conditioning, CFG, model patches and model loading are exactly those of a normal ComfyUI sample.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch

# x0-prediction of the CFG-combined model: (x [B, C, H, W], sigma [B]) -> denoised [B, C, H, W]. Differentiable
# w.r.t. the step weights when called with grad enabled.
Denoise = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
# Wraps one model call of the host sampler: (denoise, x, sigma) -> denoised.
CallWrapper = Callable[[Denoise, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class SamplingContext:
    """What an objective may use.

    denoise:   the CFG-combined, patched model as an x0 predictor.
    x_start:   the noised starting latent x_T (already scaled by sigmas[0]).
    sigmas:    the sampler's schedule, ``[S + 1]``, ending at 0 for a full denoise.
    sample:    runs the host's chosen sampler (no grad) from x over the given sigmas; an optional CallWrapper sees
               every model call (multi-evaluation samplers call it several times per step). Returns the final x.
    progress:  sigma -> denoising progress in [0, 1] (0 = pure noise), the step-weight grid's axis.
    check_interrupt: raises the host's cancel exception when the user pressed Cancel.
    tick:      advances the progress bar by one unit.
    decode:    latent x (model space, as the sampler sees it) -> image ``[B, 3, H, W]`` in [0, 1], differentiable;
               None when no VAE was given.
    """

    denoise: Denoise
    x_start: torch.Tensor
    sigmas: torch.Tensor
    sample: Callable[[torch.Tensor, torch.Tensor, Optional[CallWrapper]], torch.Tensor]
    progress: Callable[[torch.Tensor], torch.Tensor]
    check_interrupt: Callable[[], None]
    tick: Callable[[int], None]
    decode: Optional[Callable[[torch.Tensor], torch.Tensor]] = None

    @property
    def steps(self) -> int:
        return int(self.sigmas.numel()) - 1
