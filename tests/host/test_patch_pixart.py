"""The patch on PixArt-Alpha and PixArt-Sigma DiTs built from ComfyUI's own classes (tiny widths, random weights and
biases; ComfyUI's PixArt T5-XXL class at width 64 with the real tokenizer), sampled by the real samplers.

Their blocks keep a cross-attention to the text, so the UNet's guarantees hold as written: weight 0 and steps
outside the window reproduce the unpatched model bit for bit; in guidance mode the cells outside every region and
the uncond rows are the unpatched layer's; every layer follows the method's equations (support.reference, the
layers' q/k/v biases folded into their weights), for batches of 2, cond and uncond in one call (cfg > 1) or the cond
alone (cfg 1: the empty prompt's baseline), on a non-square grid. PixArt's forward runs no wrapper and its blocks
take no transformer options: the call's facts reach the hooks through an object patch on the model's forward,
which must leave nothing behind between calls. The guarantees every cross-attention DiT shares run from
support.cross_attention_contract (`TestContract`)."""
from __future__ import annotations

import pytest
import torch

from support import patch_support as ps
from support import reference as ref
from support.capture import CrossAttention, calls_added
from support.cross_attention_contract import WEIGHTS, CrossAttentionContract, patched as _patched

PROMPT = "a red cat and a blue dog"
GRID = (4, 6)                                   # 256 x 384 px: a 32 x 48 latent in 8 x 8 patches
HEIGHT, WIDTH = 256, 384


@pytest.fixture(scope="module", params=["sigma", "alpha"])
def tiny(request, comfy):
    from support.models_pixart import tiny_pixart

    return tiny_pixart(alpha=request.param == "alpha")


@pytest.fixture(scope="module")
def regs(comfy, tiny):
    return ps.regions(comfy, tiny.clip)


def _dit(model):
    return model.model.diffusion_model


def _sample(model, clip, cfg=1.0, batch=1, steps=2, negative=PROMPT):
    return ps.sample(model, ps.encode(clip, PROMPT), ps.encode(clip, negative), HEIGHT, WIDTH, steps=steps, cfg=cfg,
                     scheduler="simple", batch=batch, latent_channels=4)


def _capture(model, run) -> dict[int, dict]:
    """Every block's cross-attention in the first model call of `run` (support.capture.CrossAttention): the layer
    gets the batch's contexts as one row (split per row here) and no options (``cond_or_uncond`` is the model
    forward's)."""
    return CrossAttention(model, options_from_model=True).during(run).records


def _first_call(model, clip, **kw) -> dict[int, dict]:
    return _capture(model, lambda: _sample(model, clip, steps=1, **kw))


def _caption(tiny, embedding) -> torch.Tensor:
    """What the cross-attention reads for one T5 embedding ``[1, T, C]``: the model's caption embedder's output."""
    with torch.inference_mode():
        return _dit(tiny.model).y_embedder(embedding, False)[0]


def _with_one(x: torch.Tensor) -> torch.Tensor:
    """``[T, C] -> [T, C + 1]``: a constant 1 feature, so that a biased projection is a plain matrix product."""
    return torch.cat([x.double(), torch.ones(x.shape[0], 1, dtype=torch.float64)], dim=-1)


def _biased(weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return torch.cat([weight.double(), bias.double()[:, None]], dim=-1)


def _params(attn):
    """The layer's projections for support.reference: q, k, v with their biases as an extra column (inputs get a
    constant 1 feature, `_with_one`), the output projection with its bias."""
    width = attn.d_model
    kv_w, kv_b = attn.kv_linear.weight, attn.kv_linear.bias
    return (_biased(attn.q_linear.weight, attn.q_linear.bias), _biased(kv_w[:width], kv_b[:width]),
            _biased(kv_w[width:], kv_b[width:]), attn.proj.weight, attn.proj.bias)


@torch.no_grad()
def _reference_check(tiny, regs, records, weights, mode, atol=1e-5) -> int:
    """Every captured layer against support.reference (the paper's equations with the layers' biases)."""
    blocks = _dit(tiny.model).blocks
    masks = [ref.box_mask(b.tolist(), *GRID) for b in regs.boxes]
    locals_ = [_with_one(_caption(tiny, e)) for e in regs.embeddings]
    empty = _with_one(_caption(tiny, regs.empty))
    for index, rec in records.items():
        attn = blocks[index].cross_attn
        params, heads = _params(attn), attn.num_heads
        h = [_with_one(x) for x in rec["h"]]
        context = [_with_one(c) for c in rec["context"]]
        ps.check_attention_rows(rec, h, context, empty, locals_, masks, weights, params, heads, mode, atol,
                                f"block {index}")
    return len(records)


class TestContract(CrossAttentionContract):
    GRID = GRID
    sample = staticmethod(_sample)
    first_call = staticmethod(_first_call)
    reference_check = staticmethod(_reference_check)


def test_the_family_serves_pixart(comfy, tiny):
    assert comfy.pack_module("bridge.patch").family_name(tiny.model) == "pixart"


def test_local_prompts_are_read_as_the_prompt_is(comfy, tiny, regs):
    """Each local prompt reaches the layers as the same text given as the prompt does: the caption embedder's output
    at the prompt's own length (PixArt's T5 pads nothing and the model masks nothing)."""
    for text, embedding in zip(regs.prompts, regs.embeddings):
        records = _capture(tiny.model, lambda: ps.sample(tiny.model, ps.encode(tiny.clip, text),
                                                         ps.encode(tiny.clip, text), HEIGHT, WIDTH, cfg=1.0,
                                                         latent_channels=4))
        context = records[0]["context"][0]
        assert context.shape[0] == embedding.shape[1]
        assert torch.equal(_caption(tiny, embedding), context)


@pytest.mark.parametrize("cfg", [4.0, 1.0])
def test_local_prompts_go_through_the_caption_embedder_once_per_run(comfy, tiny, regs, cfg):
    """The caption embedder is the model's, not a layer's: each local prompt (and the empty prompt where it is the
    baseline) goes through it once per sampling run, not once per layer and step."""
    added = calls_added(_dit(tiny.model).y_embedder, lambda: _sample(tiny.model, tiny.clip, cfg=cfg, steps=2),
                        lambda: _sample(_patched(comfy, tiny, regs), tiny.clip, cfg=cfg, steps=2))
    assert len(_dit(tiny.model).blocks) > 1
    assert added in (len(regs.embeddings), len(regs.embeddings) + 1)


def test_composes_with_an_earlier_object_patch_on_the_model_forward(comfy, tiny, regs):
    """Another pack's object patch on the diffusion model's forward still runs under the patch's own (chained), and
    the patch still acts."""
    calls = []
    dit = _dit(tiny.model)

    def other(x, *args, **kwargs):
        calls.append(1)
        return type(dit).forward(dit, x, *args, **kwargs)

    other_model = tiny.model.clone()
    other_model.add_object_patch("diffusion_model.forward", other)
    vanilla = _sample(other_model, tiny.clip)
    model = ps.patch(comfy, other_model, regs, ps.constant_weights(comfy, WEIGHTS))
    rt = ps.runtime(comfy, model, trace=True)
    calls.clear()
    patched = _sample(model, tiny.clip)
    assert calls, "the earlier object patch was dropped"
    assert rt.trace and not torch.equal(patched, vanilla)


def test_the_call_state_is_empty_between_calls(comfy, tiny, regs):
    """The facts the forward patch hands the layers live on the patched clone for one call only: after sampling
    nothing is left there (a later call outside a model forward is skipped, not run on a stale grid)."""
    model = _patched(comfy, tiny, regs)
    _sample(model, tiny.clip)
    assert model.object_patches["diffusion_model.forward"].state.call is None


def test_a_model_it_does_not_support_is_named(comfy, tiny, regs):
    """The refusal names the model's class and lists PixArt among the supported ones."""
    from comfy.model_patcher import ModelPatcher

    class Box(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.diffusion_model = torch.nn.Identity()

    patcher = ModelPatcher(Box(), torch.device("cpu"), torch.device("cpu"))
    with pytest.raises(ValueError, match=r"^SpaceTime Attention Patch: the patch does not know this model "
                                         r"\(Identity\): .*Supported: .*PixArt-Alpha and PixArt-Sigma"):
        ps.patch(comfy, patcher, regs)
