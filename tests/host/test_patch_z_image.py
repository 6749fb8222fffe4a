"""The patch on a Z-Image-shaped NextDiT built from ComfyUI's own classes (tiny widths, random weights, a tiny Qwen3
text encoder with the real tokenizer and template), sampled by the real samplers: the joint-attention guarantees
(docs/dit-method.md), and Z-Image's caption handling: the prompt's padding, positions and context refinement and
the image's positions stay the unpatched model's, each local prompt is a caption of its own (padded to 32,
positions 1..L_i, refined alone).

The patch needs NextDiT.embed_cap (ComfyUI 0.33.0); on a core without it (0.3.75) the patch refuses Z-Image with
an error naming the node and the model class, which is tested there; the other tests skip on such a core."""
from __future__ import annotations

import pytest
import torch

from support import patch_support as ps
from support.capture import Hooks, detached

PROMPT = "a red cat and a blue dog"
SAME_LENGTH = "a blue cat and a red dog"        # a negative as long as the prompt, so CFG batches it with the cond
GRID = 4 * 6                                    # 64 x 96 px: an 8 x 12 latent in 2 x 2 patches


def _has_seam(tiny_z_image) -> bool:
    return hasattr(tiny_z_image.model.model.diffusion_model, "embed_cap")


@pytest.fixture(scope="module")
def z(comfy, tiny_z_image):
    if not _has_seam(tiny_z_image):
        pytest.skip("this core's NextDiT has no embed_cap: the patch refuses Z-Image here "
                    "(test_cores_without_embed_cap_refuse_z_image)")
    return tiny_z_image


@pytest.fixture(scope="module")
def z_regs(comfy, z):
    return ps.regions(comfy, z.clip)


def _sample(model, clip, cfg=1.0, batch=1, steps=2, negative=PROMPT):
    return ps.sample(model, ps.encode(clip, PROMPT), ps.encode(clip, negative), 64, 96, steps=steps, cfg=cfg,
                     scheduler="simple", batch=batch, latent_channels=16)


def _patched(comfy, z, regs, weights=(1.5, 0.7), **kw):
    return ps.patch(comfy, z.model, regs, ps.constant_weights(comfy, weights), **kw)


def _padded(n: int) -> int:
    return n + (-n) % 32


def _prefix(regs) -> int:
    """Joint-sequence tokens the local prompts and the empty prompt add: each a caption padded to 32."""
    return sum(_padded(n) for n in regs.lengths) + _padded(regs.empty_length)


class Capture(Hooks):
    """Forward hooks on the first joint layer and on each refiner layer of the first model call."""

    def __init__(self, model):
        super().__init__()
        diffusion = model.model.diffusion_model
        self.layer, self.context, self.noise = [], [], []
        self.handles = [diffusion.layers[0].register_forward_hook(self.record(self.layer)),
                        diffusion.context_refiner[0].register_forward_hook(self.record(self.context)),
                        diffusion.noise_refiner[0].register_forward_hook(self.record(self.noise))]

    @staticmethod
    def record(calls):
        def hook(module, args, output):
            calls.append({"out": detached(output), "freqs": detached(args[2])})
        return hook


def _first_call(model, clip, **kw) -> Capture:
    return Capture(model).during(lambda: _sample(model, clip, steps=1, **kw))


def test_cores_without_embed_cap_refuse_z_image(comfy, tiny_z_image):
    if _has_seam(tiny_z_image):
        pytest.skip("this core's NextDiT has embed_cap: the patch supports Z-Image here")
    regs = ps.regions(comfy, tiny_z_image.clip)
    with pytest.raises(ValueError, match=r"^SpaceTime Attention Patch: the patch does not know this model \(NextDiT\)"
                                         r".*Z-Image \(.*NextDiT\.embed_cap"):
        _patched(comfy, tiny_z_image, regs)


def test_patched_sampling_differs_and_is_finite(comfy, z, z_regs):
    vanilla = _sample(z.model, z.clip)
    patched = _sample(_patched(comfy, z, z_regs), z.clip)
    assert torch.isfinite(patched).all() and not torch.equal(patched, vanilla)


@pytest.mark.parametrize("case", ["zero weights", "outside the step window"])
def test_zero_weights_reproduce_vanilla_bit_for_bit(comfy, z, z_regs, case):
    vanilla = _sample(z.model, z.clip, cfg=3.0, batch=2, negative="blurry")
    model = (_patched(comfy, z, z_regs, weights=(0.0, 0.0)) if case == "zero weights"
             else _patched(comfy, z, z_regs, start_percent=0.99, end_percent=1.0))
    assert torch.equal(_sample(model, z.clip, cfg=3.0, batch=2, negative="blurry"), vanilla)


def test_the_prompt_is_refined_alone_and_each_local_prompt_as_a_caption_of_its_own(comfy, z, z_regs):
    """The context refiner refines the prompt exactly as the unpatched model does (first call, bit for bit), then
    each local prompt and the empty prompt alone, padded to 32; the image-only noise refiner is untouched."""
    vanilla = _first_call(z.model, z.clip)
    patched = _first_call(_patched(comfy, z, z_regs), z.clip)
    texts = list(z_regs.lengths) + [z_regs.empty_length]
    assert len(vanilla.context) == 1 and len(patched.context) == 1 + len(texts)
    assert torch.equal(patched.context[0]["out"], vanilla.context[0]["out"])
    assert [c["out"].shape[1] for c in patched.context[1:]] == [_padded(n) for n in texts]
    assert torch.equal(patched.noise[0]["out"], vanilla.noise[0]["out"])


def test_first_patched_block_keeps_the_prompt_and_the_image_outside_every_region(comfy, z, z_regs):
    vanilla = _first_call(z.model, z.clip).layer[0]["out"]
    model = _patched(comfy, z, z_regs)
    patched = _first_call(model, z.clip).layer[0]["out"]
    prefix = _prefix(z_regs)
    caption = vanilla.shape[1] - _padded(GRID)
    assert patched.shape[1] == vanilla.shape[1] + prefix
    assert torch.allclose(patched[:, prefix:prefix + caption], vanilla[:, :caption], atol=1e-5, rtol=1e-5)
    image_v, image_p = vanilla[:, caption:caption + GRID], patched[:, prefix + caption:prefix + caption + GRID]
    inside = ps.runtime(comfy, model).region_masks(4, 6).amax(dim=0) > 0
    assert 0 < int(inside.sum()) < GRID
    assert torch.allclose(image_p[:, ~inside], image_v[:, ~inside], atol=1e-5, rtol=1e-5)
    assert (image_p[:, inside] - image_v[:, inside]).abs().max() > 1e-3
    assert torch.allclose(patched[:, prefix + caption + GRID:], vanilla[:, caption + GRID:], atol=1e-5, rtol=1e-5)


def test_the_prompt_never_reads_the_local_prompts(comfy, z, z_regs):
    other = ps.regions(comfy, z.clip, phrases=("a green frog", "a yellow bird sitting on a long branch"))
    a = _first_call(_patched(comfy, z, z_regs), z.clip).layer[0]["out"]
    b = _first_call(_patched(comfy, z, other), z.clip).layer[0]["out"]
    pa, pb = _prefix(z_regs), _prefix(other)
    caption = _padded(ps.encode(z.clip, PROMPT)[0][0].shape[1])
    assert a.shape[1] == pa + caption + _padded(GRID) and b.shape[1] == pb + caption + _padded(GRID)
    assert torch.allclose(a[:, pa:pa + caption], b[:, pb:pb + caption], atol=1e-6)
    assert not torch.allclose(a[:, :32].mean(1), b[:, :32].mean(1))


def test_positions_keep_the_prompt_and_image_and_give_each_local_prompt_its_own_caption_positions(comfy, z, z_regs):
    """The rotary table of the first joint layer: the prompt's and the image's rows (the image on axis 0 right
    after the prompt's padded caption) are the unpatched model's, bit for bit; each local prompt's rows are those
    of a caption of its own: axis 0 = 1..L_i padded to 32, axes 1 and 2 zero."""
    vanilla = _first_call(z.model, z.clip).layer[0]["freqs"]
    patched = _first_call(_patched(comfy, z, z_regs), z.clip).layer[0]["freqs"]
    prefix = _prefix(z_regs)
    assert patched.shape[1] == vanilla.shape[1] + prefix
    assert torch.equal(patched[:, prefix:], vanilla)
    embedder = z.model.model.diffusion_model.rope_embedder
    start = 0
    for n in [_padded(n) for n in list(z_regs.lengths) + [z_regs.empty_length]]:
        ids = torch.zeros(1, n, 3)
        ids[:, :, 0] = torch.arange(n, dtype=torch.float32) + 1.0
        assert torch.equal(patched[:, start:start + n], embedder(ids).movedim(1, 2))
        start += n


def test_negative_rows_are_untouched_and_batches_and_non_square_latents_work(comfy, z, z_regs):
    vanilla = _first_call(z.model, z.clip, cfg=4.0, batch=2, negative=SAME_LENGTH).layer[0]["out"]
    model = _patched(comfy, z, z_regs)
    rt = ps.runtime(comfy, model, trace=True)
    patched = _first_call(model, z.clip, cfg=4.0, batch=2, negative=SAME_LENGTH).layer[0]["out"]
    assert patched.shape[0] == 4, "cond and uncond rows were not batched in one call"
    cond = [c.cond_chunks for c in rt.trace if c.layer == ("model", 0)][0]
    uncond_rows = [r for j in range(2) if j not in cond for r in (2 * j, 2 * j + 1)]
    cond_rows = [r for r in range(4) if r not in uncond_rows]
    assert len(uncond_rows) == 2
    prefix = _prefix(z_regs)
    assert torch.allclose(patched[uncond_rows, prefix:], vanilla[uncond_rows], atol=1e-5, rtol=1e-5)
    assert (patched[cond_rows, prefix:] - vanilla[cond_rows]).abs().max() > 1e-3
    assert {c.layer for c in rt.trace} >= {("double", 0), ("double", 1)}
    assert all(c.grid == (4, 6) for c in rt.trace)


def test_input_model_is_not_mutated(comfy, z, z_regs):
    before = _sample(z.model, z.clip)
    _sample(_patched(comfy, z, z_regs), z.clip)
    assert not z.model.object_patches
    assert "optimized_attention_override" not in z.model.model_options.get("transformer_options", {})
    assert torch.equal(_sample(z.model, z.clip), before)


def test_blocks_and_their_errors(comfy, z, z_regs):
    model = _patched(comfy, z, z_regs, blocks="d1")
    rt = ps.runtime(comfy, model, trace=True)
    _sample(model, z.clip, steps=1)
    assert {c.layer for c in rt.trace} == {("model", 0), ("double", 1)}
    with pytest.raises(ValueError, match=r"^SpaceTime Attention Patch: blocks: 'd2' is outside this model's 2 "
                                         r"double-stream blocks"):
        _patched(comfy, z, z_regs, blocks="d2")


def test_restricted_region_attention_changes_only_region_tokens(comfy, z, z_regs):
    """Restricted attention with the image's pad tokens after the grid (they stay readable, as the prompt): in the
    first layer only the region cells change."""
    vanilla = _first_call(z.model, z.clip).layer[0]["out"]
    model = _patched(comfy, z, z_regs, weights=(1e-30, 1e-30), region_attention="restricted")
    restricted = _first_call(model, z.clip).layer[0]["out"]
    prefix = _prefix(z_regs)
    caption = vanilla.shape[1] - _padded(GRID)
    inside = torch.cat([ps.runtime(comfy, model).region_masks(4, 6).amax(dim=0) > 0,
                        torch.zeros(_padded(GRID) - GRID, dtype=torch.bool)])
    image_v, image_r = vanilla[:, caption:], restricted[:, prefix + caption:]
    assert torch.allclose(restricted[:, prefix:prefix + caption], vanilla[:, :caption], atol=1e-5, rtol=1e-5)
    assert torch.allclose(image_r[:, ~inside], image_v[:, ~inside], atol=1e-5, rtol=1e-5)
    assert (image_r[:, inside] - image_v[:, inside]).abs().max() > 1e-4
