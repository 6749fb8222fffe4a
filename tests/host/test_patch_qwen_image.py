"""The patch on a Qwen-Image-shaped DiT built from ComfyUI's own classes (tiny widths, random weights, a tiny
Qwen2.5-VL text encoder with the real tokenizer and template), sampled by the real samplers: the joint-attention
guarantees (docs/dit-method.md), and Qwen-Image's text positions restarting at the prompt's offset for every
local prompt (as EliGen does). The guarantees every joint-attention DiT shares run from
support.joint_attention_contract (`TestContract`)."""
from __future__ import annotations

import pytest
import torch

from support import patch_support as ps
from support.capture import Calls, detached, first_call, outputs
from support.joint_attention_contract import JointAttentionContract, patched as _patched, prefix as _prefix

PROMPT = "a red cat and a blue dog"


def _sample(model, clip, cfg=1.0, batch=1, steps=2, negative=PROMPT):
    return ps.sample(model, ps.encode(clip, PROMPT), ps.encode(clip, negative), 64, 96, steps=steps, cfg=cfg,
                     scheduler="simple", batch=batch, latent_channels=16)


@pytest.fixture(scope="module")
def tiny(comfy, tiny_qwen_image):
    return tiny_qwen_image


@pytest.fixture(scope="module")
def regs(comfy, tiny_qwen_image):
    return ps.regions(comfy, tiny_qwen_image.clip)


def _block_call(args, kwargs, output) -> dict:
    """A transformer block's call: its outputs (txt, img) and its rotary table."""
    txt, img = outputs(args, kwargs, output)
    return {"txt": txt, "img": img, "pe": detached(kwargs["image_rotary_emb"])}


def _first_block(model, clip, **kw) -> dict:
    """The first transformer block's first call (`_block_call`) in a one-step run."""
    return first_call(model.model.diffusion_model.transformer_blocks[0], lambda: _sample(model, clip, steps=1, **kw),
                      _block_call)


class TestContract(JointAttentionContract):
    GRID = (4, 6)                               # 64 x 96 px: an 8 x 12 latent in 2 x 2 patches
    BLOCKS = {("double", 0), ("double", 1)}
    sample = staticmethod(_sample)
    first_block = staticmethod(_first_block)


def test_local_prompts_are_the_templated_prompts_without_padding(regs):
    """Qwen's encoder drops its template's system part and pads nothing: every token counts."""
    assert [e.shape[1] for e in regs.embeddings] == regs.lengths
    assert all(3 < n < 30 for n in regs.lengths) and 0 < regs.empty_length < min(regs.lengths)


def test_every_text_restarts_at_the_prompts_text_offset(comfy, tiny, regs):
    """The rotary table the first block uses: the prompt's and the image's rows are the unpatched model's, bit for
    bit; each local prompt and the empty prompt count from the same offset as the prompt, max(h, w) / 2 tokens
    (3 on a 4 x 6 grid), diagonal on all three axes."""
    vanilla = _first_block(tiny.model, tiny.clip)["pe"]
    patched = _first_block(_patched(comfy, tiny, regs), tiny.clip)["pe"]
    prefix, prompt = _prefix(regs), vanilla.shape[2] - 24
    assert patched.shape[2] == vanilla.shape[2] + prefix
    assert torch.equal(patched[:, :, prefix:], vanilla)
    embedder = tiny.model.model.diffusion_model.pe_embedder
    start = 0
    for n in list(regs.lengths) + [regs.empty_length]:
        ids = (3 + torch.arange(n, dtype=torch.float32)).view(1, -1, 1).repeat(1, 1, 3)
        assert torch.equal(patched[:, :, start:start + n], embedder(ids).to(patched.dtype))
        start += n
    ids = (3 + torch.arange(prompt, dtype=torch.float32)).view(1, -1, 1).repeat(1, 1, 3)
    assert torch.equal(vanilla[:, :, :prompt], embedder(ids).to(vanilla.dtype))


def test_blocks_and_their_errors(comfy, tiny, regs):
    model = _patched(comfy, tiny, regs, blocks="d1")
    rt = ps.runtime(comfy, model, trace=True)
    _sample(model, tiny.clip, steps=1)
    assert {c.layer for c in rt.trace} == {("model", 0), ("double", 1)}
    with pytest.raises(ValueError, match=r"^SpaceTime Attention Patch: blocks: 's0': this model has no "
                                         r"single-stream blocks"):
        _patched(comfy, tiny, regs, blocks="s0")


def test_edit_reference_tokens_follow_the_grid_and_take_part_in_the_main_attention_only(comfy, tiny, regs):
    """Qwen-Image Edit's reference latent (5-D, as the Wan VAE encodes it) adds tokens after the grid: weight 0 is
    vanilla bit for bit, and in the first block they and the image outside every region compute what vanilla
    computes."""
    import node_helpers

    ref = torch.randn(1, 16, 1, 8, 12, generator=torch.Generator().manual_seed(3))
    positive = node_helpers.conditioning_set_values(ps.encode(tiny.clip, PROMPT),
                                                    {"reference_latents": [ref]}, append=True)

    def first_block(model, steps=1):
        capture = Calls(model.model.diffusion_model.transformer_blocks[0], _block_call).during(
            lambda: ps.sample(model, positive, positive, 64, 96, steps=steps, cfg=1.0, scheduler="simple",
                              latent_channels=16))
        return capture.result, capture.calls[0]["img"]

    vanilla_out, vanilla = first_block(tiny.model, steps=2)
    assert vanilla.shape[1] == 2 * 24
    assert torch.equal(first_block(_patched(comfy, tiny, regs, weights=(0.0, 0.0)), steps=2)[0],
                       vanilla_out)
    model = _patched(comfy, tiny, regs)
    patched = first_block(model)[1]
    inside = ps.runtime(comfy, model).region_masks(4, 6).amax(dim=0) > 0
    keep = torch.cat([~inside, torch.ones(24, dtype=torch.bool)])
    assert torch.allclose(patched[:, keep], vanilla[:, keep], atol=1e-5, rtol=1e-5)
    assert (patched[:, :24][:, inside] - vanilla[:, :24][:, inside]).abs().max() > 1e-3
