"""The 5-component bivariate Gaussian mixture over object centres, shared by the paper and trained heads.

LayoutTransformer's `GMM_head` emits 30 numbers per token, split into six consecutive groups of five:
pi logits, mux, muy, log sigmax, log sigmay, rho (`get_gmm_params`). mu is left raw (no sigmoid), as in the paper;
callers clamp decoded centres. The two training losses of the paper live here too, next to the
parametrisation they depend on.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch

COMPONENTS = 5
PARAMS_PER_COMPONENT = 6
RELATIONS = ("left of", "right of", "above", "below")


class Mixture(NamedTuple):
    """Mixture parameters, each `[..., COMPONENTS]`."""

    pi: torch.Tensor
    mu_x: torch.Tensor
    mu_y: torch.Tensor
    sigma_x: torch.Tensor
    sigma_y: torch.Tensor
    rho: torch.Tensor


def split(raw: torch.Tensor) -> Mixture:
    """Raw head output `[..., 30]` -> mixture (softmax pi, exp sigma, tanh rho clamped to ±0.95, as the paper)."""
    logits, mu_x, mu_y, log_sx, log_sy, rho = torch.split(raw, COMPONENTS, dim=-1)
    return Mixture(torch.softmax(logits, -1), mu_x, mu_y, log_sx.exp(), log_sy.exp(),
                   torch.tanh(rho).clamp(-0.95, 0.95))


def most_likely_mean(mix: Mixture) -> torch.Tensor:
    """`[..., 2]` mean of the component with the largest pi: the deterministic decoding."""
    index = mix.pi.argmax(-1, keepdim=True)
    return torch.cat([mix.mu_x.gather(-1, index), mix.mu_y.gather(-1, index)], -1)


def sampled_mean(mix: Mixture, generator: torch.Generator) -> torch.Tensor:
    """`[..., 2]` mean of a component drawn from pi (the paper's `GREEDY` decoding), seeded."""
    flat = mix.pi.reshape(-1, COMPONENTS)
    index = torch.multinomial(flat, 1, generator=generator).reshape(*mix.pi.shape[:-1], 1)
    return torch.cat([mix.mu_x.gather(-1, index), mix.mu_y.gather(-1, index)], -1)


def nll(mix: Mixture, xy: torch.Tensor) -> torch.Tensor:
    """Per-point `-log(sum_k pi_k N(xy; mu_k, Sigma_k) + 1e-5)` (the paper's `Customized_Gmm_Loss`); xy `[..., 2]`."""
    x, y = xy[..., :1], xy[..., 1:2]
    zx = (x - mix.mu_x) / mix.sigma_x
    zy = (y - mix.mu_y) / mix.sigma_y
    one_minus = 1 - mix.rho ** 2
    exponent = -(zx ** 2 + zy ** 2 - 2 * mix.rho * zx * zy) / (2 * one_minus)
    norm = 2 * math.pi * mix.sigma_x * mix.sigma_y * one_minus.sqrt()
    density = (mix.pi * exponent.exp() / norm).sum(-1)
    return -torch.log(density + 1e-5)


def relation_hinge(first: Mixture, second: Mixture, relation: str, margin: float = 0.2) -> torch.Tensor:
    """The paper's `Customized_Hinge_Loss` for "first <relation> second" (y points down).

    e.g. above: `max(max_k muy(first) - min_k muy(second), -margin)`, over all component means, unweighted.
    """
    if relation == "above":
        diff = first.mu_y.amax(-1) - second.mu_y.amin(-1)
    elif relation == "below":
        diff = second.mu_y.amax(-1) - first.mu_y.amin(-1)
    elif relation == "left of":
        diff = first.mu_x.amax(-1) - second.mu_x.amin(-1)
    elif relation == "right of":
        diff = second.mu_x.amax(-1) - first.mu_x.amin(-1)
    else:
        raise ValueError(f"unknown relation {relation!r}; expected one of {RELATIONS}")
    return diff.clamp(min=-margin)
