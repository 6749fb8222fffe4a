"""The patch on a Flux.2-shaped DiT built from ComfyUI's own classes (tiny widths, random weights, shared modulation,
a tiny Qwen3 text encoder with the real tokenizer and template: Klein's, or Z-Image's on a core without Klein),
sampled by the real samplers: the joint-attention
guarantees (docs/dit-method.md), and Flux.2's numbered text: the prompt's and the image's positions stay the
unpatched model's, and each local prompt takes the positions it has as a prompt of its own. The guarantees every
joint-attention DiT shares run from support.joint_attention_contract (`TestContract`)."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from support import patch_support as ps
from support.capture import Calls, detached, first_call, outputs
from support.joint_attention_contract import JointAttentionContract, patched as _patched, prefix as _prefix

PROMPT = "a red cat and a blue dog"
CELLS = 8 * 12                                  # 64 x 96 px: an 8 x 12 latent in 1 x 1 patches
TEXT = 512                                      # every Flux.2 context is padded to 512 tokens


def _sample(model, clip, cfg=1.0, batch=1, steps=2, negative=PROMPT):
    return ps.sample(model, ps.encode(clip, PROMPT), ps.encode(clip, negative), 64, 96, steps=steps, cfg=cfg,
                     scheduler="simple", batch=batch, latent_channels=128)


@pytest.fixture(scope="module")
def tiny(comfy, tiny_flux2):
    return tiny_flux2


@pytest.fixture(scope="module")
def regs(comfy, tiny_flux2):
    return ps.regions(comfy, tiny_flux2.clip)


def _block_call(args, kwargs, output) -> dict:
    """A block's call: its outputs and its rotary table."""
    return {"out": outputs(args, kwargs, output), "pe": detached(kwargs["pe"])}


def _first(block_kind: str, model, clip, index: int = 0, **kw) -> dict:
    blocks = getattr(model.model.diffusion_model, f"{block_kind}_blocks")
    return first_call(blocks[index], lambda: _sample(model, clip, steps=1, **kw), _block_call)


def _first_double(model, clip, **kw) -> dict:
    img, txt = _first("double", model, clip, **kw)["out"]
    return {"img": img, "txt": txt}


class TestContract(JointAttentionContract):
    GRID = (8, 12)
    BLOCKS = {("double", 0), ("double", 1), ("single", 0), ("single", 1)}
    sample = staticmethod(_sample)
    first_block = staticmethod(_first_double)


def test_flux2_is_its_own_family_and_local_prompts_ride_without_padding(comfy, tiny, regs):
    families = comfy.pack_module("bridge.families")
    family, layers = families.family_of(tiny.model)
    assert family.NAME == "flux2" and set(layers) == TestContract.BLOCKS
    assert "Flux.2" in families.supported()
    encoded = [e.shape[1] for e in regs.embeddings]
    assert encoded in ([TEXT, TEXT], regs.lengths)              # Klein's Qwen3 pads to 512; Z-Image's pads nothing
    assert all(5 < n < 40 for n in regs.lengths) and 0 < regs.empty_length < min(regs.lengths)


def _unpadded(regs):
    """The regions as a text encoder that pads nothing (Flux.2 dev's Mistral) hands them over: each encoding as
    long as its real tokens."""
    return dataclasses.replace(regs, embeddings=[e[:, :n] for e, n in zip(regs.embeddings, regs.lengths)],
                               empty=regs.empty[:, :regs.empty_length])


def _pe_alone(block: str, model, encoding: torch.Tensor) -> torch.Tensor:
    """The rotary table `block` uses when the unpatched model samples with `encoding` as the whole prompt."""
    cond = [[encoding, {"pooled_output": None}]]
    blocks = getattr(model.model.diffusion_model, f"{block}_blocks")
    return first_call(blocks[0], lambda: ps.sample(model, cond, cond, 64, 96, steps=1, cfg=1.0, scheduler="simple",
                                                   latent_channels=128), _block_call)["pe"]


@pytest.mark.parametrize("encoder", ["as encoded", "padding cut"])
@pytest.mark.parametrize("block", ["double", "single"])
def test_each_text_keeps_the_positions_it_has_alone(comfy, tiny, regs, encoder, block):
    """The rotary table a block uses: the prompt's and the image's rows are the unpatched model's, bit for bit;
    each local prompt and the empty prompt take the rows its real tokens get when the unpatched model samples it
    as the whole prompt (the model pads it at the front to 512 where its encoder did not: from 0 when the encoder
    padded it to 512, ending at 511 when not), Flux.2's numbered axis."""
    regs = regs if encoder == "as encoded" else _unpadded(regs)
    vanilla = _first(block, tiny.model, tiny.clip)["pe"]
    patched = _first(block, _patched(comfy, tiny, regs), tiny.clip)["pe"]
    prefix = _prefix(regs)
    assert vanilla.shape[2] == TEXT + CELLS and patched.shape[2] == vanilla.shape[2] + prefix
    assert torch.equal(patched[:, :, prefix:], vanilla)
    embedder = tiny.model.model.diffusion_model.pe_embedder
    start = 0
    for n, encoding in zip(list(regs.lengths) + [regs.empty_length], list(regs.embeddings) + [regs.empty]):
        alone = _pe_alone(block, tiny.model, encoding)
        padding = alone.shape[2] - CELLS - encoding.shape[1]        # what the model put in front
        assert torch.equal(patched[:, :, start:start + n], alone[:, :, padding:padding + n]), (start, n)
        first = 0 if encoding.shape[1] == TEXT else TEXT - n
        ids = torch.zeros(1, n, 4)
        ids[..., 3] = first + torch.arange(n, dtype=torch.float32)
        assert torch.equal(patched[:, :, start:start + n], embedder(ids).to(patched.dtype)), (start, n, first)
        start += n


def test_blocks_choose_where_the_patch_acts(comfy, tiny, regs):
    model = _patched(comfy, tiny, regs, blocks="s1")
    rt = ps.runtime(comfy, model, trace=True)
    _sample(model, tiny.clip, steps=1)
    assert {c.layer for c in rt.trace} == {("model", 0), ("single", 1)}


def test_reference_latents_follow_the_grid_and_take_part_in_the_main_attention_only(comfy, tiny, regs):
    """Flux.2's reference images (editing) add tokens after the grid: weight 0 is vanilla bit for bit, and in the
    first block they and the image outside every region compute what vanilla computes."""
    import node_helpers

    ref = torch.randn(1, 128, 8, 12, generator=torch.Generator().manual_seed(3))
    positive = node_helpers.conditioning_set_values(ps.encode(tiny.clip, PROMPT), {"reference_latents": [ref]},
                                                    append=True)

    def first_block(model, steps=1):
        blocks = model.model.diffusion_model.double_blocks
        capture = Calls(blocks[0], _block_call).during(
            lambda: ps.sample(model, positive, positive, 64, 96, steps=steps, cfg=1.0, scheduler="simple",
                              latent_channels=128))
        return capture.result, capture.calls[0]["out"][0]

    vanilla_out, vanilla = first_block(tiny.model, steps=2)
    assert vanilla.shape[1] == 2 * CELLS
    assert torch.equal(first_block(_patched(comfy, tiny, regs, weights=(0.0, 0.0)), steps=2)[0],
                       vanilla_out)
    model = _patched(comfy, tiny, regs)
    patched = first_block(model)[1]
    inside = ps.runtime(comfy, model).region_masks(8, 12).amax(dim=0) > 0
    keep = torch.cat([~inside, torch.ones(CELLS, dtype=torch.bool)])
    assert torch.allclose(patched[:, keep], vanilla[:, keep], atol=1e-5, rtol=1e-5)
    assert (patched[:, :CELLS][:, inside] - vanilla[:, :CELLS][:, inside]).abs().max() > 1e-3
