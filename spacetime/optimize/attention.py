"""Objective ``attention``: each object's cross-attention should fall inside its own region.

Score (BoxDiff's inner/outer constraints and Attend-and-Excite's token maps, reduced to one number per object):
at a probe layer, for the cond rows, take the softmax of ``q k^T/sqrt(d)`` of the hidden state against the object's
*local prompt* L_i with the start token left out (it soaks up most of the mass in SD and carries no object),
sum it over the object's phrase tokens and average the heads: a map ``a_i(p)``. The score is the share of that map
inside the object's mask M_i::

    r_i = sum_p M_i(p) a_i(p) / sum_p a_i(p)        loss = 1 - mean over objects, probe layers and cond rows of r_i

Why the local prompt and not the phrase inside the main prompt: ComfyUI's CONDITIONING carries embeddings, not text,
so the node cannot know where the phrase sits in the main prompt; each local prompt is known text.

How the weights get a gradient without back-propagating through time: the probe layers sit *after* patched
layers in the same UNet evaluation, so their hidden states depend on the weights of the current step. The loss
of one model call is back-propagated through that call only (the latent entering it is detached); the sampler
itself runs unchanged and without grad. Cost: one partial backward per model call in the gradient window.

Which layers: the cross-attention layers at 1/4 of the latent resolution (16×16 at 512 px, the resolution
Attend-and-Excite and BoxDiff read: coarse enough to be semantic, fine enough to localise; both encoder and decoder
layers there). Which steps: the calls whose progress is below `GRADIENT_UNTIL` (the layout is decided in the first
part of denoising; later steps only refine it, and Attend-and-Excite/BoxDiff also stop their guidance early). The
window is also what the cost scales with: default cost ~ (1 + 2 · 0.25 · (1 + backward/forward)) plain samples,
about 2x (docs/benchmarks.md).
Grid columns beyond the window get no gradient and keep their initial values.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

from .context import Denoise, SamplingContext

PROBE_DOWNSCALE = 4     # probe layers: attention grid = ceil(latent / 4)
GRADIENT_UNTIL = 0.25   # gradient window: progress [0, 0.25)


def phrase_positions(prompt_ids: Sequence[int], phrase_ids: Sequence[int], tokens: int) -> list[int]:
    """Positions of the phrase's tokens in a tokenised local prompt ``[start, ..., end]``.

    The last occurrence of `phrase_ids` inside the prompt's content (the template puts the phrase last); when it is
    absent or empty, every content token. Positions beyond the encoded length `tokens` are dropped.
    """
    content = list(prompt_ids[1:-1])
    n = len(phrase_ids)
    found: list[int] = []
    if n:
        for s in range(len(content) - n, -1, -1):
            if content[s:s + n] == list(phrase_ids):
                found = list(range(s + 1, s + 1 + n))
                break
    if not found:
        found = list(range(1, len(content) + 1))
    return [p for p in found if p < tokens]


def region_attention_ratio(q: torch.Tensor, keys: Sequence[torch.Tensor], positions: Sequence[Sequence[int]],
                           masks: torch.Tensor, heads: int) -> torch.Tensor:
    """``[b, R]`` share of each object's phrase attention inside its mask.

    q: ``[b, N, H·d]`` projected queries of the cond rows; keys: per region ``[1, T_i, H·d]`` projected keys of its
    local prompt; positions: per region, token positions (>= 1) of its phrase; masks: ``[R, N]`` in [0, 1].
    Regions without positions score 0 (no gradient).
    """
    b, n, inner = q.shape
    d = inner // heads
    qh = q.reshape(b, n, heads, d).transpose(1, 2)                        # [b, H, N, d]
    out = []
    for k, pos, m in zip(keys, positions, masks):
        if not pos:
            out.append(q.new_zeros(b))
            continue
        kh = k.reshape(1, -1, heads, d).transpose(1, 2)[..., 1:, :]     # drop the start token
        probs = torch.softmax(qh @ kh.transpose(-1, -2) / math.sqrt(d), dim=-1)   # [b, H, N, T-1]
        idx = torch.as_tensor([p - 1 for p in pos], device=q.device)
        amap = probs.index_select(-1, idx).sum(-1).mean(1)               # [b, N]
        m = m.to(amap.dtype)
        out.append((amap * m).sum(-1) / amap.sum(-1).clamp_min(1e-12))
    return torch.stack(out, dim=-1)


class AttentionRecorder:
    """Collects the probe layers' scores during one model call (the bridge's probe hook calls `add`)."""

    def __init__(self) -> None:
        self.active = False
        self._scores: list[torch.Tensor] = []

    def begin(self) -> None:
        self.active, self._scores = True, []

    def add(self, scores: torch.Tensor) -> None:
        if self.active:
            self._scores.append(scores)

    def end(self) -> torch.Tensor | None:
        """Mean score of the call (scalar), or None when no probe layer ran; stops recording."""
        scores, self.active, self._scores = self._scores, False, []
        if not scores:
            return None
        return torch.stack([s.float().mean() for s in scores]).mean()


class AttentionObjective:
    """Truncated per-call gradients of ``1 - region attention share`` inside the gradient window."""

    name = "attention"

    def __init__(self, recorder: AttentionRecorder, until: float = GRADIENT_UNTIL):
        self.recorder = recorder
        self.until = until

    def window(self, ctx: SamplingContext) -> int:
        """Number of leading steps whose start sigma lies in the gradient window (at least 1)."""
        p = ctx.progress(ctx.sigmas[:-1])
        return max(1, int((p < self.until).sum()))

    def passes_ticks(self, ctx: SamplingContext) -> int:
        return self.window(ctx)

    def _in_window(self, ctx: SamplingContext, sigma: torch.Tensor) -> bool:
        return float(ctx.progress(sigma.flatten()[:1])[0]) < self.until

    def gradient_pass(self, ctx: SamplingContext, weights: torch.Tensor) -> float:
        losses: list[float] = []

        def call(denoise: Denoise, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
            ctx.check_interrupt()
            self.recorder.begin()
            try:
                with torch.enable_grad():
                    out = denoise(x.detach(), sigma)
                    score = self.recorder.end()
                    if score is None:
                        raise ValueError("no cross-attention layer at 1/4 of the latent resolution was found to "
                                         "probe; the attention objective needs an SD1.x/SDXL-style UNet")
                    loss = 1.0 - score
                    if score.requires_grad:
                        loss.backward()
                losses.append(float(loss.detach()))
                return out.detach()
            finally:
                self.recorder.end()

        ctx.sample(ctx.x_start, ctx.sigmas[:self.window(ctx) + 1], call)
        return sum(losses) / len(losses)

    def final_pass(self, ctx: SamplingContext) -> tuple[torch.Tensor, float | None]:
        scores: list[float] = []

        def call(denoise: Denoise, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
            ctx.check_interrupt()
            if not self._in_window(ctx, sigma):
                return denoise(x, sigma)
            self.recorder.begin()
            try:
                out = denoise(x, sigma)
                score = self.recorder.end()
                if score is not None:
                    scores.append(float(score))
                return out
            finally:
                self.recorder.end()

        latent = ctx.sample(ctx.x_start, ctx.sigmas, call)
        return latent, (1.0 - sum(scores) / len(scores)) if scores else None
