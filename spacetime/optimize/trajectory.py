"""A differentiable sampling loop: Euler (= DDIM for eps models) over the host's sigmas.

The host's samplers run without grad, so the ``clip`` objective integrates the same schedule itself. Each step is
wrapped in ``torch.utils.checkpoint``: the forward keeps only the latent between steps and the backward recomputes
one step's UNet activations at a time, so memory does not grow with the number of steps.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch.utils.checkpoint import checkpoint

from .context import Denoise


def euler_step(denoise: Denoise, x: torch.Tensor, sigma: torch.Tensor, sigma_next: torch.Tensor) -> torch.Tensor:
    """One Euler step of the probability-flow ODE, ``x + (x - x0)/sigma · (sigma' - sigma)``; sigma' = 0 returns x0."""
    s_in = x.new_ones(x.shape[0])
    denoised = denoise(x, sigma * s_in)
    if float(sigma_next) == 0.0:
        return denoised
    return x + (x - denoised) / sigma * (sigma_next - sigma)


def euler_trajectory(denoise: Denoise, x: torch.Tensor, sigmas: torch.Tensor,
                     before_step: Callable[[int], None] | None = None,
                     after_backward_step: Callable[[int], None] | None = None) -> torch.Tensor:
    """Integrate from ``x`` (at sigmas[0]) to sigmas[-1] with grad, one checkpoint per step.

    before_step(i) runs before step i (interrupt checks, progress); after_backward_step(i) runs when the backward
    pass has gone through step i (progress and interrupts during the long backward).
    """
    for i in range(int(sigmas.numel()) - 1):
        if before_step is not None:
            before_step(i)
        x = checkpoint(euler_step, denoise, x, sigmas[i], sigmas[i + 1], use_reentrant=False)
        if after_backward_step is not None and x.requires_grad:
            x.register_hook(_backward_hook(after_backward_step, i))
    return x


def _backward_hook(fn: Callable[[int], None], i: int):
    def hook(grad: torch.Tensor) -> None:
        fn(i)
    return hook
