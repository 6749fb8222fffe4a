"""Cosmos-Predict2 (text-to-image and video) and Anima: one DiT class (`MiniTrainDIT`; Anima subclasses it and
adds an LLM adapter in front of the text), each block self-attention, then a cross-attention to the text, then the
MLP. The cross-attention (`cosmos.predict2.Attention` as ``Block.cross_attn``) is the paper's: queries from the
image, keys and values from the text alone, no positions on the text; its projections ``q_proj``/``k_proj``/
``v_proj``/``output_proj`` have no bias and queries and keys get a per-head RMSNorm, which the local keys get too.
So the shared combination (`spacetime.combine`, `SpaceTimeRuntime.apply`) applies as written.

Hooks: the block offers ``attn2_patch`` only before the projections and only on newer cores (0.33.0), and no output
patch, so an object patch on each block's ``cross_attn.forward`` (ComfyUI's own mechanism, undone when the model is
unpatched; it chains an earlier object patch) sees the layer's input and output on every core; a DIFFUSION_MODEL
wrapper reads the token grid (frames, height, width) from the latent and the patch sizes, per model call
(`video.GridWrapper`). Regions that hold still fold the frames into rows, every frame sharing one mask (an image is
one frame); regions that move (``Regions.end_boxes``) get each frame's own masks (`SpaceTimeRuntime.apply_video`),
the video VAE being Wan 2.1's: 4 pixel frames per latent frame after the first. Layers are keyed ``("double", i)``
so the ``blocks`` setting reads ``d0-d27``, ``every other``, ...

Text and its padding: Cosmos-Predict2's T5-XXL pads every prompt to 512 tokens with zero embeddings; Anima turns its
Qwen3 embedding and the prompt's T5 token ids into the context with its LLM adapter inside the model and pads the
result with zeros to 512. The projections have no bias and RMSNorm(0) = 0, so the padding becomes zero keys and
values: logit-0 sinks that take a share of every query's attention and add nothing. Each local prompt and the empty
prompt are shaped as the prompt is, so their attention has the sink the model was trained with: Cosmos's encoder
pads them already; Anima's go through the model's own ``preprocess_text_embeds`` (adapter, weights, padding) with
the weights as loaded for sampling, once per run for every layer (``SpaceTimeRuntime.text_context``).
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import torch

from ...spacetime import combine as st_combine
from ...spacetime.frames import TimeScale
from ..call_facts import Skip
from ..runtime import SpaceTimeRuntime
from . import video
from .cross_attention import Projections, projection_ops
from .hooks import SharedHook, block_cross_attention, patch_cross_attention
from .lookup import diffusion_model

NAME = "cosmos"
SUPPORTED = "Cosmos-Predict2 (text-to-image, video) and Anima (Anima on cores that have it, e.g. ComfyUI 0.33.0)"
GRID_KEY = "spacetime_cosmos_grid"
WRAPPER_KEY = "spacetime_cosmos"
ANIMA_IDS = "t5xxl_ids"
ANIMA_WEIGHTS = "t5xxl_weights"
TIME = TimeScale(stride=4, first_alone=True)      # Cosmos-Predict2's video VAE is Wan 2.1's


def _diffusion_model(model_patcher: Any) -> Any:
    from comfy.ldm.cosmos.predict2 import MiniTrainDIT

    return diffusion_model(model_patcher, MiniTrainDIT)


def _is_anima(model: Any) -> bool:
    try:
        from comfy.ldm.anima.model import Anima
    except ImportError:             # cores before Anima (0.3.75): no Anima model can be loaded there
        return False
    return isinstance(model, Anima)


def attention_layers(model_patcher: Any) -> dict[tuple[str, int], torch.nn.Module]:
    """``{("double", i): blocks[i].cross_attn}`` of a Cosmos-Predict2 or Anima DiT (empty for any other model)."""
    return block_cross_attention(_diffusion_model(model_patcher))


def context_dims(model_patcher: Any, layers: dict) -> set[int]:
    """The width of the text the model takes: the cross-attention's (Cosmos-Predict2: T5-XXL's 1024), or what
    Anima's LLM adapter reads (Qwen3 0.6B's 1024)."""
    model = _diffusion_model(model_patcher)
    if _is_anima(model):
        return {int(model.llm_adapter.blocks[0].cross_attn.k_proj.in_features)}
    return {int(a.k_proj.in_features) for a in layers.values()}


def anima_context(model: Any, embedding: torch.Tensor, extras: dict[str, torch.Tensor]) -> torch.Tensor:
    """The context Anima's cross-attention reads for a text, as ComfyUI's ``extra_conds`` sends the prompt: the
    model's ``preprocess_text_embeds`` (LLM adapter on the Qwen3 embedding and the T5 ids, times the T5 weights,
    zero-padded to 512). The runtime makes it once per run for every layer (``text_context``), with the weights as
    loaded for sampling, so nothing outlives the run."""
    ids = extras[ANIMA_IDS].unsqueeze(0).to(embedding.device)
    weights = extras.get(ANIMA_WEIGHTS)
    if weights is not None:
        weights = weights.unsqueeze(0).unsqueeze(-1).to(device=embedding.device, dtype=embedding.dtype)
    return model.preprocess_text_embeds(embedding, ids, t5xxl_weights=weights)


def _per_head(proj: torch.nn.Module, norm: torch.nn.Module, heads: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """A projection followed by the layer's per-head RMSNorm, on unsplit heads (as `compute_qkv` applies it)."""
    def project(x: torch.Tensor) -> torch.Tensor:
        y = proj(x)
        return norm(y.unflatten(-1, (heads, y.shape[-1] // heads))).flatten(-2)
    return project


def build_ops(attn: torch.nn.Module, heads: int, attn_precision: Any, device: Any, dtype: torch.dtype,
              embeddings: list[torch.Tensor], empty: Callable[[], torch.Tensor]) -> st_combine.LayerOps:
    """`LayerOps` of one cross-attention layer: queries and keys through the layer's projection and RMSNorm, values
    and output through its projections (Anima's local prompts arrive as contexts, `anima_context`)."""
    proj = Projections(_per_head(attn.q_proj, attn.q_norm, heads), _per_head(attn.k_proj, attn.k_norm, heads),
                       attn.v_proj, attn.output_proj, (attn.q_proj, attn.q_norm, attn.output_proj))
    return projection_ops(proj, heads, attn_precision, device, dtype, embeddings, empty)


def token_grid(x: torch.Tensor, model: Any) -> video.VideoGrid:
    """The token grid a ``[B, C, T, H, W]`` latent becomes (padded to the patch size)."""
    p = int(model.patch_spatial)
    return video.video_grid(x, (int(model.patch_temporal), p, p), TIME)


class CrossAttentionHook(SharedHook):
    """Object patch on one block's ``cross_attn.forward``: the layer's own output plus the SpaceTime term on its
    cond rows."""

    def __init__(self, runtime: SpaceTimeRuntime, layer: tuple[str, int], heads: int, previous: Callable):
        self.runtime, self.layer, self.heads, self.previous = runtime, layer, heads, previous

    def __call__(self, x, context=None, rope_emb=None, transformer_options={}, **kwargs):
        out = self.previous(x, context, rope_emb=rope_emb, transformer_options=transformer_options, **kwargs)
        try:
            facts, grid = video.read_call(self.layer, self.heads, x, transformer_options or {}, GRID_KEY, "Cosmos")
        except Skip as skip:
            self.runtime.warn_once(skip.reason, str(skip))
            return out
        return self.runtime.apply_video(facts, x, out, grid.latent_frames, grid.scale)


def _check_text(model: Any, runtime: SpaceTimeRuntime) -> None:
    """Regions encoded for the other model of the pair pass the width check (both 1024) but would be read wrongly."""
    regions = runtime.regions
    has_ids = [ANIMA_IDS in x for x in regions.extras] + [ANIMA_IDS in regions.empty_extras]
    if _is_anima(model) and not all(has_ids):
        raise ValueError("regions carry no T5 token ids, which Anima's LLM adapter reads with the Qwen3 embedding: "
                         "encode them with Anima's text encoder (the CLIP that encodes the prompt)")
    if not _is_anima(model) and any(has_ids):
        raise ValueError("regions were encoded with Anima's text encoder, but the model is Cosmos-Predict2 "
                         f"({type(model).__name__}): encode them with the model's T5-XXL")


def install(clone: Any, runtime: SpaceTimeRuntime) -> None:
    """Object patches on the selected blocks' cross-attention and the grid wrapper on the cloned patcher."""
    import comfy.patcher_extension

    model = clone.model.diffusion_model
    _check_text(model, runtime)
    if _is_anima(model):      # the layers read the local prompts through the model's adapter
        runtime.text_context = functools.partial(anima_context, model)
    patch_cross_attention(clone, runtime, "Cosmos-Predict2 / Anima",
                          lambda key, attn, previous: CrossAttentionHook(runtime, key, int(attn.n_heads), previous))
    clone.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.DIFFUSION_MODEL, WRAPPER_KEY,
                               video.GridWrapper(GRID_KEY, functools.partial(token_grid, model=model)))
