"""The patch on a Chroma-shaped DiT built from ComfyUI's own classes (tiny widths, random weights, T5 alone with
the real tokenizer), sampled by the real samplers with a negative prompt, as Chroma users run it (CFG, no Flux
guidance). Chroma shares Flux.1's blocks and text positions, so the same family module serves it."""
from __future__ import annotations

import numpy as np
import torch

from support import patch_support as ps
from support.capture import Calls, detached, outputs
from support.tiny_loader import tiny_loader

PROMPT = "a red cat and a blue dog"


def _sample(model, clip, cfg=4.0, batch=1, steps=2, negative="blurry"):
    return ps.sample(model, ps.encode(clip, PROMPT), ps.encode(clip, negative), 64, 96, steps=steps, cfg=cfg,
                     scheduler="simple", batch=batch, latent_channels=16)


def _patched(comfy, tiny, weights=(1.5, 0.7), **kw):
    return ps.patch(comfy, tiny.model, ps.regions(comfy, tiny.clip), ps.constant_weights(comfy, weights), **kw)


def _first_double_block(model, clip, **kw) -> list[list[torch.Tensor]]:
    """The first double block's outputs [img, txt] in each model call of one sampling step."""
    return Calls(model.model.diffusion_model.double_blocks[0], outputs).during(
        lambda: _sample(model, clip, steps=1, **kw)).calls


def test_the_family_serves_chroma_and_sampling_differs(comfy, tiny_chroma):
    assert comfy.pack_module("bridge.patch").family_name(tiny_chroma.model) == "flux"
    vanilla = _sample(tiny_chroma.model, tiny_chroma.clip)
    patched = _sample(_patched(comfy, tiny_chroma), tiny_chroma.clip)
    assert torch.isfinite(patched).all() and not torch.equal(patched, vanilla)


def test_zero_weights_and_a_window_outside_the_schedule_reproduce_vanilla_bit_for_bit(comfy, tiny_chroma):
    vanilla = _sample(tiny_chroma.model, tiny_chroma.clip, batch=2)
    for model in (_patched(comfy, tiny_chroma, weights=(0.0, 0.0)),
                  _patched(comfy, tiny_chroma, start_percent=0.99, end_percent=1.0)):
        assert torch.equal(_sample(model, tiny_chroma.clip, batch=2), vanilla)


def test_prompt_negative_and_image_outside_the_boxes_compute_what_vanilla_computes(comfy, tiny_chroma):
    """cfg 4, batch 2, a negative of another length (T5 here does not pad, so ComfyUI runs cond and uncond in
    separate calls, the common case for Chroma). In the first double block the negative call, the prompt's tokens
    and the image tokens outside every box equal the unpatched model's (fp32 rounding); inside, they change; the
    added text tokens get Chroma's (Flux.1's) zero positions."""
    model = _patched(comfy, tiny_chroma)
    rt = ps.runtime(comfy, model)
    positions = Calls(tiny_chroma.model.model.diffusion_model.pe_embedder,
                      lambda args, kwargs, out: detached(args[0]))
    patched = positions.during(lambda: _first_double_block(model, tiny_chroma.clip, batch=2)).result
    vanilla = _first_double_block(tiny_chroma.model, tiny_chroma.clip, batch=2)
    regs = rt.regions
    prefix = sum(regs.lengths) + regs.empty_length
    inside = rt.region_masks(4, 6).amax(dim=0) > 0
    assert 0 < int(inside.sum()) < 24
    assert len(patched) == len(vanilla) == 2
    kinds = []
    for (p_img, p_txt), (v_img, v_txt), ids in zip(patched, vanilla, positions.calls):
        assert p_img.shape[0] == 2
        if p_txt.shape == v_txt.shape:                                  # the negative's call: untouched
            kinds.append("uncond")
            assert torch.equal(p_img, v_img) and torch.equal(p_txt, v_txt)
            continue
        kinds.append("cond")
        assert p_txt.shape[1] == v_txt.shape[1] + prefix
        assert torch.allclose(p_txt[:, prefix:], v_txt, atol=1e-5, rtol=1e-5)
        assert torch.allclose(p_img[:, ~inside], v_img[:, ~inside], atol=1e-5, rtol=1e-5)
        assert (p_img[:, inside] - v_img[:, inside]).abs().max() > 1e-3
        text = v_txt.shape[1] + prefix
        assert ids.shape[1] == text + 4 * 6 and not ids[:, :text].any() and ids[:, text:].any()
    assert sorted(kinds) == ["cond", "uncond"]


def test_the_prompt_never_reads_the_local_prompts(comfy, tiny_chroma):
    a = _patched(comfy, tiny_chroma)
    b = ps.patch(comfy, tiny_chroma.model, ps.regions(comfy, tiny_chroma.clip, phrases=("a green frog",
                                                                                       "a yellow bird")),
                 ps.constant_weights(comfy, (1.5, 0.7)))
    pa, pb = (sum(r.lengths) + r.empty_length for r in (ps.runtime(comfy, a).regions, ps.runtime(comfy, b).regions))
    (_, txt_a), (_, txt_b) = (_first_double_block(m, tiny_chroma.clip)[0] for m in (a, b))
    assert torch.allclose(txt_a[:, pa:], txt_b[:, pb:], atol=1e-6)


def test_the_chroma_graph_runs_through_the_executor(comfy, tiny_chroma):
    """A Chroma graph as an API prompt: Predict Layout -> Region Prompt Encode -> the patch -> KSampler with a
    negative prompt at cfg 4 -> VAE Decode -> Preview; the patched image differs from the vanilla branch's."""
    with tiny_loader(comfy, "SpaceTimeTestTinyChroma", {"chroma": tiny_chroma}) as loader:
        prompt = {
            "load": {"class_type": loader, "inputs": {"ckpt_name": "chroma"}},
            "layout": {"class_type": "SpaceTimePredictLayout",
                       "inputs": {"text": PROMPT + " on the left and right", "width": 96, "height": 64, "seed": 0,
                                  "layout_json": ""}},
            "regions": {"class_type": "SpaceTimeRegionPromptEncode",
                        "inputs": {"clip": ["load", 1], "layout": ["layout", 0], "template": "a photo of {phrase}"}},
            "patch": {"class_type": "SpaceTimeAttentionPatch",
                      "inputs": {"model": ["load", 0], "regions": ["regions", 0], "mode": "guidance",
                                 "mask_shape": "box", "radius": 0.2, "feather": 0.0, "strength": 1.0,
                                 "start_percent": 0.0, "end_percent": 1.0}},
            "text": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["load", 1], "text": PROMPT}},
            "negative": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["load", 1], "text": "blurry"}},
            "latent": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 96, "height": 64, "batch_size": 1}},
        }
        ps.add_patched_and_vanilla_branches(prompt, ["text", 0], ["negative", 0], 4.0, vae=["load", 2],
                                            patched=["patch", 0], vanilla=["load", 0])
        run = comfy.run(prompt)
        assert run.success, run.error_text()
        images = {name: ps.preview_image(run, f"{name}_out") for name in ("patched", "vanilla")}
        assert images["patched"].shape == images["vanilla"].shape == (64, 96, 3)
        assert not np.array_equal(images["patched"], images["vanilla"])

