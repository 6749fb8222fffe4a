"""The patch on a Flux.2-shaped DiT built from ComfyUI's own classes (tiny widths, random weights, shared modulation,
a tiny Qwen3 text encoder with the real tokenizer and template: Klein's, or Z-Image's on a core without Klein),
sampled by the real samplers: the joint-attention
guarantees (docs/dit-method.md), and Flux.2's numbered text: the prompt's and the image's positions stay the
unpatched model's, and each local prompt takes the positions it has as a prompt of its own."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from support import patch_support as ps
from support.capture import Calls, detached, first_call, outputs

PROMPT = "a red cat and a blue dog"
GRID = 8 * 12                                   # 64 x 96 px: an 8 x 12 latent in 1 x 1 patches
TEXT = 512                                      # every Flux.2 context is padded to 512 tokens


def _sample(model, clip, cfg=1.0, batch=1, steps=2, negative=PROMPT):
    return ps.sample(model, ps.encode(clip, PROMPT), ps.encode(clip, negative), 64, 96, steps=steps, cfg=cfg,
                     scheduler="simple", batch=batch, latent_channels=128)


@pytest.fixture(scope="module")
def flux2_regs(comfy, tiny_flux2):
    return ps.regions(comfy, tiny_flux2.clip)


def _patched(comfy, tiny_flux2, regs, weights=(1.5, 0.7), **kw):
    return ps.patch(comfy, tiny_flux2.model, regs, ps.constant_weights(comfy, weights), **kw)


def _prefix(regs) -> int:
    return sum(regs.lengths) + regs.empty_length


def _block_call(args, kwargs, output) -> dict:
    """A block's call: its outputs and its rotary table."""
    return {"out": outputs(args, kwargs, output), "pe": detached(kwargs["pe"])}


def _first(block_kind: str, model, clip, index: int = 0, **kw) -> dict:
    blocks = getattr(model.model.diffusion_model, f"{block_kind}_blocks")
    return first_call(blocks[index], lambda: _sample(model, clip, steps=1, **kw), _block_call)


def _first_double(model, clip, **kw) -> dict:
    call = _first("double", model, clip, **kw)
    img, txt = call["out"]
    return {"img": img, "txt": txt, "pe": call["pe"]}


def test_flux2_is_its_own_family_and_local_prompts_ride_without_padding(comfy, tiny_flux2, flux2_regs):
    families = comfy.pack_module("bridge.families")
    family, layers = families.family_of(tiny_flux2.model)
    assert family.NAME == "flux2" and set(layers) == {("double", 0), ("double", 1), ("single", 0), ("single", 1)}
    assert "Flux.2" in families.supported()
    encoded = [e.shape[1] for e in flux2_regs.embeddings]
    assert encoded in ([TEXT, TEXT], flux2_regs.lengths)        # Klein's Qwen3 pads to 512; Z-Image's pads nothing
    assert all(5 < n < 40 for n in flux2_regs.lengths) and 0 < flux2_regs.empty_length < min(flux2_regs.lengths)


def test_patched_sampling_differs_and_is_finite(comfy, tiny_flux2, flux2_regs):
    vanilla = _sample(tiny_flux2.model, tiny_flux2.clip)
    patched = _sample(_patched(comfy, tiny_flux2, flux2_regs), tiny_flux2.clip)
    assert torch.isfinite(patched).all() and not torch.equal(patched, vanilla)


@pytest.mark.parametrize("case", ["zero weights", "outside the step window"])
def test_zero_weights_reproduce_vanilla_bit_for_bit(comfy, tiny_flux2, flux2_regs, case):
    vanilla = _sample(tiny_flux2.model, tiny_flux2.clip, cfg=3.0, batch=2, negative="blurry")
    model = (_patched(comfy, tiny_flux2, flux2_regs, weights=(0.0, 0.0)) if case == "zero weights"
             else _patched(comfy, tiny_flux2, flux2_regs, start_percent=0.99, end_percent=1.0))
    assert torch.equal(_sample(model, tiny_flux2.clip, cfg=3.0, batch=2, negative="blurry"), vanilla)


def test_first_patched_block_keeps_the_prompt_and_the_image_outside_every_region(comfy, tiny_flux2, flux2_regs):
    vanilla = _first_double(tiny_flux2.model, tiny_flux2.clip)
    model = _patched(comfy, tiny_flux2, flux2_regs)
    patched = _first_double(model, tiny_flux2.clip)
    prefix = _prefix(flux2_regs)
    assert patched["txt"].shape[1] == vanilla["txt"].shape[1] + prefix == TEXT + prefix
    assert torch.allclose(patched["txt"][:, prefix:], vanilla["txt"], atol=1e-5, rtol=1e-5)
    inside = ps.runtime(comfy, model).region_masks(8, 12).amax(dim=0) > 0
    assert 0 < int(inside.sum()) < GRID
    assert torch.allclose(patched["img"][:, ~inside], vanilla["img"][:, ~inside], atol=1e-5, rtol=1e-5)
    assert (patched["img"][:, inside] - vanilla["img"][:, inside]).abs().max() > 1e-3


def test_the_prompt_never_reads_the_local_prompts(comfy, tiny_flux2, flux2_regs):
    other = ps.regions(comfy, tiny_flux2.clip, phrases=("a green frog", "a yellow bird on a branch"))
    a = _first_double(_patched(comfy, tiny_flux2, flux2_regs), tiny_flux2.clip)
    b = _first_double(_patched(comfy, tiny_flux2, other), tiny_flux2.clip)
    pa, pb = _prefix(flux2_regs), _prefix(other)
    assert torch.allclose(a["txt"][:, pa:], b["txt"][:, pb:], atol=1e-6)
    assert not torch.allclose(a["txt"][:, :flux2_regs.lengths[0]].mean(1), b["txt"][:, :other.lengths[0]].mean(1))


def _unpadded(regs):
    """The regions as a text encoder that pads nothing (Flux.2 dev's Mistral) hands them over: each encoding as
    long as its real tokens."""
    return dataclasses.replace(regs, embeddings=[e[:, :n] for e, n in zip(regs.embeddings, regs.lengths)],
                               empty=regs.empty[:, :regs.empty_length])


@pytest.mark.parametrize("encoder", ["as encoded", "padding cut"])
@pytest.mark.parametrize("block", ["double", "single"])
def test_each_text_keeps_the_positions_it_has_alone(comfy, tiny_flux2, flux2_regs, encoder, block):
    """The rotary table a block uses: the prompt's and the image's rows are the unpatched model's, bit for bit;
    each local prompt and the empty prompt take the positions of their real tokens as a prompt of their own: from
    0 when the encoder padded it to 512, ending at 511 when the model pads it at the front."""
    regs = flux2_regs if encoder == "as encoded" else _unpadded(flux2_regs)
    vanilla = _first(block, tiny_flux2.model, tiny_flux2.clip)["pe"]
    patched = _first(block, _patched(comfy, tiny_flux2, regs), tiny_flux2.clip)["pe"]
    prefix = _prefix(regs)
    assert vanilla.shape[2] == TEXT + GRID and patched.shape[2] == vanilla.shape[2] + prefix
    assert torch.equal(patched[:, :, prefix:], vanilla)
    embedder = tiny_flux2.model.model.diffusion_model.pe_embedder
    start = 0
    for n, encoded in zip(list(regs.lengths) + [regs.empty_length],
                          [e.shape[1] for e in regs.embeddings] + [regs.empty.shape[1]]):
        first = 0 if encoded == TEXT else TEXT - n
        ids = torch.zeros(1, n, 4)
        ids[..., 3] = first + torch.arange(n, dtype=torch.float32)
        assert torch.equal(patched[:, :, start:start + n], embedder(ids).to(patched.dtype)), (start, n, first)
        start += n


def test_negative_rows_are_untouched_and_batches_work(comfy, tiny_flux2, flux2_regs):
    """cfg 4 with a negative (the model pads every prompt to 512, so cond and uncond rows batch; batch 2 each); the
    uncond rows of the first block equal the unpatched model's."""
    vanilla = _first_double(tiny_flux2.model, tiny_flux2.clip, cfg=4.0, batch=2, negative="blurry")
    model = _patched(comfy, tiny_flux2, flux2_regs)
    rt = ps.runtime(comfy, model, trace=True)
    patched = _first_double(model, tiny_flux2.clip, cfg=4.0, batch=2, negative="blurry")
    assert patched["img"].shape[0] == 4, "cond and uncond rows were not batched in one call"
    cond = [c.cond_chunks for c in rt.trace if c.layer == ("model", 0)][0]
    uncond_rows = [r for j in range(2) if j not in cond for r in (2 * j, 2 * j + 1)]
    cond_rows = [r for r in range(4) if r not in uncond_rows]
    assert len(uncond_rows) == 2
    assert torch.allclose(patched["img"][uncond_rows], vanilla["img"][uncond_rows], atol=1e-5, rtol=1e-5)
    assert (patched["img"][cond_rows] - vanilla["img"][cond_rows]).abs().max() > 1e-3
    assert {c.layer for c in rt.trace} >= {("double", 0), ("double", 1), ("single", 0), ("single", 1)}
    assert all(c.grid == (8, 12) for c in rt.trace)


def test_input_model_is_not_mutated(comfy, tiny_flux2, flux2_regs):
    before = _sample(tiny_flux2.model, tiny_flux2.clip)
    _sample(_patched(comfy, tiny_flux2, flux2_regs), tiny_flux2.clip)
    options = tiny_flux2.model.model_options.get("transformer_options", {})
    assert "optimized_attention_override" not in options and "patches_replace" not in options
    assert torch.equal(_sample(tiny_flux2.model, tiny_flux2.clip), before)


def test_blocks_choose_where_the_patch_acts(comfy, tiny_flux2, flux2_regs):
    model = _patched(comfy, tiny_flux2, flux2_regs, blocks="s1")
    rt = ps.runtime(comfy, model, trace=True)
    _sample(model, tiny_flux2.clip, steps=1)
    assert {c.layer for c in rt.trace} == {("model", 0), ("single", 1)}


def test_reference_latents_follow_the_grid_and_take_part_in_the_main_attention_only(comfy, tiny_flux2, flux2_regs):
    """Flux.2's reference images (editing) add tokens after the grid: weight 0 is vanilla bit for bit, and in the
    first block they and the image outside every region compute what vanilla computes."""
    import node_helpers

    ref = torch.randn(1, 128, 8, 12, generator=torch.Generator().manual_seed(3))
    positive = node_helpers.conditioning_set_values(ps.encode(tiny_flux2.clip, PROMPT), {"reference_latents": [ref]},
                                                    append=True)

    def first_block(model, steps=1):
        blocks = model.model.diffusion_model.double_blocks
        capture = Calls(blocks[0], _block_call).during(
            lambda: ps.sample(model, positive, positive, 64, 96, steps=steps, cfg=1.0, scheduler="simple",
                              latent_channels=128))
        return capture.result, capture.calls[0]["out"][0]

    vanilla_out, vanilla = first_block(tiny_flux2.model, steps=2)
    assert vanilla.shape[1] == 2 * GRID
    assert torch.equal(first_block(_patched(comfy, tiny_flux2, flux2_regs, weights=(0.0, 0.0)), steps=2)[0],
                       vanilla_out)
    model = _patched(comfy, tiny_flux2, flux2_regs)
    patched = first_block(model)[1]
    inside = ps.runtime(comfy, model).region_masks(8, 12).amax(dim=0) > 0
    keep = torch.cat([~inside, torch.ones(GRID, dtype=torch.bool)])
    assert torch.allclose(patched[:, keep], vanilla[:, keep], atol=1e-5, rtol=1e-5)
    assert (patched[:, :GRID][:, inside] - vanilla[:, :GRID][:, inside]).abs().max() > 1e-3
