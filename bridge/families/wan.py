"""Wan 2.1/2.2 (`comfy.ldm.wan.model.WanModel`: text-to-video, image-to-video): each block self-attention, then a
cross-attention to the text, then the MLP. The cross-attention (`WanT2VCrossAttention`) is the paper's: queries
from the video tokens, keys and values from the text alone, no positions on the text. Its projections ``q``/``k``/
``v``/``o`` have biases, and queries and keys get an RMSNorm over the whole width (not per head), which the local
keys get too. The text reaches it through the model's ``text_embedding`` MLP (UMT5-XXL's 4096 -> the model's
width), inside the model: each local prompt and the empty prompt go through it too, shaped as UMT5 encodes them
(padded with zeroed embeddings to >= 512 tokens, which the MLP's biases turn into keys like the prompt's padding),
once per run for all layers (`SpaceTimeRuntime.text_context`), as the model embeds its prompt once per call.

Image-to-video (`WanI2VCrossAttention`) prepends 257 CLIP-image tokens to the context, read by their own
``k_img``/``v_img``: ``o(attn(q, text) + attn(q, image))``. The patch acts on the text part only: a local prompt
takes the text's place, the image part stays as it is. The hook takes the image part ``W_o attn(q, image)`` out of
the layer's output, combines the rest (a text-only layer) and adds the change to the layer's own output, so cells
outside every region and uncond rows are the layer's bit for bit (this costs one attention over the 257 image
tokens per layer call).

Hooks: the block's ``attn2_patch`` fires after the cross-attention's residual and ``attn1_patch`` inside the
self-attention, neither with the cross-attention's input and output, so an object patch on each block's
``cross_attn.forward`` (as for Cosmos; it chains an earlier object patch) sees them; a DIFFUSION_MODEL wrapper reads
the token grid from the latent and ``patch_size`` (Conv3d patches, flattened in (t, h, w) order). Regions that move
over the video (``Regions.end_boxes``) get each frame's masks; Wan's VAE maps 4 pixel frames to a latent frame
after the first. Calls with tokens other than the latent's (reference images, frames appended in time) are left
alone. Layers are keyed ``("double", i)``, so the ``blocks`` setting reads ``d0-d29``, ``every other``, ...
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
from .hooks import SharedHook, patch_cross_attention
from .lookup import diffusion_model

NAME = "wan"
SUPPORTED = "Wan 2.1/2.2 text-to-video and image-to-video (the text cross-attention; the CLIP-image tokens untouched)"
GRID_KEY = "spacetime_wan_grid"
WRAPPER_KEY = "spacetime_wan"
TIME = TimeScale(stride=4, first_alone=True)
OPTIONS_AT = 4      # WanModel.forward hands its _forward (x, timestep, context, clip_fea, time_dim_concat, options)


def _diffusion_model(model_patcher: Any) -> Any:
    from comfy.ldm.wan.model import WanModel

    return diffusion_model(model_patcher, WanModel)


def _cross_attention_classes() -> tuple[type, ...]:
    from comfy.ldm.wan.model import WanI2VCrossAttention, WanT2VCrossAttention

    return WanT2VCrossAttention, WanI2VCrossAttention


def attention_layers(model_patcher: Any) -> dict[tuple[str, int], torch.nn.Module]:
    """``{("double", i): blocks[i].cross_attn}`` of a Wan DiT (empty for any other model)."""
    model = _diffusion_model(model_patcher)
    if model is None:
        return {}
    kinds = _cross_attention_classes()
    return {("double", i): block.cross_attn for i, block in enumerate(model.blocks)
            if isinstance(getattr(block, "cross_attn", None), kinds)}


def context_dims(model_patcher: Any, layers: dict) -> set[int]:
    """The width of the text the model takes: what its ``text_embedding`` reads (UMT5-XXL's 4096)."""
    return {int(_diffusion_model(model_patcher).text_embedding[0].in_features)}


def build_ops(attn: torch.nn.Module, heads: int, attn_precision: Any, device: Any, dtype: torch.dtype,
              embeddings: list[torch.Tensor], empty: Callable[[], torch.Tensor]) -> st_combine.LayerOps:
    """`LayerOps` of one cross-attention layer: the local prompts (already through the model's text MLP, see
    `install`) through its ``k``/``v`` (keys RMS-normalised), queries through ``q`` and its RMSNorm, output through
    ``o``."""
    proj = Projections(lambda x: attn.norm_q(attn.q(x)), lambda c: attn.norm_k(attn.k(c)), attn.v, attn.o,
                       (attn.q, attn.norm_q, attn.o))
    return projection_ops(proj, heads, attn_precision, device, dtype, embeddings, empty)


def image_part(attn: torch.nn.Module, x: torch.Tensor, image: torch.Tensor,
               transformer_options: dict) -> torch.Tensor:
    """``W_o attn(q, image)``: what an image-to-video layer's CLIP-image tokens add to its output (no bias), as its
    forward computes that attention."""
    from comfy.ldm.modules.attention import optimized_attention

    q = attn.norm_q(attn.q(x))
    k, v = attn.norm_k_img(attn.k_img(image)), attn.v_img(image)
    part = optimized_attention(q, k, v, heads=attn.num_heads, transformer_options=transformer_options)
    return attn.o(part) - attn.o(torch.zeros_like(part[:, :1]))


class CrossAttentionHook(SharedHook):
    """Object patch on one block's ``cross_attn.forward``: the layer's own output plus the SpaceTime term on its
    cond rows (image-to-video: on the text part, see the module's docstring)."""

    def __init__(self, runtime: SpaceTimeRuntime, layer: tuple[str, int], attn: torch.nn.Module, previous: Callable):
        self.runtime, self.layer, self.attn, self.previous = runtime, layer, attn, previous
        self.image_to_video = hasattr(attn, "k_img")

    def __call__(self, x, context, context_img_len=None, transformer_options={}, **kwargs):
        out = self.previous(x, context, context_img_len=context_img_len, transformer_options=transformer_options,
                            **kwargs)
        if self.runtime.idle:       # before the image-to-video split, which costs an attention over the image
            return out
        options = transformer_options or {}
        try:
            facts, grid = video.read_call(self.layer, int(self.attn.num_heads), x, options, GRID_KEY, "Wan")
        except Skip as skip:
            self.runtime.warn_once(skip.reason, str(skip))
            return out
        if not self.image_to_video:
            return self.runtime.apply_video(facts, x, out, grid.latent_frames, grid.scale)
        text_out = out - image_part(self.attn, x, context[:, :context_img_len], options)
        result = self.runtime.apply_video(facts, x, text_out, grid.latent_frames, grid.scale)
        return out if result is text_out else out + (result - text_out)


def token_grid(x: torch.Tensor, model: Any) -> video.VideoGrid:
    """The token grid a ``[B, C, T, H, W]`` latent becomes in the model's ``patch_size`` (padded to it)."""
    return video.video_grid(x, tuple(int(p) for p in model.patch_size), TIME)


def install(clone: Any, runtime: SpaceTimeRuntime) -> None:
    """Object patches on the selected blocks' cross-attention and the grid wrapper on the cloned patcher."""
    import comfy.patcher_extension

    model = clone.model.diffusion_model
    embed = model.text_embedding          # the local prompts' contexts, once per run for every layer
    runtime.text_context = lambda embedding, extras: embed(embedding)
    patch_cross_attention(clone, runtime, "Wan",
                          lambda key, attn, previous: CrossAttentionHook(runtime, key, attn, previous))
    clone.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.DIFFUSION_MODEL, WRAPPER_KEY,
                               video.GridWrapper(GRID_KEY, functools.partial(token_grid, model=model), OPTIONS_AT))
