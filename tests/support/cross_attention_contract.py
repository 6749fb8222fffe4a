"""The guarantees every image DiT with a cross-attention to the text owes, as the UNet does: a test class that a
family's host test module subclasses (`class TestContract(CrossAttentionContract)`), handing it how that family
samples, captures its layers' first call and checks them against the paper's equations. The subclass's module
provides the fixtures ``tiny`` (``.model``, ``.clip``) and ``regs`` (`patch_support.regions`)."""
from __future__ import annotations

from typing import Callable

import pytest
import torch

from . import patch_support as ps
from .patch_contract import SAME_LENGTH, WEIGHTS, PatchContract, patched


class CrossAttentionContract(PatchContract):
    """Subclasses set `GRID` (the token grid a test sample makes) and, as ``staticmethod``s, `sample`
    (`PatchContract`) and the two family functions below."""

    GRID: tuple[int, int]
    first_call: Callable[..., dict[int, dict]]   # (model, clip, **sample kwargs) -> records per block index
    reference_check: Callable[..., int]          # (tiny, regs, records, weights, mode) -> how many layers checked

    def test_outside_every_region_and_the_uncond_rows_are_vanilla_in_guidance_mode(self, comfy, tiny, regs):
        """First model call, first block (batched cfg 4, batch 2; later blocks read the changed residual): the
        cells outside every region and the uncond rows of the cross-attention's output are the unpatched layer's
        bit for bit; the region cells of the cond rows change."""
        model = patched(comfy, tiny, regs)
        inside = ps.inside_regions(comfy, model, *self.GRID)
        assert 0 < int(inside.sum()) < self.GRID[0] * self.GRID[1]
        vanilla_call = self.first_call(tiny.model, tiny.clip, cfg=4.0, batch=2, negative=SAME_LENGTH)
        patched_call = self.first_call(model, tiny.clip, cfg=4.0, batch=2, negative=SAME_LENGTH)
        ps.assert_cond_region_cells_alone_change(patched_call[0], vanilla_call[0], inside)

    @pytest.mark.parametrize("mode, cfg", [("guidance", 4.0), ("mix", 4.0), ("guidance", 1.0)])
    def test_every_layer_follows_the_equations(self, comfy, tiny, regs, mode, cfg):
        """Batch 2 on a non-square grid; cfg 4 batches cond and uncond in one call, cfg 1 sends the cond alone (the
        guidance baseline is then the empty prompt, through the model's own text path)."""
        model = patched(comfy, tiny, regs, mode=mode)
        rt = ps.runtime(comfy, model, trace=True)
        records = self.first_call(model, tiny.clip, cfg=cfg, batch=2, negative=SAME_LENGTH)
        assert {c.grid for c in rt.trace} == {self.GRID}
        assert {c.baseline for c in rt.trace} == {"none" if mode == "mix" else
                                                  "empty_prompt" if cfg == 1.0 else "uncond_rows"}
        blocks = tiny.model.model.diffusion_model.blocks
        assert self.reference_check(tiny, regs, records, list(WEIGHTS), mode) == len(blocks)

    def test_blocks_and_their_errors(self, comfy, tiny, regs):
        model = patched(comfy, tiny, regs, blocks="d1")
        rt = ps.runtime(comfy, model, trace=True)
        self.sample(model, tiny.clip, steps=1)
        assert {c.layer for c in rt.trace} == {("double", 1)}
        with pytest.raises(ValueError, match=r"^SpaceTime Attention Patch: blocks: 'd2' is outside this model's 2 "
                                             r"double-stream blocks"):
            patched(comfy, tiny, regs, blocks="d2")

    def test_composes_with_an_earlier_object_patch_on_the_cross_attention(self, comfy, tiny, regs):
        """Another pack's object patch on a block's cross-attention still runs under the patch (chained): outside
        every region the output is that pack's, bit for bit."""
        calls = []
        attn = tiny.model.model.diffusion_model.blocks[0].cross_attn

        def other(*args, **kwargs):
            calls.append(1)
            return type(attn).forward(attn, *args, **kwargs) * 2.0

        other_model = tiny.model.clone()
        other_model.add_object_patch("diffusion_model.blocks.0.cross_attn.forward", other)
        reference = self.first_call(other_model, tiny.clip)[0]["out"]
        model = ps.patch(comfy, other_model, regs, ps.constant_weights(comfy, WEIGHTS))
        calls.clear()
        out = self.first_call(model, tiny.clip)[0]["out"]
        assert calls, "the earlier object patch was dropped"
        ps.assert_changes_only_inside(out, reference, ps.inside_regions(comfy, model, *self.GRID))

    def test_input_model_is_not_mutated(self, comfy, tiny, regs):
        before = self.sample(tiny.model, tiny.clip)
        self.sample(patched(comfy, tiny, regs), tiny.clip)
        assert not tiny.model.object_patches
        assert torch.equal(self.sample(tiny.model, tiny.clip), before)
