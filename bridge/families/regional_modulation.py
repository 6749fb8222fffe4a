"""Flux.1's pooled-text modulation made regional (`spacetime.modulation`).

Flux.1 adds its pooled CLIP-L text (``vector_in(y)``) to the timestep embedding, and every block turns that one
vector into the shift, scale and gate of all image tokens alike. The lab showed that this path, not the text tokens,
carries an object's shape (docs/dit-method.md, "Regional modulation"), so no attention term can give two objects
their own shapes. Object patches on each selected block's ``img_mod`` (double-stream) and ``modulation``
(single-stream) give image tokens inside region i the modulation of ``vec + vector_in(pooled_i) - vector_in(y)``,
blended by the region's mask and its weight up to 1; text tokens, cells outside every region and rows the patch
leaves alone (the negative) keep the model's own. The model-call wrapper hands each call's state over for the
length of that call.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import torch

from ...spacetime.modulation import per_token
from ..runtime import SpaceTimeRuntime
from .hooks import SharedHook, chain_object_patch

FIELDS = ("shift", "scale", "gate")


@dataclass
class ModulationState:
    """One model call's regional modulation; `delta` is made by the first block that reads it, in the dtype the
    model computes `vec` in (the dtype its own ``vector_in(y)`` ran in)."""

    y: torch.Tensor             # [B, vec_in_dim] the call's pooled text
    pooled: torch.Tensor        # [R, vec_in_dim] the local prompts' pooled texts
    keep: torch.Tensor          # [B, 1, 1] 1 on the rows the patch acts on (cond), else 0
    alpha: torch.Tensor         # [B, N_grid, R] each cell's share of each region (mask x weight up to 1)
    text: int                   # text tokens in front of the image in a single-stream block
    delta: torch.Tensor | None = None   # [B, R, D] vector_in(pooled_i) - vector_in(y), 0 on rows left alone

    def delta_for(self, vector_in: torch.nn.Module, vec: torch.Tensor) -> torch.Tensor:
        if self.delta is None or self.delta.dtype != vec.dtype:
            y, pooled = self.y.to(vec.dtype), self.pooled.to(vec.dtype)
            self.delta = (vector_in(pooled)[None] - vector_in(y)[:, None]) * self.keep.to(vec.dtype)
        return self.delta


class RegionalModulation(SharedHook):
    """The object patches' shared state: set by `during` for one model call, read by every patched block."""

    def __init__(self, runtime: SpaceTimeRuntime, vector_in: torch.nn.Module, vec_in_dim: int):
        self.runtime = runtime
        self.vector_in = vector_in
        self.vec_in_dim = vec_in_dim
        self.state: ModulationState | None = None

    @contextlib.contextmanager
    def during(self, arguments: dict, call: Any) -> Iterator[None]:
        """The blocks of the model call whose bound `arguments` and `JointCall` these are read `call`'s state."""
        self.state = self._state(arguments, call)
        try:
            yield
        finally:
            self.state = None

    def _state(self, arguments: dict, call: Any) -> ModulationState | None:
        regions, runtime = self.runtime.regions, self.runtime
        kwargs = arguments.get("kwargs") or {}
        y = kwargs.get("y")
        if y is None or any(p is None for p in regions.pooled):
            return None
        if kwargs.get("ref_latents") is not None:
            runtime.warn_once("modulation_reference", "modulation: calls with reference images (Kontext) keep "
                                                      "the prompt's modulation; the attention term still acts")
            return None
        height, width = call.layout.grid
        masks = runtime.per_resolution(("regional modulation masks", height, width, str(y.device)),
                                       lambda: runtime.region_masks(height, width).to(y.device))
        # on the device once (a copy from host memory per call could wait for the GPU)
        pooled = runtime.per_resolution(("regional modulation pooled", str(y.device)),
                                        lambda: torch.cat([p.reshape(1, -1) for p in regions.pooled]).to(y.device))
        alpha = torch.zeros(y.shape[0], masks.shape[1], masks.shape[0], device=y.device)
        alpha[call.rows] = masks.t()[None] * call.weights.float().clamp(0, 1)[:, None, :]
        keep = torch.zeros(y.shape[0], 1, 1, device=y.device)
        keep[call.rows] = 1
        return ModulationState(y[:, :self.vec_in_dim], pooled[:, :self.vec_in_dim], keep, alpha,
                               call.layout.prefix + call.layout.prompt)

    def forward(self, previous: Callable, single: bool) -> Callable:
        """A ``Modulation.forward`` that returns per-token modulation while a call's state is set."""
        def modulation(vec: torch.Tensor) -> tuple:
            mods = previous(vec)
            state = self.state
            if state is None or vec.ndim != 2 or vec.shape[0] != state.y.shape[0]:
                return mods         # no call state, or a split modulation (timestep-zero reference images)
            regional = previous(vec[:, None, :] + state.delta_for(self.vector_in, vec))
            alpha = torch.nn.functional.pad(state.alpha, (0, 0, state.text, 0)) if single else state.alpha
            return tuple(None if m is None else type(m)(*(per_token(getattr(m, f), getattr(r, f), alpha)
                                                          for f in FIELDS))
                         for m, r in zip(mods, regional))
        return modulation


def install_modulation(clone: Any, runtime: SpaceTimeRuntime, blocks: frozenset | None) -> RegionalModulation | None:
    """Object patches on the modulation of the selected blocks of a Flux.1 clone; None where the setting is global
    or the model has no pooled-text input (Chroma)."""
    model = clone.model.diffusion_model
    if runtime.config.modulation != "regional" or getattr(model, "vector_in", None) is None:
        return None
    hook = RegionalModulation(runtime, model.vector_in, int(model.params.vec_in_dim))
    for kind, attribute, single in (("double", "img_mod", False), ("single", "modulation", True)):
        for i, block in enumerate(getattr(model, f"{kind}_blocks")):
            if blocks is None or (kind, i) in blocks:
                chain_object_patch(clone, f"diffusion_model.{kind}_blocks.{i}.{attribute}.forward",
                                   getattr(block, attribute), lambda previous, s=single: hook.forward(previous, s))
    return hook
