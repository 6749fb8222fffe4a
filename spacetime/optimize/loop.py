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
            optimizer.step()
        with torch.no_grad():
            latent, final_loss = objective.final_pass(ctx)
        return OptimizeResult(weights.detach().clone(), latent.detach(), losses, final_loss)
    finally:
        weights.grad = None
        optimizer.state.clear()
