"""The patch on a Flux.1-shaped DiT built from ComfyUI's own classes (tiny widths, random weights), sampled by the
real samplers: the guarantees of the joint-attention design (spacetime/joint.py, docs/dit-method.md). Those every
joint-attention DiT shares run from support.joint_attention_contract (`TestContract`)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from support import patch_support as ps
from support.capture import detached, first_call, outputs
from support.joint_attention_contract import JointAttentionContract, patched as _patched, prefix
from support.patch_contract import SAME_LENGTH
from support.tiny_loader import tiny_loader

PROMPT = "a red cat and a blue dog"


def _sample(model, clip, height=64, width=96, cfg=1.0, batch=1, steps=2, negative=PROMPT):
    return ps.sample(model, ps.encode(clip, PROMPT), ps.encode(clip, negative), height, width, steps=steps, cfg=cfg,
                     scheduler="simple", batch=batch, latent_channels=16)


@pytest.fixture(scope="module")
def tiny(comfy, tiny_flux):
    return tiny_flux


@pytest.fixture(scope="module")
def regs(comfy, tiny_flux):
    return ps.regions(comfy, tiny_flux.clip)


def test_local_prompts_ride_without_their_padding(regs):
    assert [e.shape[1] for e in regs.embeddings] == [256, 256]                 # T5 pads to 256
    assert all(2 < n < 20 for n in regs.lengths) and regs.empty_length == 2


def test_a_step_outside_the_window_and_the_next_steps_read_nothing_on_the_host(comfy, tiny, regs):
    """Issue 18 on DiTs: inside a run the weights stay on the device, so the patch's host reads (the run's own:
    its schedule) do not grow with the steps; the window [0, 0.4] leaves the later steps with zero weights."""
    from support.op_counter import OpCounter

    model = _patched(comfy, tiny, regs, start_percent=0.0, end_percent=0.4)
    rt = ps.runtime(comfy, model, trace=True)
    _sample(model, tiny.clip)                                  # masks, cells
    extra = {}
    for steps in (2, 5):
        reads = []
        for m in (tiny.model, model):
            with OpCounter() as counter:
                _sample(m, tiny.clip, steps=steps)
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


class TestContract(JointAttentionContract):
    GRID = (4, 6)                               # 64 x 96 px: an 8 x 12 latent in 2 x 2 patches
    BLOCKS = {("double", 0), ("double", 1), ("single", 0), ("single", 1)}
    ATTENTION_ONLY = {"modulation": "global"}   # regional modulation changes the boxes' tokens before attention
    sample = staticmethod(_sample)
    first_block = staticmethod(_first_block)


def test_added_text_tokens_get_flux_zero_positions(comfy, tiny, regs):
    ids = first_call(tiny.model.model.diffusion_model.pe_embedder,
                     lambda: _sample(_patched(comfy, tiny, regs), tiny.clip, steps=1),
                     lambda args, kwargs, out: detached(args[0]))
    text = 256 + sum(regs.lengths) + regs.empty_length
    assert ids.shape[1] == text + 4 * 6 and not ids[:, :text].any() and ids[:, text:].any()


def test_blocks_choose_where_the_patch_acts(comfy, tiny, regs):
    for blocks, expected in (("double", {("double", 0), ("double", 1)}), ("every other", {("double", 0),
                                                                                         ("single", 0)}),
                             ("d1, s0-s1", {("double", 1), ("single", 0), ("single", 1)})):
        model = _patched(comfy, tiny, regs, blocks=blocks)
        rt = ps.runtime(comfy, model, trace=True)
        _sample(model, tiny.clip, steps=1)
        assert {c.layer for c in rt.trace} - {("model", 0)} == expected, blocks
    with pytest.raises(ValueError, match=r"^SpaceTime Attention Patch: blocks: 'd5' is outside this model's 2 "
                                         r"double-stream blocks"):
        _patched(comfy, tiny, regs, blocks="d5")


def test_restricted_region_attention_changes_only_region_tokens(comfy, tiny, regs):
    open_ = _first_block(_patched(comfy, tiny, regs, weights=(0.0, 0.0)), tiny.clip)
    zero = _patched(comfy, tiny, regs, weights=(1e-30, 1e-30), region_attention="restricted")
    restricted = _first_block(zero, tiny.clip)
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



FIELDS = ("shift", "scale", "gate")


def _first_modulation(model, clip, block, **kw) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The vec a block's modulation read in the first model call and the shift, scale and gate it gave."""
    return first_call(block, lambda: _sample(model, clip, steps=1, **kw),
                      lambda args, kwargs, out: (detached(args[0]), [detached(getattr(out[0], f)) for f in FIELDS]))


@pytest.mark.parametrize("kind", ["double", "single"])
def test_regional_modulation_gives_each_box_its_local_prompts_pooled_text(comfy, tiny, regs, kind):
    """Inside box i a block modulates the image as the model would for vec + vector_in(pooled_i) - vector_in(y),
    blended by the box's weight up to 1 (1.5 -> all of it, 0.7 -> 70 %); text tokens, cells outside every box and
    the negative's rows keep the model's own modulation exactly."""
    flux = tiny.model.model.diffusion_model
    module = flux.double_blocks[0].img_mod if kind == "double" else flux.single_blocks[0].modulation
    model = _patched(comfy, tiny, regs)
    rt = ps.runtime(comfy, model, trace=True)
    vec, got = _first_modulation(model, tiny.clip, module, cfg=4.0, negative=SAME_LENGTH)
    cond = [c.cond_chunks for c in rt.trace if c.layer == ("model", 0)][0]
    assert vec.shape[0] == 2 and len(cond) == 1
    row, other = cond[0], 1 - cond[0]
    y = ps.encode(tiny.clip, PROMPT)[0][1]["pooled_output"]
    pooled = torch.cat([p.reshape(1, -1) for p in regs.pooled])
    masks = rt.region_masks(4, 6)
    share = masks.t() * torch.tensor([1.0, 0.7])                                   # [cells, R]: mask x min(w, 1)
    with torch.no_grad():
        own = type(module).forward(module, vec)[0]
        local = type(module).forward(module, vec[row] + flux.vector_in(pooled) - flux.vector_in(y))[0]
    n_text = got[0].shape[1] - 24
    assert n_text == (0 if kind == "double" else 256 + prefix(regs))
    for f, g in zip(FIELDS, got):
        base = getattr(own, f)
        assert torch.equal(g[other], base[other].expand_as(g[other]))            # the negative: the model's own
        assert torch.equal(g[row, :n_text], base[row].expand(n_text, -1))         # text tokens: the model's own
        expected = base[row] + share @ (getattr(local, f)[:, 0] - base[row])
        assert torch.allclose(g[row, n_text:], expected, atol=1e-5, rtol=1e-4), f
        outside = masks.amax(dim=0) == 0
        assert outside.any() and torch.equal(g[row, n_text:][outside], base[row].expand(int(outside.sum()), -1))
        assert (g[row, n_text:][~outside] - base[row]).abs().max() > 1e-4


def test_global_modulation_leaves_the_blocks_modulation_alone(comfy, tiny, regs):
    module = tiny.model.model.diffusion_model.double_blocks[0].img_mod
    model = _patched(comfy, tiny, regs, modulation="global")
    assert not any(name.endswith("img_mod.forward") or name.endswith("modulation.forward")
                   for name in model.object_patches)
    assert _first_modulation(model, tiny.clip, module)[1][0].shape[1] == 1


def test_a_bad_modulation_names_the_node_and_the_field(comfy, tiny, regs):
    with pytest.raises(ValueError, match=r"^SpaceTime Attention Patch: modulation must be one of \['regional', "
                                         r"'global'\], got 'local'"):
        _patched(comfy, tiny, regs, modulation="local")


def test_calls_with_reference_images_keep_the_prompts_modulation(comfy, tiny, regs, caplog):
    """Flux.1 Kontext's reference tokens follow the image in the double blocks, where the regional modulation has
    no cells for them: such calls keep the prompt's modulation (said once) and the attention term still acts."""
    import node_helpers

    ref = torch.randn(1, 16, 8, 12, generator=torch.Generator().manual_seed(3))
    positive = node_helpers.conditioning_set_values(ps.encode(tiny.clip, PROMPT), {"reference_latents": [ref]},
                                                    append=True)
    module = tiny.model.model.diffusion_model.double_blocks[0].img_mod

    def run(model):
        return ps.sample(model, positive, positive, 64, 96, steps=1, cfg=1.0, scheduler="simple",
                         latent_channels=16)

    model = _patched(comfy, tiny, regs)
    with caplog.at_level("WARNING"):
        mods = first_call(module, lambda: run(model), lambda args, kwargs, out: detached(out[0].shift))
    assert mods.shape[1] == 1
    assert "reference images" in caplog.text
    assert not torch.equal(run(model), run(tiny.model))
