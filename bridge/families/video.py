"""What the video DiT families (Cosmos-Predict2, Wan) share: a DIFFUSION_MODEL wrapper that puts each model call's
token grid into the transformer options, and the reading of one cross-attention call over a video's tokens, in
(frame, row, column) order, which `SpaceTimeRuntime.apply_video` combines frame-aware."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from ...spacetime.frames import TimeScale
from ..call_facts import CallFacts, Skip, split_chunks
from .hooks import SharedHook


@dataclass(frozen=True)
class VideoGrid:
    """A model call's tokens: `latent_frames` latent frames in token frames of `scale.patch`, each ``h x w``."""
    latent_frames: int
    h: int
    w: int
    scale: TimeScale

    @property
    def frames(self) -> int:
        return math.ceil(self.latent_frames / self.scale.patch)

    @property
    def tokens(self) -> int:
        return self.frames * self.h * self.w


def video_grid(x: torch.Tensor, patch: tuple[int, int, int], scale: TimeScale) -> VideoGrid:
    """The grid a ``[B, C, T, H, W]`` latent becomes in ``(t, h, w)`` patches (padded to the patch size); `scale`
    says how the model's VAE groups pixel frames (its ``patch`` is set to the temporal patch here)."""
    t, h, w = (int(s) for s in x.shape[-3:])
    pt, ph, pw = patch
    return VideoGrid(t, math.ceil(h / ph), math.ceil(w / pw), TimeScale(scale.stride, scale.first_alone, pt))


class GridWrapper(SharedHook):
    """DIFFUSION_MODEL wrapper: puts the call's `VideoGrid` under `key` into (a copy of) the transformer options its
    blocks receive, passed by keyword or, where the model passes them by position, as argument `position` after the
    latent (Wan: 4); deep copies (ModelPatcher.clone) share it."""

    def __init__(self, key: str, grid_of: Callable[[torch.Tensor], VideoGrid], position: int | None = None):
        self.key, self.grid_of, self.position = key, grid_of, position

    def __call__(self, executor, x, *args, **kwargs):
        positional = "transformer_options" not in kwargs and self.position is not None and len(args) > self.position
        options = dict((args[self.position] if positional else kwargs.get("transformer_options")) or {})
        if x.ndim == 5:
            options[self.key] = self.grid_of(x)
        if positional:
            args = args[:self.position] + (options,) + args[self.position + 1:]
        else:
            kwargs["transformer_options"] = options
        return executor(x, *args, **kwargs)


def read_call(layer, heads: int, hidden: torch.Tensor, options: dict, key: str,
              family: str) -> tuple[CallFacts, VideoGrid]:
    """The facts of one cross-attention call whose input was `hidden` ``[rows, frames * h * w, C]`` (grid: one
    frame's ``(h, w)``; rows per chunk as the call has them) with its grid; raises Skip when the patch cannot act on
    it (no grid, or tokens that are not the latent's, e.g. reference frames a model adds)."""
    grid = options.get(key)
    if grid is None:
        raise Skip("grid", f"a {family} cross-attention call came without the latent's grid; skipped")
    if grid.tokens != hidden.shape[1]:
        raise Skip("shape", f"{hidden.shape[1]} tokens do not make the {grid.frames} x {grid.h} x {grid.w} grid of "
                            f"{layer}; skipped")
    chunk_rows, cond, uncond = split_chunks(options, hidden.shape[0])
    return CallFacts(layer=layer, chunk_rows=chunk_rows, cond_chunks=cond, uncond_chunks=uncond,
                     grid=(grid.h, grid.w), heads=heads, attn_precision=None, sigmas=options.get("sigmas")), grid
