"""Regional modulation: in a DiT whose blocks are modulated by a pooled text vector (Flux.1's ``vector_in``), the
pooled prompt reaches every image token through the same shift, scale and gate. Inside region i the patch
modulates the image as the model modulates an image of local prompt i, blended by the region's mask and weight."""
from __future__ import annotations

import torch


def per_token(base: torch.Tensor, regional: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """``[B, N, D]`` modulation per token: ``base + alpha @ (regional - base)``.

    base:     ``[B, 1, D]`` the model's own modulation (one per sample);
    regional: ``[B, R, D]`` the modulation of each region's pooled text;
    alpha:    ``[B, N, R]`` each token's share of each region (0 outside every region and on rows left alone).
    """
    delta = regional - base
    return torch.baddbmm(base, alpha.to(delta.dtype), delta)     # one pass: base + alpha @ delta
