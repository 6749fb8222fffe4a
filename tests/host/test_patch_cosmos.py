"""The patch on Cosmos-Predict2 and Anima DiTs built from ComfyUI's own classes (tiny widths, random weights; Cosmos's
T5-XXL class and Anima's Qwen3 0.6B class at width 64 with the real tokenizers), sampled by the real samplers.

Their blocks keep a cross-attention to the text, so the UNet's guarantees hold as written: weight 0 and steps
outside the window reproduce the unpatched model bit for bit; in guidance mode the cells outside every region and
the uncond rows are the unpatched layer's; every layer follows the method's equations (support.reference, with the
layers' per-head query/key RMSNorm), for batches of 2, cond and uncond in one call (cfg > 1) or the cond alone
(cfg 1: the empty prompt's baseline), non-square grids. Anima's local prompts are read as its prompt is: through
the model's LLM adapter, zero-padded to 512 (the references are built by the model's own ``extra_conds``). The
guarantees every cross-attention DiT shares run from support.cross_attention_contract (`TestContract`).

Anima exists on ComfyUI 0.33.0 only; its tests skip on 0.3.75, where no Anima model class or text encoder exists
(an Anima file loads there as a Cosmos-Predict2 without its adapter, which the patch cannot tell apart)."""
from __future__ import annotations

import pytest
import torch

from support import patch_support as ps
from support import reference as ref
from support.capture import CrossAttention, calls_added
from support.cross_attention_contract import CrossAttentionContract, patched as _patched

PROMPT = "a red cat and a blue dog"
GRID = (4, 6)                                   # 64 x 96 px: an 8 x 12 latent in 2 x 2 patches


@pytest.fixture(scope="module", params=["cosmos", "anima"])
def tiny(request, comfy):
    models = request.getfixturevalue(f"tiny_{request.param}")
    if models is None:
        pytest.skip("this core has no Anima (ComfyUI 0.33.0 and newer)")
    return models


@pytest.fixture(scope="module")
def regs(comfy, tiny):
    return ps.regions(comfy, tiny.clip)


def _is_anima(tiny) -> bool:
    return hasattr(tiny.model.model.diffusion_model, "llm_adapter")


def _sample(model, clip, cfg=1.0, batch=1, steps=2, negative=PROMPT, height=64, width=96, frames=None):
    return ps.sample(model, ps.encode(clip, PROMPT), ps.encode(clip, negative), height, width, steps=steps, cfg=cfg,
                     scheduler="simple", batch=batch, latent_channels=16, frames=frames)


def _first_call(model, clip, **kw) -> dict[int, dict]:
    """Every block's cross-attention in the first model call (support.capture.CrossAttention)."""
    return CrossAttention(model).during(lambda: _sample(model, clip, steps=1, **kw)).records


def _context(tiny, embedding, extras) -> torch.Tensor:
    """What the cross-attention reads for one text, by the model's own code (Anima: adapter and padding)."""
    if not _is_anima(tiny):
        return embedding[0]
    with torch.inference_mode():
        conds = tiny.model.model.extra_conds(cross_attn=embedding, t5xxl_ids=extras["t5xxl_ids"],
                                             t5xxl_weights=extras["t5xxl_weights"], device=torch.device("cpu"))
    return conds["c_crossattn"].cond[0]


@torch.no_grad()
def _reference_check(tiny, regs, records, weights, mode, atol=1e-5) -> int:
    """Every captured layer against support.reference (the paper's equations with the layer's q/k RMSNorm)."""
    blocks = tiny.model.model.diffusion_model.blocks
    masks = [ref.box_mask(b.tolist(), *GRID) for b in regs.boxes]
    locals_ = [_context(tiny, e, x) for e, x in zip(regs.embeddings, regs.extras)]
    empty = _context(tiny, regs.empty, regs.empty_extras)
    for index, rec in records.items():
        attn = blocks[index].cross_attn
        params = (attn.q_proj.weight, attn.k_proj.weight, attn.v_proj.weight, attn.output_proj.weight, None)
        norms = (attn.q_norm.weight, attn.k_norm.weight, attn.q_norm.eps)
        ps.check_attention_rows(rec, rec["h"], rec["context"], empty, locals_, masks, weights, params, attn.n_heads,
                                mode, atol, f"block {index}", norms)
    return len(records)


class TestContract(CrossAttentionContract):
    GRID = GRID
    sample = staticmethod(_sample)
    first_call = staticmethod(_first_call)
    reference_check = staticmethod(_reference_check)


@pytest.mark.parametrize("cfg", [4.0, 1.0])
def test_animas_adapter_reads_each_local_prompt_once_per_run(comfy, tiny, regs, cfg):
    """Anima's LLM adapter is the model's, not a layer's: each local prompt (and at cfg 1 the empty prompt, the
    baseline) goes through it once per sampling run, not once per layer and step."""
    if not _is_anima(tiny):
        pytest.skip("Cosmos-Predict2 reads T5 directly: no adapter")
    added = calls_added(tiny.model.model.diffusion_model.llm_adapter,
                        lambda: _sample(tiny.model, tiny.clip, cfg=cfg, steps=2),
                        lambda: _sample(_patched(comfy, tiny, regs), tiny.clip, cfg=cfg, steps=2))
    assert len(tiny.model.model.diffusion_model.blocks) > 1
    assert added == len(regs.embeddings) + (cfg == 1.0)


def test_local_prompts_are_read_as_the_prompt_is_with_its_zero_padding(comfy, tiny, regs):
    """Each local prompt's context has the prompt's 512 tokens, zero past its own (the logit-0 sink the model was
    trained with: RMSNorm(0) = 0 and no biases make those keys and values zero)."""
    prompt = _first_call(tiny.model, tiny.clip)[0]["context"]
    assert prompt.shape[1] == 512
    for e, x, n in zip(regs.embeddings, regs.extras, regs.lengths):
        context = _context(tiny, e, x)
        used = int(x["t5xxl_ids"].numel()) if _is_anima(tiny) else n
        assert context.shape[0] == 512 and bool((context[used:] == 0).all()) and bool(context[:used].abs().sum() > 0)


def test_frames_share_the_regions(comfy, tiny, regs):
    """A 2-frame latent (video): each frame's region cells change, every other cell is the unpatched model's."""
    def first(model):
        return _first_call(model, tiny.clip, negative="", frames=2)[0]["out"].view(1, 2, GRID[0] * GRID[1], -1)

    model = _patched(comfy, tiny, regs)
    vanilla, patched = first(tiny.model), first(model)
    inside = ps.inside_regions(comfy, model, *GRID)
    for frame in range(2):
        ps.assert_changes_only_inside(patched[:, frame], vanilla[:, frame], inside, f"frame {frame}")


def test_regions_of_the_other_text_encoder_are_refused(comfy, tiny_cosmos, tiny_anima):
    """Both text encoders are 1024 wide on the real models (64 here), so the width check passes: the T5 ids tell."""
    if tiny_anima is None:
        pytest.skip("this core has no Anima (ComfyUI 0.33.0 and newer)")
    with pytest.raises(ValueError, match=r"^SpaceTime Attention Patch: regions were encoded with Anima's text "
                                         r"encoder, but the model is Cosmos-Predict2 \(MiniTrainDIT\)"):
        _patched(comfy, tiny_cosmos, ps.regions(comfy, tiny_anima.clip))
    with pytest.raises(ValueError, match=r"^SpaceTime Attention Patch: regions carry no T5 token ids"):
        _patched(comfy, tiny_anima, ps.regions(comfy, tiny_cosmos.clip))
