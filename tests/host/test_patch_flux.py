"""The patch on a Flux.1-shaped DiT built from ComfyUI's own classes (tiny widths, random weights), sampled by the
real samplers: the guarantees of the joint-attention design (spacetime/joint.py, docs/dit-method.md)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from support import patch_support as ps
from support.capture import detached, first_call, outputs
from support.tiny_loader import tiny_loader

PROMPT = "a red cat and a blue dog"


def _sample(model, clip, height=64, width=96, cfg=1.0, batch=1, steps=2, negative=PROMPT):
    return ps.sample(model, ps.encode(clip, PROMPT), ps.encode(clip, negative), height, width, steps=steps, cfg=cfg,
                     scheduler="simple", batch=batch, latent_channels=16)


@pytest.fixture(scope="module")
def flux_regs(comfy, tiny_flux):
    return ps.regions(comfy, tiny_flux.clip)


def _patched(comfy, tiny_flux, regs, weights=(1.5, 0.7), **kw):
    return ps.patch(comfy, tiny_flux.model, regs, ps.constant_weights(comfy, weights), **kw)


def test_local_prompts_ride_without_their_padding(flux_regs):
    assert [e.shape[1] for e in flux_regs.embeddings] == [256, 256]                 # T5 pads to 256
    assert all(2 < n < 20 for n in flux_regs.lengths) and flux_regs.empty_length == 2


def test_patched_sampling_differs_and_is_finite(comfy, tiny_flux, flux_regs):
    vanilla = _sample(tiny_flux.model, tiny_flux.clip)
    patched = _sample(_patched(comfy, tiny_flux, flux_regs), tiny_flux.clip)
    assert torch.isfinite(patched).all() and not torch.equal(patched, vanilla)


@pytest.mark.parametrize("case", ["zero weights", "outside the step window"])
def test_zero_weights_reproduce_vanilla_bit_for_bit(comfy, tiny_flux, flux_regs, case):
    vanilla = _sample(tiny_flux.model, tiny_flux.clip, cfg=3.0, batch=2)
    model = (_patched(comfy, tiny_flux, flux_regs, weights=(0.0, 0.0)) if case == "zero weights"
             else _patched(comfy, tiny_flux, flux_regs, start_percent=0.99, end_percent=1.0))
    assert torch.equal(_sample(model, tiny_flux.clip, cfg=3.0, batch=2), vanilla)


def test_a_step_outside_the_window_and_the_next_steps_read_nothing_on_the_host(comfy, tiny_flux, flux_regs):
    """Issue 18 on DiTs: inside a run the weights stay on the device, so the patch's host reads (the run's own:
    its schedule) do not grow with the steps; the window [0, 0.4] leaves the later steps with zero weights."""
    from support.op_counter import OpCounter

    model = _patched(comfy, tiny_flux, flux_regs, start_percent=0.0, end_percent=0.4)
    rt = ps.runtime(comfy, model, trace=True)
    _sample(model, tiny_flux.clip)                                  # masks, cells
    extra = {}
    for steps in (2, 5):
        reads = []
        for m in (tiny_flux.model, model):
            with OpCounter() as counter:
                _sample(m, tiny_flux.clip, steps=steps)
            reads.append(counter.host_reads)
        extra[steps] = reads[1] - reads[0]
    assert extra[2] == extra[5], extra
    weights = [c.weights for c in rt.trace if c.layer == ("model", 0)][-5:]       # the 5-step run's calls
    assert weights[0].abs().sum() > 0 and weights[-1].abs().sum() == 0


def _first_block(model, clip, **kw) -> dict:
    """The first double block's outputs (img, txt) in the first model call."""
    img, txt = first_call(model.model.diffusion_model.double_blocks[0], lambda: _sample(model, clip, steps=1, **kw),
                          outputs)
    return {"img": img, "txt": txt}


def test_first_patched_block_keeps_the_prompt_and_the_image_outside_every_region(comfy, tiny_flux, flux_regs):
    """In the first double block: the prompt's text tokens and every image token outside the boxes compute what
    the unpatched model computes (to fp32 rounding); tokens inside the boxes change; the local prompts come first."""
    vanilla = _first_block(tiny_flux.model, tiny_flux.clip)
    patched = _first_block(_patched(comfy, tiny_flux, flux_regs), tiny_flux.clip)
    prefix = sum(flux_regs.lengths) + flux_regs.empty_length
    assert patched["txt"].shape[1] == vanilla["txt"].shape[1] + prefix
    assert torch.allclose(patched["txt"][:, prefix:], vanilla["txt"], atol=1e-5, rtol=1e-5)
    rt = ps.runtime(comfy, _patched(comfy, tiny_flux, flux_regs))
    inside = rt.region_masks(4, 6).amax(dim=0) > 0                                 # 64 x 96 px latent / 2
    assert 0 < int(inside.sum()) < 24
    assert torch.allclose(patched["img"][:, ~inside], vanilla["img"][:, ~inside], atol=1e-5, rtol=1e-5)
    assert (patched["img"][:, inside] - vanilla["img"][:, inside]).abs().max() > 1e-3


def test_the_prompt_never_reads_the_local_prompts(comfy, tiny_flux, flux_regs):
    """Other local prompts change nothing the prompt's tokens compute in the first block, bit for bit."""
    other = ps.regions(comfy, tiny_flux.clip, phrases=("a green frog", "a yellow bird on a branch"))
    a = _first_block(_patched(comfy, tiny_flux, flux_regs), tiny_flux.clip)
    b = _first_block(_patched(comfy, tiny_flux, other), tiny_flux.clip)
    pa = sum(flux_regs.lengths) + flux_regs.empty_length
    pb = sum(other.lengths) + other.empty_length
    assert torch.allclose(a["txt"][:, pa:], b["txt"][:, pb:], atol=1e-6)
    assert not torch.allclose(a["txt"][:, :pa - 2].mean(1), b["txt"][:, :pb - 2].mean(1))


def test_added_text_tokens_get_flux_zero_positions(comfy, tiny_flux, flux_regs):
    ids = first_call(tiny_flux.model.model.diffusion_model.pe_embedder,
                     lambda: _sample(_patched(comfy, tiny_flux, flux_regs), tiny_flux.clip, steps=1),
                     lambda args, kwargs, out: detached(args[0]))
    text = 256 + sum(flux_regs.lengths) + flux_regs.empty_length
    assert ids.shape[1] == text + 4 * 6 and not ids[:, :text].any() and ids[:, text:].any()


def test_negative_rows_are_untouched_and_batches_and_non_square_latents_work(comfy, tiny_flux, flux_regs):
    """cfg 4 batches cond and uncond rows; the uncond rows of the first block equal the unpatched model's."""
    vanilla = _first_block(tiny_flux.model, tiny_flux.clip, cfg=4.0, batch=2, negative="blurry")
    patched_model = _patched(comfy, tiny_flux, flux_regs)
    rt = ps.runtime(comfy, patched_model, trace=True)
    patched = _first_block(patched_model, tiny_flux.clip, cfg=4.0, batch=2, negative="blurry")
    assert patched["img"].shape[0] == 4
    cond_or_uncond = [c.cond_chunks for c in rt.trace if c.layer == ("model", 0)][0]
    uncond_rows = [r for j in range(2) if j not in cond_or_uncond for r in (2 * j, 2 * j + 1)]
    cond_rows = [r for r in range(4) if r not in uncond_rows]
    assert len(uncond_rows) == 2, "cond and uncond rows were not batched in one call"
    assert torch.allclose(patched["img"][uncond_rows], vanilla["img"][uncond_rows], atol=1e-5, rtol=1e-5)
    assert (patched["img"][cond_rows] - vanilla["img"][cond_rows]).abs().max() > 1e-3
    blocks = {c.layer for c in rt.trace}
    assert {("double", 0), ("double", 1), ("single", 0), ("single", 1)} <= blocks
    assert all(c.grid == (4, 6) for c in rt.trace)


def test_input_model_is_not_mutated(comfy, tiny_flux, flux_regs):
    before = _sample(tiny_flux.model, tiny_flux.clip)
    _sample(_patched(comfy, tiny_flux, flux_regs), tiny_flux.clip)
    assert "optimized_attention_override" not in tiny_flux.model.model_options.get("transformer_options", {})
    assert torch.equal(_sample(tiny_flux.model, tiny_flux.clip), before)


def test_blocks_choose_where_the_patch_acts(comfy, tiny_flux, flux_regs):
    for blocks, expected in (("double", {("double", 0), ("double", 1)}), ("every other", {("double", 0),
                                                                                         ("single", 0)}),
                             ("d1, s0-s1", {("double", 1), ("single", 0), ("single", 1)})):
        model = _patched(comfy, tiny_flux, flux_regs, blocks=blocks)
        rt = ps.runtime(comfy, model, trace=True)
        _sample(model, tiny_flux.clip, steps=1)
        assert {c.layer for c in rt.trace} - {("model", 0)} == expected, blocks
    with pytest.raises(ValueError, match=r"^SpaceTime Attention Patch: blocks: 'd5' is outside this model's 2 "
                                         r"double-stream blocks"):
        _patched(comfy, tiny_flux, flux_regs, blocks="d5")


def test_restricted_region_attention_changes_only_region_tokens(comfy, tiny_flux, flux_regs):
    open_ = _first_block(_patched(comfy, tiny_flux, flux_regs, weights=(0.0, 0.0)), tiny_flux.clip)
    zero = _patched(comfy, tiny_flux, flux_regs, weights=(1e-30, 1e-30), region_attention="restricted")
    restricted = _first_block(zero, tiny_flux.clip)
    inside = ps.runtime(comfy, zero).region_masks(4, 6).amax(dim=0) > 0
    assert torch.allclose(restricted["txt"][:, -256:], open_["txt"][:, -256:], atol=1e-5)
    assert torch.allclose(restricted["img"][:, ~inside], open_["img"][:, ~inside], atol=1e-5)
    assert (restricted["img"][:, inside] - open_["img"][:, inside]).abs().max() > 1e-4


def test_a_background_description_covers_what_the_boxes_leave(comfy, tiny_flux):
    node = comfy.node_class("SpaceTimeRegionPromptEncode")
    with torch.inference_mode():
        regs = node.execute(tiny_flux.clip, ps.make_layout(ps.TWO_BOXES, ["a red cat", "a blue dog"]),
                            background="a sunny meadow").result[0]
    assert regs.background and regs.prompts[-1] == "a sunny meadow" and len(regs) == 3
    model = _patched(comfy, tiny_flux, regs, weights=(1.5, 0.7, 1.0))
    masks = ps.runtime(comfy, model).region_masks(4, 6)
    assert torch.equal(masks[2], 1 - masks[:2].amax(dim=0))
    assert torch.isfinite(_sample(model, tiny_flux.clip)).all()


def test_the_flux_graph_runs_through_the_executor(comfy, tiny_flux):
    """A user's Flux graph as an API prompt: Predict Layout -> Region Prompt Encode -> the patch -> FluxGuidance and
    KSampler at cfg 1 -> VAE Decode -> Preview; the patched image differs from the same graph's vanilla branch."""
    with tiny_loader(comfy, "SpaceTimeTestTinyFlux", {"flux": tiny_flux}) as loader:
        prompt = {
            "load": {"class_type": loader, "inputs": {"ckpt_name": "flux"}},
            "layout": {"class_type": "SpaceTimePredictLayout",
                       "inputs": {"text": PROMPT + " on the left and right", "width": 96, "height": 64, "seed": 0,
                                  "layout_json": ""}},
            "regions": {"class_type": "SpaceTimeRegionPromptEncode",
                        "inputs": {"clip": ["load", 1], "layout": ["layout", 0], "template": "a photo of {phrase}",
                                   "background": "a sunny meadow"}},
            "patch": {"class_type": "SpaceTimeAttentionPatch",
                      "inputs": {"model": ["load", 0], "regions": ["regions", 0], "mode": "guidance",
                                 "mask_shape": "box", "radius": 0.2, "feather": 0.0, "strength": 1.0,
                                 "start_percent": 0.0, "end_percent": 1.0, "blocks": "every other",
                                 "region_attention": "restricted"}},
            "text": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["load", 1], "text": PROMPT}},
            "guided": {"class_type": "FluxGuidance", "inputs": {"conditioning": ["text", 0], "guidance": 3.5}},
            "latent": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 96, "height": 64, "batch_size": 1}},
        }
        ps.add_patched_and_vanilla_branches(prompt, ["guided", 0], ["guided", 0], 1.0, vae=["load", 2], patched=["patch", 0],
                                            vanilla=["load", 0])
        run = comfy.run(prompt)
        assert run.success, run.error_text()
        images = {name: ps.preview_image(run, f"{name}_out") for name in ("patched", "vanilla")}
        assert images["patched"].shape == images["vanilla"].shape == (64, 96, 3)
        assert not np.array_equal(images["patched"], images["vanilla"])

