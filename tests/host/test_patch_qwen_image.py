"""The patch on a Qwen-Image-shaped DiT built from ComfyUI's own classes (tiny widths, random weights, a tiny
Qwen2.5-VL text encoder with the real tokenizer and template), sampled by the real samplers: the joint-attention
guarantees (docs/dit-method.md), and Qwen-Image's text positions restarting at the prompt's offset for every
local prompt (as EliGen does)."""
from __future__ import annotations

import pytest
import torch

from support import patch_support as ps
from support.capture import Calls, detached, first_call, outputs

PROMPT = "a red cat and a blue dog"
SAME_LENGTH = "a blue cat and a red dog"        # a negative as long as the prompt, so CFG batches it with the cond


def _sample(model, clip, cfg=1.0, batch=1, steps=2, negative=PROMPT):
    return ps.sample(model, ps.encode(clip, PROMPT), ps.encode(clip, negative), 64, 96, steps=steps, cfg=cfg,
                     scheduler="simple", batch=batch, latent_channels=16)


@pytest.fixture(scope="module")
def qwen_regs(comfy, tiny_qwen_image):
    return ps.regions(comfy, tiny_qwen_image.clip)


def _patched(comfy, tiny_qwen_image, regs, weights=(1.5, 0.7), **kw):
    return ps.patch(comfy, tiny_qwen_image.model, regs, ps.constant_weights(comfy, weights), **kw)


def _prefix(regs) -> int:
    return sum(regs.lengths) + regs.empty_length


def _block_call(args, kwargs, output) -> dict:
    """A transformer block's call: its outputs (txt, img) and its rotary table."""
    txt, img = outputs(args, kwargs, output)
    return {"txt": txt, "img": img, "pe": detached(kwargs["image_rotary_emb"])}


def _first_block(model, clip, **kw) -> dict:
    """The first transformer block's first call (`_block_call`) in a one-step run."""
    return first_call(model.model.diffusion_model.transformer_blocks[0], lambda: _sample(model, clip, steps=1, **kw),
                      _block_call)


def test_local_prompts_are_the_templated_prompts_without_padding(qwen_regs):
    """Qwen's encoder drops its template's system part and pads nothing: every token counts."""
    assert [e.shape[1] for e in qwen_regs.embeddings] == qwen_regs.lengths
    assert all(3 < n < 30 for n in qwen_regs.lengths) and 0 < qwen_regs.empty_length < min(qwen_regs.lengths)


def test_patched_sampling_differs_and_is_finite(comfy, tiny_qwen_image, qwen_regs):
    vanilla = _sample(tiny_qwen_image.model, tiny_qwen_image.clip)
    patched = _sample(_patched(comfy, tiny_qwen_image, qwen_regs), tiny_qwen_image.clip)
    assert torch.isfinite(patched).all() and not torch.equal(patched, vanilla)


@pytest.mark.parametrize("case", ["zero weights", "outside the step window"])
def test_zero_weights_reproduce_vanilla_bit_for_bit(comfy, tiny_qwen_image, qwen_regs, case):
    vanilla = _sample(tiny_qwen_image.model, tiny_qwen_image.clip, cfg=3.0, batch=2, negative="blurry")
    model = (_patched(comfy, tiny_qwen_image, qwen_regs, weights=(0.0, 0.0)) if case == "zero weights"
             else _patched(comfy, tiny_qwen_image, qwen_regs, start_percent=0.99, end_percent=1.0))
    assert torch.equal(_sample(model, tiny_qwen_image.clip, cfg=3.0, batch=2, negative="blurry"), vanilla)


def test_first_patched_block_keeps_the_prompt_and_the_image_outside_every_region(comfy, tiny_qwen_image, qwen_regs):
    vanilla = _first_block(tiny_qwen_image.model, tiny_qwen_image.clip)
    model = _patched(comfy, tiny_qwen_image, qwen_regs)
    patched = _first_block(model, tiny_qwen_image.clip)
    prefix = _prefix(qwen_regs)
    assert patched["txt"].shape[1] == vanilla["txt"].shape[1] + prefix
    assert torch.allclose(patched["txt"][:, prefix:], vanilla["txt"], atol=1e-5, rtol=1e-5)
    inside = ps.runtime(comfy, model).region_masks(4, 6).amax(dim=0) > 0          # 64 x 96 px latent / 2
    assert 0 < int(inside.sum()) < 24
    assert torch.allclose(patched["img"][:, ~inside], vanilla["img"][:, ~inside], atol=1e-5, rtol=1e-5)
    assert (patched["img"][:, inside] - vanilla["img"][:, inside]).abs().max() > 1e-3


def test_the_prompt_never_reads_the_local_prompts(comfy, tiny_qwen_image, qwen_regs):
    other = ps.regions(comfy, tiny_qwen_image.clip, phrases=("a green frog", "a yellow bird on a branch"))
    a = _first_block(_patched(comfy, tiny_qwen_image, qwen_regs), tiny_qwen_image.clip)
    b = _first_block(_patched(comfy, tiny_qwen_image, other), tiny_qwen_image.clip)
    pa, pb = _prefix(qwen_regs), _prefix(other)
    assert torch.allclose(a["txt"][:, pa:], b["txt"][:, pb:], atol=1e-6)
    assert not torch.allclose(a["txt"][:, :qwen_regs.lengths[0]].mean(1), b["txt"][:, :other.lengths[0]].mean(1))


def test_every_text_restarts_at_the_prompts_text_offset(comfy, tiny_qwen_image, qwen_regs):
    """The rotary table the first block uses: the prompt's and the image's rows are the unpatched model's, bit for
    bit; each local prompt and the empty prompt count from the same offset as the prompt, max(h, w) / 2 tokens
    (3 on a 4 x 6 grid), diagonal on all three axes."""
    vanilla = _first_block(tiny_qwen_image.model, tiny_qwen_image.clip)["pe"]
    patched = _first_block(_patched(comfy, tiny_qwen_image, qwen_regs), tiny_qwen_image.clip)["pe"]
    prefix, prompt = _prefix(qwen_regs), vanilla.shape[2] - 24
    assert patched.shape[2] == vanilla.shape[2] + prefix
    assert torch.equal(patched[:, :, prefix:], vanilla)
    embedder = tiny_qwen_image.model.model.diffusion_model.pe_embedder
    start = 0
    for n in list(qwen_regs.lengths) + [qwen_regs.empty_length]:
        ids = (3 + torch.arange(n, dtype=torch.float32)).view(1, -1, 1).repeat(1, 1, 3)
        assert torch.equal(patched[:, :, start:start + n], embedder(ids).to(patched.dtype))
        start += n
    ids = (3 + torch.arange(prompt, dtype=torch.float32)).view(1, -1, 1).repeat(1, 1, 3)
    assert torch.equal(vanilla[:, :, :prompt], embedder(ids).to(vanilla.dtype))


def test_negative_rows_are_untouched_and_batches_and_non_square_latents_work(comfy, tiny_qwen_image, qwen_regs):
    """cfg 4 with a negative as long as the prompt batches cond and uncond rows (batch 2 each); the uncond rows of
    the first block equal the unpatched model's."""
    vanilla = _first_block(tiny_qwen_image.model, tiny_qwen_image.clip, cfg=4.0, batch=2, negative=SAME_LENGTH)
    model = _patched(comfy, tiny_qwen_image, qwen_regs)
    rt = ps.runtime(comfy, model, trace=True)
    patched = _first_block(model, tiny_qwen_image.clip, cfg=4.0, batch=2, negative=SAME_LENGTH)
    assert patched["img"].shape[0] == 4, "cond and uncond rows were not batched in one call"
    cond = [c.cond_chunks for c in rt.trace if c.layer == ("model", 0)][0]
    uncond_rows = [r for j in range(2) if j not in cond for r in (2 * j, 2 * j + 1)]
    cond_rows = [r for r in range(4) if r not in uncond_rows]
    assert len(uncond_rows) == 2
    assert torch.allclose(patched["img"][uncond_rows], vanilla["img"][uncond_rows], atol=1e-5, rtol=1e-5)
    assert (patched["img"][cond_rows] - vanilla["img"][cond_rows]).abs().max() > 1e-3
    assert {c.layer for c in rt.trace} >= {("double", 0), ("double", 1)}
    assert all(c.grid == (4, 6) for c in rt.trace)


def test_input_model_is_not_mutated(comfy, tiny_qwen_image, qwen_regs):
    before = _sample(tiny_qwen_image.model, tiny_qwen_image.clip)
    _sample(_patched(comfy, tiny_qwen_image, qwen_regs), tiny_qwen_image.clip)
    options = tiny_qwen_image.model.model_options.get("transformer_options", {})
    assert "optimized_attention_override" not in options and "patches_replace" not in options
    assert torch.equal(_sample(tiny_qwen_image.model, tiny_qwen_image.clip), before)


def test_blocks_and_their_errors(comfy, tiny_qwen_image, qwen_regs):
    model = _patched(comfy, tiny_qwen_image, qwen_regs, blocks="d1")
    rt = ps.runtime(comfy, model, trace=True)
    _sample(model, tiny_qwen_image.clip, steps=1)
    assert {c.layer for c in rt.trace} == {("model", 0), ("double", 1)}
    with pytest.raises(ValueError, match=r"^SpaceTime Attention Patch: blocks: 's0': this model has no "
                                         r"single-stream blocks"):
        _patched(comfy, tiny_qwen_image, qwen_regs, blocks="s0")


def test_edit_reference_tokens_follow_the_grid_and_take_part_in_the_main_attention_only(comfy, tiny_qwen_image,
                                                                                        qwen_regs):
    """Qwen-Image Edit's reference latent (5-D, as the Wan VAE encodes it) adds tokens after the grid: weight 0 is
    vanilla bit for bit, and in the first block they and the image outside every region compute what vanilla
    computes."""
    import node_helpers

    ref = torch.randn(1, 16, 1, 8, 12, generator=torch.Generator().manual_seed(3))
    positive = node_helpers.conditioning_set_values(ps.encode(tiny_qwen_image.clip, PROMPT),
                                                    {"reference_latents": [ref]}, append=True)

    def first_block(model, steps=1):
        capture = Calls(model.model.diffusion_model.transformer_blocks[0], _block_call).during(
            lambda: ps.sample(model, positive, positive, 64, 96, steps=steps, cfg=1.0, scheduler="simple",
                              latent_channels=16))
        return capture.result, capture.calls[0]["img"]

    vanilla_out, vanilla = first_block(tiny_qwen_image.model, steps=2)
    assert vanilla.shape[1] == 2 * 24
    assert torch.equal(first_block(_patched(comfy, tiny_qwen_image, qwen_regs, weights=(0.0, 0.0)), steps=2)[0],
                       vanilla_out)
    model = _patched(comfy, tiny_qwen_image, qwen_regs)
    patched = first_block(model)[1]
    inside = ps.runtime(comfy, model).region_masks(4, 6).amax(dim=0) > 0
    keep = torch.cat([~inside, torch.ones(24, dtype=torch.bool)])
    assert torch.allclose(patched[:, keep], vanilla[:, keep], atol=1e-5, rtol=1e-5)
    assert (patched[:, :24][:, inside] - vanilla[:, :24][:, inside]).abs().max() > 1e-3
