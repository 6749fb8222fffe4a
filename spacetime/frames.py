"""Regions that move over a video: each latent frame's boxes, between the first frame's and the last frame's.

A video VAE compresses time. Wan 2.1/2.2's (which Cosmos-Predict2 reuses) maps F = 4(T-1)+1 pixel frames to T
latent frames: latent frame 0 is pixel frame 0 alone, latent frame j >= 1 covers pixel frames 4j-3 .. 4j. In
general a `TimeScale` with stride s covers pixel frame 0 alone and s pixel frames per later latent frame when
``first_alone``, else s pixel frames per latent frame from the start; a transformer's temporal patch of p latent
frames makes one token frame cover the pixel frames of its p latent frames.

The boxes are interpolated linearly over PIXEL frames, from ``boxes`` at pixel frame 0 to ``end_boxes`` at pixel
frame F-1, and each token frame gets the box at the mean position of the pixel frames it covers. Disc centres move
with their box's centre.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .masks import region_masks, with_background


@dataclass(frozen=True)
class TimeScale:
    """How a model's VAE and patching group pixel frames into the frames of its token grid."""
    stride: int = 4             # pixel frames per latent frame
    first_alone: bool = True    # latent frame 0 is pixel frame 0 alone (causal video VAEs)
    patch: int = 1              # latent frames per token frame (the transformer's temporal patch)

    def __post_init__(self) -> None:
        if self.stride < 1 or self.patch < 1:
            raise ValueError(f"TimeScale: stride and patch must be at least 1, got {self.stride} and {self.patch}")

    def pixel_frames(self, latent_frames: int) -> int:
        """How many pixel frames `latent_frames` latent frames decode to."""
        if latent_frames < 1:
            return 0
        return self.stride * (latent_frames - 1) + 1 if self.first_alone else self.stride * latent_frames

    def covered(self, latent_frame: int) -> range:
        """The pixel frames one latent frame covers."""
        if self.first_alone:
            if latent_frame == 0:
                return range(0, 1)
            return range(self.stride * (latent_frame - 1) + 1, self.stride * latent_frame + 1)
        return range(self.stride * latent_frame, self.stride * (latent_frame + 1))


def frame_positions(latent_frames: int, scale: TimeScale) -> torch.Tensor:
    """``[ceil(latent_frames / patch)]`` float64 in [0, 1]: for each token frame, the mean of the pixel frames it
    covers divided by the last pixel frame's index (0 for a single pixel frame)."""
    last = scale.pixel_frames(latent_frames) - 1
    out = []
    for start in range(0, latent_frames, scale.patch):
        pixels = [p for j in range(start, min(start + scale.patch, latent_frames)) for p in scale.covered(j)]
        out.append(sum(pixels) / len(pixels) / last if last > 0 else 0.0)
    return torch.tensor(out, dtype=torch.float64)


def frame_boxes(boxes: torch.Tensor, end_boxes: torch.Tensor, latent_frames: int,
                scale: TimeScale) -> torch.Tensor:
    """``[frames, R, 4]`` float64: each token frame's boxes, linear over pixel frames from `boxes` (pixel frame 0)
    to `end_boxes` (the last pixel frame), taken at the mean position of the pixel frames the token frame covers."""
    start = boxes.detach().to(torch.float64).reshape(-1, 4)
    end = end_boxes.detach().to(torch.float64).reshape(-1, 4)
    t = frame_positions(latent_frames, scale).view(-1, 1, 1)
    return start + t * (end - start)


def frame_masks(boxes: torch.Tensor, centers: torch.Tensor, end_boxes: torch.Tensor, latent_frames: int,
                scale: TimeScale, height: int, width: int, shape: str = "box", radius: float = 0.2,
                feather: float = 0.0, shapes: Sequence[torch.Tensor | None] = (),
                background: bool = False) -> torch.Tensor:
    """``[R, frames * height * width]`` float32 masks over a video's tokens in (frame, row, column) order: each
    token frame's `region_masks` for its interpolated boxes (`frame_boxes`), stacked along the cells, so the grid
    reads as ``(frames * height, width)``. Disc centres move with their box's centre."""
    per_frame = frame_boxes(boxes, end_boxes, latent_frames, scale)
    start = boxes.detach().to(torch.float64).reshape(-1, 4)
    centers = centers.detach().to(torch.float64).reshape(-1, 2)
    masks = []
    for b in per_frame:
        shift = (b[:, :2] + b[:, 2:]) / 2 - (start[:, :2] + start[:, 2:]) / 2
        m = region_masks(b, centers + shift, height, width, shape, radius, feather, shapes)
        masks.append(with_background(m) if background else m)
    return torch.cat(masks, dim=1)
