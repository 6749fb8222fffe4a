"""The patch on Wan 2.1 DiTs built from ComfyUI's own classes (text-to-video and image-to-video at width 64, random
weights with non-zero biases and RMSNorm scales; Wan's UMT5-XXL class at width 64), sampled by the real samplers
on a 3-frame latent (and 5 frames for regions that move).

Wan's blocks keep a cross-attention to the text, so the UNet's guarantees hold as written: weight 0 and steps
outside the window reproduce the unpatched model bit for bit; in guidance mode the cells outside every region and
the uncond rows are the unpatched layer's; every layer follows the method's equations (written out here for Wan's
layer: biases on q/k/v/o, RMSNorm over the whole width on queries and keys, the text through the model's
``text_embedding``), for batches of 2, cond and uncond in one call (cfg > 1) or the cond alone (cfg 1: the empty
prompt's baseline), on a non-square grid. Image-to-video: the layer's output less its CLIP-image part follows those
equations, so the image tokens' contribution is untouched. Regions that move: each latent frame sees its
interpolated box (Cosmos's video path too)."""
from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import pytest
import torch

from support import patch_support as ps
from support import reference as ref
from support.capture import CrossAttention, calls_added

PROMPT = "a red cat and a blue dog"
OTHER = "a blue cat and a red dog"
GRID = (4, 6)           # an 8 x 12 latent in (1, 2, 2) patches
FRAMES = 3
END_BOXES = [[0.45, 0.5, 0.9, 1.0], [0.0, 0.0, 0.4, 0.55]]


@pytest.fixture(scope="module")
def tiny(comfy):
    from support.models_wan import tiny_wan

    return tiny_wan()


@pytest.fixture(scope="module")
def tiny_i2v(comfy):
    from support.models_wan import tiny_wan

    return tiny_wan(seed=1, image_to_video=True)


@pytest.fixture(scope="module")
def regs(comfy, tiny):
    return ps.regions(comfy, tiny.clip)


def _conditioning(clip, text, image=None):
    """A prompt's conditioning; with `image` (``[1, 257, 1280]``), as CLIPVisionEncode + WanImageToVideo give it."""
    import node_helpers

    cond = ps.encode(clip, text)
    if image is not None:
        cond = node_helpers.conditioning_set_values(cond, {"clip_vision_output":
                                                           SimpleNamespace(penultimate_hidden_states=image)})
    return cond


def _sample(model, clip, cfg=1.0, batch=1, steps=2, negative=PROMPT, frames=FRAMES, image=None, seed=0):
    return ps.sample(model, _conditioning(clip, PROMPT, image), _conditioning(clip, negative, image), 64, 96,
                     steps=steps, cfg=cfg, scheduler="simple", seed=seed, batch=batch, latent_channels=16,
                     frames=frames)


def _patched(comfy, model, regs, weights=(1.5, 0.7), **kw):
    return ps.patch(comfy, model, regs, ps.constant_weights(comfy, weights), **kw)


def _first_call(model, clip, **kw) -> dict[int, dict]:
    """Every block's cross-attention in the first model call (support.capture.CrossAttention), with its
    image-token count (``context_img_len``) as ``image_tokens``."""
    return CrossAttention(model, keywords={"image_tokens": "context_img_len"}).during(
        lambda: _sample(model, clip, steps=1, **kw)).records


# the layer written out (float64) ----------------------------------------------------------------------------
def _rms(x, norm):
    return x / torch.sqrt((x * x).mean(dim=-1, keepdim=True) + norm.eps) * norm.weight.double()


def _lin(x, linear):
    return x @ linear.weight.double().T + linear.bias.double()


def _heads_attention(q, k, v, heads):
    d = q.shape[-1] // heads
    outs = []
    for j in range(heads):
        sl = slice(j * d, (j + 1) * d)
        outs.append(torch.softmax(q[:, sl] @ k[:, sl].T / math.sqrt(d), dim=-1) @ v[:, sl])
    return torch.cat(outs, dim=-1)


def layer(attn, h, text, image=None):
    """Wan's cross-attention on one sample: ``o(attn(q, text) [+ attn(q, image)])``, text already embedded."""
    h, text = h.double(), text.double()
    q = _rms(_lin(h, attn.q), attn.norm_q)
    x = _heads_attention(q, _rms(_lin(text, attn.k), attn.norm_k), _lin(text, attn.v), attn.num_heads)
    if image is not None:
        image = image.double()
        x = x + _heads_attention(q, _rms(_lin(image, attn.k_img), attn.norm_k_img), _lin(image, attn.v_img),
                                 attn.num_heads)
    return _lin(x, attn.o)


def _embedded(tiny, embedding):
    with torch.no_grad():
        return tiny.model.model.diffusion_model.text_embedding(embedding)[0]


def _inside(comfy, model) -> torch.Tensor:
    """The cells inside any (still) region, in every one of the FRAMES frames."""
    return ps.inside_regions(comfy, model, *GRID).repeat(FRAMES)


def _video_masks(boxes, frames=FRAMES):
    """Every region's box mask repeated over the frames (regions that hold still)."""
    return [ref.box_mask(b.tolist(), *GRID).repeat(frames) for b in boxes]


@torch.no_grad()
def _reference_check(tiny, regs, records, weights, mode, masks, atol=1e-5) -> int:
    """Every captured layer against the equations, per row: guidance ``out_c = A(h_c, D) + sum_i M_i w_i
    (A(h_c, L_i) - A(h_u, neg))``, mix ``(1 - sum M w) A(h_c, D) + sum M w A(h_c, L_i)``, uncond rows ``A(h_u, neg)``;
    image-to-video: A carries the layer's image part in the mix and in A(h_c, D), the guidance term is text-only."""
    blocks = tiny.model.model.diffusion_model.blocks
    locals_ = [_embedded(tiny, e) for e in regs.embeddings]
    empty = _embedded(tiny, regs.empty)
    for index, rec in records.items():
        attn = blocks[index].cross_attn
        n_img = rec["image_tokens"] if hasattr(attn, "k_img") else 0

        def parts(row):
            context = rec["context"][row]
            return (context[:n_img], context[n_img:]) if n_img else (None, context)

        def cond_want(row, u):
            hc = rec["h"][row]
            image, prompt = parts(row)
            glob = layer(attn, hc, prompt, image)
            if mode == "guidance":
                base = layer(attn, rec["h"][u], parts(u)[1]) if u is not None else layer(attn, hc, empty)
                return glob + sum(m.view(-1, 1) * w * (layer(attn, hc, L) - base)
                                  for L, m, w in zip(locals_, masks, weights))
            c = [m.view(-1, 1) * w for m, w in zip(masks, weights)]
            return (1 - sum(c)) * glob + sum(ci * layer(attn, hc, L, image) for ci, L in zip(c, locals_))

        def uncond_want(row):
            image, negative = parts(row)
            return layer(attn, rec["h"][row], negative, image)

        ps.check_rows(rec, cond_want, uncond_want, atol, f"block {index}")
    return len(records)


# text-to-video ----------------------------------------------------------------------------------------------
def test_patched_sampling_differs_and_is_finite(comfy, tiny, regs):
    vanilla = _sample(tiny.model, tiny.clip)
    patched = _sample(_patched(comfy, tiny.model, regs), tiny.clip)
    assert patched.shape == (1, 16, FRAMES, 8, 12)
    assert torch.isfinite(patched).all() and not torch.equal(patched, vanilla)


@pytest.mark.parametrize("case", ["zero weights", "outside the step window"])
def test_zero_weights_reproduce_vanilla_bit_for_bit(comfy, tiny, regs, case):
    vanilla = _sample(tiny.model, tiny.clip, cfg=3.0, batch=2, negative="blurry")
    model = (_patched(comfy, tiny.model, regs, weights=(0.0, 0.0)) if case == "zero weights"
             else _patched(comfy, tiny.model, regs, start_percent=0.99, end_percent=1.0))
    assert torch.equal(_sample(model, tiny.clip, cfg=3.0, batch=2, negative="blurry"), vanilla)


def test_outside_every_region_and_the_uncond_rows_are_vanilla_in_guidance_mode(comfy, tiny, regs):
    """First model call, first block (batched cfg 4, batch 2; later blocks see inputs the self-attention has
    spread): the cells outside every region (in every frame) and the uncond rows are the unpatched layer's bit for
    bit; the region cells of the cond rows change."""
    model = _patched(comfy, tiny.model, regs)
    inside = _inside(comfy, model)
    assert 0 < int(inside.sum()) < inside.numel()
    vanilla_call = _first_call(tiny.model, tiny.clip, cfg=4.0, batch=2, negative=OTHER)
    patched_call = _first_call(model, tiny.clip, cfg=4.0, batch=2, negative=OTHER)
    ps.assert_cond_region_cells_alone_change(patched_call[0], vanilla_call[0], inside)


@pytest.mark.parametrize("mode, cfg", [("guidance", 4.0), ("mix", 4.0), ("guidance", 1.0)])
def test_every_layer_follows_the_equations(comfy, tiny, regs, mode, cfg):
    """Batch 2 on a non-square grid over 3 frames; cfg 4 batches cond and uncond in one call, cfg 1 sends the cond
    alone (the guidance baseline is then the empty prompt, through the model's text MLP)."""
    model = _patched(comfy, tiny.model, regs, mode=mode)
    rt = ps.runtime(comfy, model, trace=True)
    records = _first_call(model, tiny.clip, cfg=cfg, batch=2, negative=OTHER)
    assert {c.grid for c in rt.trace} == {GRID}, "regions that hold still share one mask across the frames"
    assert {c.baseline for c in rt.trace} == {"none" if mode == "mix" else
                                              "empty_prompt" if cfg == 1.0 else "uncond_rows"}
    checked = _reference_check(tiny, regs, records, [1.5, 0.7], mode, _video_masks(regs.boxes))
    assert checked == len(tiny.model.model.diffusion_model.blocks)


def test_local_prompts_are_read_as_the_prompt_is_with_its_padding(comfy, tiny, regs):
    """UMT5 pads every text to 512 tokens with zeroed embeddings: each local prompt and the empty prompt have the
    prompt's shape, zero past their own tokens (the model's text MLP turns that padding into the same keys as the
    prompt's padding)."""
    prompt = _first_call(tiny.model, tiny.clip)[0]["context"]
    assert prompt.shape[1] == 512
    for e, n in zip(regs.embeddings + [regs.empty], regs.lengths + [regs.empty_length]):
        assert e.shape[1] == 512 and bool((e[0, n:] == 0).all()) and bool(e[0, :n].abs().sum() > 0)
    assert regs.empty_length < 512 and all(n < 512 for n in regs.lengths)


@pytest.mark.parametrize("cfg", [4.0, 1.0])
def test_local_prompts_go_through_the_text_mlp_once_per_run(comfy, tiny, regs, cfg):
    """The model's text MLP is the model's, not a layer's: each local prompt (and at cfg 1 the empty prompt, the
    baseline) goes through it once per sampling run, not once per layer and step."""
    added = calls_added(tiny.model.model.diffusion_model.text_embedding,
                        lambda: _sample(tiny.model, tiny.clip, cfg=cfg, steps=2),
                        lambda: _sample(_patched(comfy, tiny.model, regs), tiny.clip, cfg=cfg, steps=2))
    assert len(tiny.model.model.diffusion_model.blocks) > 1
    assert added == len(regs.embeddings) + (cfg == 1.0)


def test_blocks_and_their_errors(comfy, tiny, regs):
    model = _patched(comfy, tiny.model, regs, blocks="d1")
    rt = ps.runtime(comfy, model, trace=True)
    _sample(model, tiny.clip, steps=1)
    assert {c.layer for c in rt.trace} == {("double", 1)}
    with pytest.raises(ValueError, match=r"^SpaceTime Attention Patch: blocks: 'd2' is outside this model's 2 "
                                         r"double-stream blocks"):
        _patched(comfy, tiny.model, regs, blocks="d2")


def test_composes_with_an_earlier_object_patch_on_the_cross_attention(comfy, tiny, regs):
    """Another pack's object patch on a block's cross-attention still runs under the patch (chained): outside every
    region the output is that pack's, bit for bit."""
    calls = []
    attn = tiny.model.model.diffusion_model.blocks[0].cross_attn

    def other(x, context, transformer_options={}, **kwargs):
        calls.append(1)
        return type(attn).forward(attn, x, context, transformer_options=transformer_options, **kwargs) * 2.0

    other_model = tiny.model.clone()
    other_model.add_object_patch("diffusion_model.blocks.0.cross_attn.forward", other)
    reference = _first_call(other_model, tiny.clip)[0]["out"]
    model = _patched(comfy, other_model, regs)
    calls.clear()
    patched = _first_call(model, tiny.clip)[0]["out"]
    assert calls, "the earlier object patch was dropped"
    ps.assert_changes_only_inside(patched, reference, _inside(comfy, model))


def test_input_model_is_not_mutated(comfy, tiny, regs):
    before = _sample(tiny.model, tiny.clip)
    _sample(_patched(comfy, tiny.model, regs), tiny.clip)
    assert not tiny.model.object_patches
    assert torch.equal(_sample(tiny.model, tiny.clip), before)


def test_optimize_step_weights_refuses_wan(comfy, tiny, regs):
    node = comfy.pack_module("nodes.optimize_nodes").SpaceTimeOptimizeStepWeights
    with pytest.raises(ValueError, match=r"^Optimize Step Weights: works on UNet models \(SD1.x, SD2.x, SDXL\); this "
                                         r"model is a wan DiT \(WanModel\)\. Give it weights from Step Weights "
                                         r"Schedule"):
        with torch.inference_mode():
            node.execute(model=tiny.model, regions=regs, positive=ps.encode(tiny.clip, PROMPT),
                         negative=ps.encode(tiny.clip, ""), latent={"samples": torch.zeros(1, 16, FRAMES, 8, 12)},
                         seed=0, steps=2, cfg=4.0, sampler_name="euler", scheduler="simple")


# image-to-video ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["guidance", "mix"])
def test_image_to_video_leaves_the_image_tokens_part_untouched(comfy, tiny_i2v, mode):
    """257 CLIP-image tokens before the text, read by k_img/v_img: the patch replaces the text part only. Every
    layer follows the equations with the image part kept (batch 2, cfg 4), and outside every region the layer's
    output is the unpatched one bit for bit (first block)."""
    regs = ps.regions(comfy, tiny_i2v.clip)
    image = torch.randn(1, 257, 1280, generator=torch.Generator().manual_seed(5))
    model = _patched(comfy, tiny_i2v.model, regs, mode=mode)
    records = _first_call(model, tiny_i2v.clip, cfg=4.0, batch=2, negative=OTHER, image=image)
    assert {rec["image_tokens"] for rec in records.values()} == {257}
    checked = _reference_check(tiny_i2v, regs, records, [1.5, 0.7], mode, _video_masks(regs.boxes))
    assert checked == len(tiny_i2v.model.model.diffusion_model.blocks)
    vanilla = _first_call(tiny_i2v.model, tiny_i2v.clip, cfg=4.0, batch=2, negative=OTHER, image=image)
    inside = _inside(comfy, model)
    cond_rows = [2 * j + r for j, c in enumerate(records[0]["cond_or_uncond"]) if c == 0 for r in range(2)]
    got, want = records[0]["out"], vanilla[0]["out"]
    assert torch.equal(got[:, ~inside], want[:, ~inside])
    assert (got[cond_rows][:, inside] - want[cond_rows][:, inside]).abs().max() > 1e-3


def test_image_to_video_zero_weights_reproduce_vanilla_bit_for_bit(comfy, tiny_i2v):
    regs = ps.regions(comfy, tiny_i2v.clip)
    image = torch.randn(1, 257, 1280, generator=torch.Generator().manual_seed(5))
    model = _patched(comfy, tiny_i2v.model, regs, weights=(0.0, 0.0))

    def sample(m):
        return _sample(m, tiny_i2v.clip, cfg=3.0, batch=2, negative="blurry", image=image)

    assert torch.equal(sample(model), sample(tiny_i2v.model))
    # a run in which no weight acts skips the split into text and image parts (an attention over the image)
    k_img = tiny_i2v.model.model.diffusion_model.blocks[0].cross_attn.k_img
    assert calls_added(k_img, lambda: sample(tiny_i2v.model), lambda: sample(model)) == 0


# regions that move ------------------------------------------------------------------------------------------
def _interpolated_boxes(boxes, end_boxes, latent_frames):
    """Written out: pixel frames 0 .. 4(T-1); latent frame 0 = pixel frame 0, latent frame j >= 1 = pixel frames
    4j-3 .. 4j; each latent frame's box is the linear interpolation at the mean of its pixel frames."""
    last = 4 * (latent_frames - 1)
    out = []
    for j in range(latent_frames):
        pixels = [0] if j == 0 else [4 * j - 3, 4 * j - 2, 4 * j - 1, 4 * j]
        t = sum(pixels) / len(pixels) / last
        out.append([[a + t * (b - a) for a, b in zip(start, end)] for start, end in zip(boxes, end_boxes)])
    return out


def _box_cells(boxes) -> torch.Tensor:
    """The cells of one frame inside any of `boxes`."""
    return torch.stack([ref.box_mask(b, *GRID) for b in boxes]).amax(dim=0) > 0


def _moving(regs):
    return dataclasses.replace(regs, end_boxes=torch.tensor(END_BOXES))


def test_moving_regions_give_each_latent_frame_its_interpolated_box(comfy, tiny, regs):
    """A 5-latent-frame video (17 pixel frames): the masks the runtime builds are, frame by frame, the boxes
    interpolated at each latent frame's pixel frames; the first frame has the start boxes."""
    moving = _moving(regs)
    model = _patched(comfy, tiny.model, moving)
    rt = ps.runtime(comfy, model, trace=True)
    records = _first_call(model, tiny.clip, cfg=4.0, batch=2, negative=OTHER, frames=5)
    assert {c.grid for c in rt.trace} == {(5 * GRID[0], GRID[1])}, "moving regions read the frames as one tall grid"
    scale = comfy.pack_module("bridge.families.wan").TIME
    index = rt.region_index(5 * GRID[0], GRID[1], torch.device("cpu"), torch.float32, (5, scale))
    per_frame = _interpolated_boxes(regs.boxes.tolist(), END_BOXES, 5)
    masks = [torch.cat([ref.box_mask(per_frame[j][i], *GRID) for j in range(5)]) for i in range(len(regs))]
    for i, mask in enumerate(masks):
        got = torch.zeros(5 * GRID[0] * GRID[1], dtype=torch.float64)
        got[index.union[index.pos[i]]] = index.values[i].double()
        assert torch.equal(got, mask), f"region {i}"
    assert not torch.equal(masks[0][:GRID[0] * GRID[1]], masks[0][-GRID[0] * GRID[1]:]), "the region moved"
    assert _reference_check(tiny, moving, records, [1.5, 0.7], "guidance", masks) == 2


def test_moving_regions_leave_each_frames_outside_cells_vanilla(comfy, tiny, regs):
    """Guidance mode, 5 latent frames, first block: in every frame the cells outside that frame's boxes are the
    unpatched layer's bit for bit, and that frame's box cells change."""
    model = _patched(comfy, tiny.model, _moving(regs))
    vanilla = _first_call(tiny.model, tiny.clip, frames=5)
    patched = _first_call(model, tiny.clip, frames=5)
    per_frame = _interpolated_boxes(regs.boxes.tolist(), END_BOXES, 5)
    cells = GRID[0] * GRID[1]
    v, p = (c[0]["out"].view(1, 5, cells, -1) for c in (vanilla, patched))
    for j in range(5):
        ps.assert_changes_only_inside(p[:, j], v[:, j], _box_cells(per_frame[j]), f"frame {j}")


def test_cosmos_video_regions_move_the_same_way(comfy, tiny_cosmos):
    """Cosmos-Predict2 shares the token order and Wan 2.1's video VAE: on a 5-frame latent, each frame's cells
    outside its interpolated boxes are the unpatched layer's, its box cells change."""
    regs = _moving(ps.regions(comfy, tiny_cosmos.clip))
    clip = tiny_cosmos.clip

    def first(model):
        run = CrossAttention(model).during(lambda: ps.sample(model, ps.encode(clip, PROMPT), ps.encode(clip, ""),
                                                             64, 96, cfg=1.0, scheduler="simple",
                                                             latent_channels=16, frames=5))
        return run.records[0]["out"].view(1, 5, GRID[0] * GRID[1], -1)

    vanilla = first(tiny_cosmos.model)
    patched = first(_patched(comfy, tiny_cosmos.model, regs))
    per_frame = _interpolated_boxes(regs.boxes.tolist(), END_BOXES, 5)
    for j in range(5):
        ps.assert_changes_only_inside(patched[:, j], vanilla[:, j], _box_cells(per_frame[j]), f"frame {j}")
