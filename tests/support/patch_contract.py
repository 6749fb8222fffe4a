"""What every family's contract tests share (support.cross_attention_contract, support.joint_attention_contract):
the patched model through SpaceTime Attention Patch, and the two guarantees that need nothing but sampling: the
patch changes the result and keeps it finite, and weights of 0 (or a window the schedule never enters) reproduce
vanilla sampling bit for bit."""
from __future__ import annotations

from typing import Callable

import pytest
import torch

from . import patch_support as ps

SAME_LENGTH = "a blue cat and a red dog"        # a negative as long as the prompts, so CFG batches it with the cond
WEIGHTS = (1.5, 0.7)


def patched(comfy, tiny, regs, weights=WEIGHTS, **kw):
    """`tiny`'s model through SpaceTime Attention Patch with constant `weights` per region (`**kw`: the node's
    other inputs)."""
    return ps.patch(comfy, tiny.model, regs, ps.constant_weights(comfy, weights), **kw)


class PatchContract:
    """Subclasses set `sample` as a ``staticmethod``; the module provides the fixtures ``tiny`` (``.model``,
    ``.clip``) and ``regs`` (`patch_support.regions`)."""

    sample: Callable[..., torch.Tensor]          # (model, clip, cfg=1.0, batch=1, steps=2, negative=...) -> latent

    def test_patched_sampling_differs_and_is_finite(self, comfy, tiny, regs):
        vanilla = self.sample(tiny.model, tiny.clip)
        result = self.sample(patched(comfy, tiny, regs), tiny.clip)
        assert torch.isfinite(result).all() and not torch.equal(result, vanilla)

    @pytest.mark.parametrize("case", ["zero weights", "outside the step window"])
    def test_zero_weights_reproduce_vanilla_bit_for_bit(self, comfy, tiny, regs, case):
        vanilla = self.sample(tiny.model, tiny.clip, cfg=3.0, batch=2, negative="blurry")
        model = (patched(comfy, tiny, regs, weights=(0.0, 0.0)) if case == "zero weights"
                 else patched(comfy, tiny, regs, start_percent=0.99, end_percent=1.0))
        assert torch.equal(self.sample(model, tiny.clip, cfg=3.0, batch=2, negative="blurry"), vanilla)
