"""The optimisation loop shared by both objectives.

Pass structure (the paper's, without its wasted update): ``iterations`` gradient passes, each followed by one Adam
step, then one final pass with the final weights, whose latent is the node's output. With ``iterations = 2`` this is
the official code's 3 epochs / 2 effective updates, except that the image comes from the weights that are returned.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import torch

from .context import SamplingContext


class Objective(Protocol):
    """One way of scoring the weights. Losses are minimised; lower is better."""

    name: str

    def gradient_pass(self, ctx: SamplingContext, weights: torch.Tensor) -> float:
        """Run one pass, accumulate d loss / d weights into ``weights.grad``, return the pass's loss."""

    def final_pass(self, ctx: SamplingContext) -> tuple[torch.Tensor, float | None]:
        """Sample with the current weights (no grad): the final latent and, when cheap, its loss."""

    def passes_ticks(self, ctx: SamplingContext) -> int:
        """Progress-bar units of one gradient pass."""


@dataclass
class OptimizeResult:
    weights: torch.Tensor                 # [R, G], detached
    latent: torch.Tensor                  # final pass, model space
    losses: list[float] = field(default_factory=list)   # one per gradient pass
    final_loss: float | None = None       # loss of the final weights, when the objective measures it


def total_ticks(objective: Objective, ctx: SamplingContext, iterations: int) -> int:
    """Progress-bar length: every gradient pass plus the final sampling pass."""
    return iterations * objective.passes_ticks(ctx) + ctx.steps


def optimize(weights: torch.Tensor, objective: Objective, ctx: SamplingContext, iterations: int,
             learning_rate: float, where: str = "Optimize Step Weights") -> OptimizeResult:
    """Adam on `weights` (a leaf tensor with ``requires_grad``, already installed in the patched model).

    Raises ValueError naming `where` when a loss or gradient is NaN/infinite (the weights are left at their last
    finite values). Gradients are always cleared on exit, so an interrupted run leaves no autograd graph behind.
    """
    if iterations < 1:
        raise ValueError(f"{where}: iterations must be at least 1, got {iterations}")
    if not (learning_rate > 0 and math.isfinite(learning_rate)):
        raise ValueError(f"{where}: learning_rate must be a positive number, got {learning_rate}")
    if not weights.requires_grad or weights.grad_fn is not None:
        raise ValueError(f"{where}: internal error, the weights must be a leaf tensor with requires_grad")
    optimizer = torch.optim.Adam([weights], lr=learning_rate)
    losses: list[float] = []
    initial = weights.detach().clone()
    touched = torch.zeros(weights.shape[-1], dtype=torch.bool, device=weights.device)
    try:
        for it in range(iterations):
            optimizer.zero_grad(set_to_none=True)
            loss = objective.gradient_pass(ctx, weights)
            if not math.isfinite(loss):
                raise ValueError(f"{where}: objective '{objective.name}' gave a {loss} loss at iteration {it + 1}; "
                                 "lower learning_rate, or check the conditioning and regions for NaN values")
            grad = weights.grad
            if grad is None:
                raise ValueError(f"{where}: objective '{objective.name}' gave the weights no gradient (no model call "
                                 "in the pass depended on them); check that the regions lie inside the image")
            if not bool(torch.isfinite(grad).all()):
                raise ValueError(f"{where}: objective '{objective.name}' gave a NaN/infinite gradient at iteration "
                                 f"{it + 1}; lower learning_rate or try the other objective")
            losses.append(float(loss))
            touched |= (grad != 0).reshape(-1, grad.shape[-1]).any(0)
            optimizer.step()
        with torch.no_grad():
            weights.copy_(fill_between_knots(weights.detach(), initial, touched))
            latent, final_loss = objective.final_pass(ctx)
        return OptimizeResult(weights.detach().clone(), latent.detach(), losses, final_loss)
    finally:
        weights.grad = None
        optimizer.state.clear()


def fill_between_knots(values: torch.Tensor, initial: torch.Tensor, touched: torch.Tensor) -> torch.Tensor:
    """Spread the update over the grid columns that lie between the sampler's steps.

    A pass only gives gradients to the grid columns next to the steps it sampled, so the raw update is a comb of
    spikes that would mean something else at another step count. Between the first and the last touched column,
    the change of every untouched column is interpolated linearly from its touched neighbours; columns outside
    that span keep their initial values. Values at the sampled steps are unchanged (they only read touched
    columns), so the final pass samples exactly what was optimised.
    """
    knots = touched.nonzero().flatten()
    if knots.numel() < 2:
        return values
    delta = values - initial
    cols = torch.arange(values.shape[-1], device=values.device)
    inside = (cols > knots[0]) & (cols < knots[-1]) & ~touched
    gaps = cols[inside]
    right = knots[torch.searchsorted(knots, gaps)]
    left = knots[torch.searchsorted(knots, gaps) - 1]
    t = ((gaps - left).to(values.dtype) / (right - left).to(values.dtype))
    filled = delta.clone()
    filled[..., gaps] = delta[..., left] * (1 - t) + delta[..., right] * t
    return initial + filled
