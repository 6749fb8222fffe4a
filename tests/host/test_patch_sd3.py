"""The patch on an SD3.5-shaped MMDiT built from ComfyUI's own classes (tiny widths, random weights, CLIP-L + G
text encoder with the real tokenizers), sampled by the real samplers with CFG: the joint-attention guarantees
(docs/dit-method.md) on the second joint-attention family."""
from __future__ import annotations

import pytest
import torch

from support import patch_support as ps
from support.capture import first_call, outputs

PROMPT = "a red cat and a blue dog"


def _sample(model, clip, cfg=4.0, batch=1, steps=2):
    return ps.sample(model, ps.encode(clip, PROMPT), ps.encode(clip, "blurry"), 64, 96, steps=steps, cfg=cfg,
                     batch=batch, latent_channels=16)


@pytest.fixture(scope="module")
def sd3_regs(comfy, tiny_sd3):
    return ps.regions(comfy, tiny_sd3.clip)


def _patched(comfy, tiny_sd3, regs, weights=(1.5, 0.7), **kw):
    return ps.patch(comfy, tiny_sd3.model, regs, ps.constant_weights(comfy, weights), **kw)


def _first_block(model, clip, **kw):
    """(context, x) out of the first joint block for the first model call (cond and uncond rows batched)."""
    return first_call(model.model.diffusion_model.joint_blocks[0], lambda: _sample(model, clip, steps=1, **kw),
                      outputs)


def test_zero_weights_reproduce_vanilla_bit_for_bit(comfy, tiny_sd3, sd3_regs):
    vanilla = _sample(tiny_sd3.model, tiny_sd3.clip, batch=2)
    assert torch.equal(_sample(_patched(comfy, tiny_sd3, sd3_regs, weights=(0.0, 0.0)), tiny_sd3.clip, batch=2),
                       vanilla)


def test_patched_sampling_differs_and_image_only_attention_passes_through(comfy, tiny_sd3, sd3_regs):
    model = _patched(comfy, tiny_sd3, sd3_regs)
    rt = ps.runtime(comfy, model, trace=True)
    patched = _sample(model, tiny_sd3.clip)
    assert torch.isfinite(patched).all() and not torch.equal(patched, _sample(tiny_sd3.model, tiny_sd3.clip))
    per_call = [c.layer for c in rt.trace]
    # one model call per step (cond and uncond batched); block 0's image-only attention is not split
    assert per_call == [("model", 0), ("double", 0), ("double", 1)] * 2


def test_first_block_keeps_prompt_negative_rows_and_the_image_outside_every_region(comfy, tiny_sd3, sd3_regs):
    vanilla_ctx, vanilla_x = _first_block(tiny_sd3.model, tiny_sd3.clip)
    model = _patched(comfy, tiny_sd3, sd3_regs)
    rt = ps.runtime(comfy, model, trace=True)
    ctx, x = _first_block(model, tiny_sd3.clip)
    prefix = sum(sd3_regs.lengths) + sd3_regs.empty_length
    assert ctx.shape[1] == vanilla_ctx.shape[1] + prefix
    assert torch.allclose(ctx[:, prefix:], vanilla_ctx, atol=1e-5, rtol=1e-5)
    [cond] = rt.trace[0].cond_chunks
    inside = rt.region_masks(4, 6).amax(dim=0) > 0
    assert torch.allclose(x[1 - cond], vanilla_x[1 - cond], atol=1e-5, rtol=1e-5), "the negative row changed"
    assert torch.allclose(x[cond][~inside], vanilla_x[cond][~inside], atol=1e-5, rtol=1e-5)
    assert (x[cond][inside] - vanilla_x[cond][inside]).abs().max() > 1e-3


def test_blocks_and_their_errors(comfy, tiny_sd3, sd3_regs):
    model = _patched(comfy, tiny_sd3, sd3_regs, blocks="d1")
    rt = ps.runtime(comfy, model, trace=True)
    _sample(model, tiny_sd3.clip, steps=1)
    assert {c.layer for c in rt.trace} == {("model", 0), ("double", 1)}
    with pytest.raises(ValueError, match=r"^SpaceTime Attention Patch: blocks: 's0': this model has no "
                                         r"single-stream blocks"):
        _patched(comfy, tiny_sd3, sd3_regs, blocks="s0")
