"""The guarantees every joint-attention DiT owes (docs/dit-method.md, "Guarantees and their tests"): a test class
that a family's host test module subclasses (`class TestContract(JointAttentionContract)`), handing it how that
family samples and what its first block gives. The subclass's module provides the fixtures ``tiny`` (``.model``,
``.clip``) and ``regs`` (`patch_support.regions`)."""
from __future__ import annotations

from typing import Callable

import torch

from . import patch_support as ps
from .patch_contract import SAME_LENGTH, PatchContract, patched


def prefix(regs) -> int:
    """Joint-sequence tokens the local prompts and the empty prompt put in front of the prompt."""
    return sum(regs.lengths) + regs.empty_length


class JointAttentionContract(PatchContract):
    """Subclasses set `GRID` (the token grid a test sample makes), `BLOCKS` (the blocks every patched call runs
    through, as the trace names them) and, as ``staticmethod``s, `sample` and `first_block`; `ATTENTION_ONLY`, the
    node inputs that leave the patch's attention term alone acting (Flux.1: ``modulation`` global), under which the
    first block's guarantees of the attention design are checked."""

    GRID: tuple[int, int]
    BLOCKS: set[tuple[str, int]]
    ATTENTION_ONLY: dict = {}
    first_block: Callable[..., dict]         # (model, clip, **sample kwargs) -> {"img", "txt"}: the first block's
    #                                          outputs in a one-step run; img holds the grid's tokens first

    def _inside(self, comfy, model) -> torch.Tensor:
        inside = ps.runtime(comfy, model).region_masks(*self.GRID).amax(dim=0) > 0
        assert 0 < int(inside.sum()) < self.GRID[0] * self.GRID[1]
        return inside

    def test_first_patched_block_keeps_the_prompt_and_the_image_outside_every_region(self, comfy, tiny, regs):
        """The prompt's tokens and every image token outside the boxes compute what the unpatched model computes
        (to fp32 rounding); tokens inside the boxes change; the local prompts come first."""
        vanilla = self.first_block(tiny.model, tiny.clip)
        model = patched(comfy, tiny, regs, **self.ATTENTION_ONLY)
        result = self.first_block(model, tiny.clip)
        n = prefix(regs)
        assert result["txt"].shape[1] == vanilla["txt"].shape[1] + n
        assert torch.allclose(result["txt"][:, n:], vanilla["txt"], atol=1e-5, rtol=1e-5)
        inside = self._inside(comfy, model)
        grid = inside.numel()
        img, img_v = result["img"][:, :grid], vanilla["img"][:, :grid]
        assert torch.allclose(img[:, ~inside], img_v[:, ~inside], atol=1e-5, rtol=1e-5)
        assert (img[:, inside] - img_v[:, inside]).abs().max() > 1e-3

    def test_the_prompt_never_reads_the_local_prompts(self, comfy, tiny, regs):
        other = ps.regions(comfy, tiny.clip, phrases=("a green frog", "a yellow bird on a branch"))
        a = self.first_block(patched(comfy, tiny, regs, **self.ATTENTION_ONLY), tiny.clip)
        b = self.first_block(patched(comfy, tiny, other, **self.ATTENTION_ONLY), tiny.clip)
        pa, pb = prefix(regs), prefix(other)
        assert torch.allclose(a["txt"][:, pa:], b["txt"][:, pb:], atol=1e-6)
        assert not torch.allclose(a["txt"][:, :regs.lengths[0]].mean(1), b["txt"][:, :other.lengths[0]].mean(1))

    def test_negative_rows_are_untouched_and_batches_and_non_square_latents_work(self, comfy, tiny, regs):
        """cfg 4 with a negative as long as the prompt batches cond and uncond rows (batch 2 each); the uncond rows
        of the first block equal the unpatched model's; every call runs on the non-square grid."""
        vanilla = self.first_block(tiny.model, tiny.clip, cfg=4.0, batch=2, negative=SAME_LENGTH)
        model = patched(comfy, tiny, regs)
        rt = ps.runtime(comfy, model, trace=True)
        result = self.first_block(model, tiny.clip, cfg=4.0, batch=2, negative=SAME_LENGTH)
        assert result["img"].shape[0] == 4, "cond and uncond rows were not batched in one call"
        cond = [c.cond_chunks for c in rt.trace if c.layer == ("model", 0)][0]
        uncond_rows = [r for j in range(2) if j not in cond for r in (2 * j, 2 * j + 1)]
        cond_rows = [r for r in range(4) if r not in uncond_rows]
        assert len(uncond_rows) == 2
        assert torch.allclose(result["img"][uncond_rows], vanilla["img"][uncond_rows], atol=1e-5, rtol=1e-5)
        assert (result["img"][cond_rows] - vanilla["img"][cond_rows]).abs().max() > 1e-3
        assert {c.layer for c in rt.trace} >= self.BLOCKS
        assert all(c.grid == self.GRID for c in rt.trace)

    def test_input_model_is_not_mutated(self, comfy, tiny, regs):
        before = self.sample(tiny.model, tiny.clip)
        self.sample(patched(comfy, tiny, regs), tiny.clip)
        options = tiny.model.model_options.get("transformer_options", {})
        assert "optimized_attention_override" not in options and "patches_replace" not in options
        assert torch.equal(self.sample(tiny.model, tiny.clip), before)
