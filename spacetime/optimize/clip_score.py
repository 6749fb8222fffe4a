"""Objective ``clip`` (the paper, docs/method.md section 4.2): a CLIP image-text loss on the decoded final image.

    L = [1 - cos(CLIP_img(resize(img)), CLIP_txt(prompt))]
        + crop_weight · sum_i [1 - cos(CLIP_img(resize(crop_i(img))), CLIP_txt("A photo of " + name_i))]

back-propagated through the CLIP image encoder, the VAE decoder and every sampling step (`trajectory`) into the
weights. Differences from the official code, on purpose: images are normalised with CLIP's mean/std (the official
code feeds unnormalised pixels, out of CLIP's training distribution); resizing is antialiased bilinear at any size
(the official nearest ×7 + AvgPool(16) trick only works for 512 px); crops are the regions' boxes (for disc masks
the disc's bounding square, as in the official code).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from .context import SamplingContext
from .trajectory import euler_trajectory

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
CROP_WEIGHT = 5.0


def _features(output: Any) -> torch.Tensor:
    """transformers 5 returns a model output from get_*_features, 4.x a tensor."""
    return output.pooler_output if hasattr(output, "pooler_output") else output


def crop_boxes(boxes: torch.Tensor, centers: torch.Tensor, mask_shape: str, radius: float) -> torch.Tensor:
    """Normalised crop rectangles ``[R, 4]``: the boxes, or the discs' bounding squares clipped to the image."""
    if mask_shape != "disc":
        return boxes.clone()
    c = centers.to(torch.float32)
    return torch.cat([c - radius, c + radius], dim=1).clamp(0.0, 1.0)


@dataclass
class ClipScorer:
    """A frozen CLIP model with the text side encoded once.

    model: a ``transformers`` CLIPModel; text_ids: ``[1 + R, T]`` token ids (global prompt first, then one
    "A photo of <name>" per object); crops: normalised ``[R, 4]`` rectangles.
    """

    model: Any
    text_ids: torch.Tensor
    crops: torch.Tensor
    crop_weight: float = CROP_WEIGHT
    mean: Sequence[float] = OPENAI_MEAN
    std: Sequence[float] = OPENAI_STD

    def __post_init__(self) -> None:
        self.model.requires_grad_(False).eval()
        device = next(self.model.parameters()).device
        with torch.no_grad():
            text = _features(self.model.get_text_features(input_ids=self.text_ids.to(device)))
        self.text = F.normalize(text.float(), dim=-1)
        self.size = int(self.model.config.vision_config.image_size)

    def _embed(self, images: torch.Tensor) -> torch.Tensor:
        p = next(self.model.parameters())
        x = F.interpolate(images, size=(self.size, self.size), mode="bilinear", align_corners=False, antialias=True)
        mean = torch.tensor(self.mean, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        x = ((x - mean) / std).to(device=p.device, dtype=p.dtype)
        return F.normalize(_features(self.model.get_image_features(pixel_values=x)).float(), dim=-1)

    def loss(self, image: torch.Tensor) -> torch.Tensor:
        """Scalar loss of ``image [B, 3, H, W]`` in [0, 1] (mean over the batch)."""
        _, _, h, w = image.shape
        pieces = [image]
        for x0, y0, x1, y1 in self.crops.tolist():
            c0, c1 = int(x0 * w), max(int(x0 * w) + 1, int(round(x1 * w)))
            r0, r1 = int(y0 * h), max(int(y0 * h) + 1, int(round(y1 * h)))
            pieces.append(image[:, :, r0:min(r1, h), c0:min(c1, w)])
        total = image.new_zeros(())
        for j, piece in enumerate(pieces):
            cos = (self._embed(piece) * self.text[j].to(piece.device)).sum(-1)
            total = total + (1.0 if j == 0 else self.crop_weight) * (1.0 - cos).mean()
        return total


class ClipObjective:
    """Full back-propagation: Euler trajectory (checkpointed per step) -> VAE decode -> CLIP loss."""

    name = "clip"

    def __init__(self, scorer: ClipScorer):
        self.scorer = scorer

    def passes_ticks(self, ctx: SamplingContext) -> int:
        return 2 * ctx.steps                     # forward steps + backward steps

    def gradient_pass(self, ctx: SamplingContext, weights: torch.Tensor) -> float:
        if ctx.decode is None:
            raise ValueError("the clip objective needs a VAE to decode the latent")

        def before(i: int) -> None:
            ctx.check_interrupt()
            ctx.tick(1)

        def after_backward(i: int) -> None:
            ctx.check_interrupt()
            ctx.tick(1)

        with torch.enable_grad():
            x = euler_trajectory(ctx.denoise, ctx.x_start.detach(), ctx.sigmas, before, after_backward)
            loss = self.scorer.loss(ctx.decode(x))
            if torch.isfinite(loss):
                loss.backward()
        return float(loss.detach())

    def final_pass(self, ctx: SamplingContext) -> tuple[torch.Tensor, float | None]:
        def call(denoise, x, sigma):
            ctx.check_interrupt()
            return denoise(x, sigma)
        return ctx.sample(ctx.x_start, ctx.sigmas, call), None
