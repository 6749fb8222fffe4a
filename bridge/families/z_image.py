"""Z-Image (Turbo, Base): Lumina 2's NextDiT with a Qwen3 text encoder; one joint attention per layer, caption first.

Z-Image shapes its caption before the joint layers: it pads the caption to a multiple of 32 tokens with a learned
pad token, gives it positions 1..L on the first RoPE axis and the image L + 1 after it, and refines it alone in
its ``context_refiner`` layers (text self-attention). Carried in one caption, the local prompts would change the
prompt's padding and refinement and push the image's positions along. So an object patch on the model's
``patchify_and_embed`` hands the model's own code the prompt alone (caption, padding, positions, both refiners:
exactly the unpatched model's), and embeds each local prompt and the empty prompt as a caption of its own with
the model's ``embed_cap`` (its own pad tokens, positions 1..L_i) refined alone by the same ``context_refiner``;
they go in front of the prompt for the joint layers, where the shared hooks (`joint_attention`) split the
attention. The layers name themselves (``block_type`` "double", ``block_index``); the image's pad tokens follow
the grid and take part in the main attention only.

Needs a core whose NextDiT embeds captions in ``embed_cap`` (ComfyUI 0.33.0; 0.3.75 builds caption and image in
one step the patch cannot keep the prompt's positions through). Calls with reference images (Omni) reorder the
captions and are left alone; Lumina 2.0 and the pixel-space Z-Image are not tested here, so not claimed.
"""
from __future__ import annotations

import functools
from typing import Any

import torch

from ..runtime import SpaceTimeRuntime
from .joint_attention import CALL_KEY, install_joint
from .lookup import diffusion_model

NAME = "z_image"
SUPPORTED = "Z-Image (Turbo, Base; ComfyUI cores with NextDiT.embed_cap, e.g. 0.33.0)"
build_ops = None
PATCHED = "diffusion_model.patchify_and_embed"


def _diffusion_model(model_patcher: Any) -> Any:
    from comfy.ldm.lumina.model import NextDiT

    model = diffusion_model(model_patcher)
    if type(model) is not NextDiT or getattr(model, "pad_tokens_multiple", None) is None:
        return None
    return model if hasattr(model, "embed_cap") else None


def attention_layers(model_patcher: Any) -> dict[tuple[str, int], torch.nn.Module]:
    """``{("double", index): layer}`` of a Z-Image model's joint layers (empty for any other model)."""
    model = _diffusion_model(model_patcher)
    if model is None:
        return {}
    return {("double", i): layer for i, layer in enumerate(model.layers)}


def context_dims(model_patcher: Any, layers: dict) -> set[int]:
    """The text width the model's ``cap_embedder`` projects from (Qwen3 4B's 2560 on the real model)."""
    return {int(model_patcher.model.diffusion_model.cap_embedder[1].in_features)}


class LocalCaptions:
    """Object patch on ``NextDiT.patchify_and_embed`` (see the module's docstring)."""

    def __init__(self, model: Any, previous: Any):
        self.model = model
        self.previous = previous

    def __deepcopy__(self, memo):
        return self

    def __call__(self, x, cap_feats, *args, **kwargs):
        call = (kwargs.get("transformer_options") or {}).get(CALL_KEY)
        if call is None:
            return self.previous(x, cap_feats, *args, **kwargs)
        prefix = sum(call.context_lengths)
        embed, mask, sizes, cap_sizes, tables, *rest = self.previous(x, cap_feats[:, prefix:], *args, **kwargs)
        local, local_tables = self._captions(cap_feats[:1, :prefix], call.context_lengths, x,
                                             kwargs["transformer_options"])
        added = local.shape[1]
        return (torch.cat([local.expand(embed.shape[0], -1, -1), embed], dim=1), mask, sizes,
                [n + added for n in cap_sizes], torch.cat([local_tables, tables.to(local_tables.device)], dim=1),
                *rest)

    def _captions(self, prefix: torch.Tensor, lengths: tuple[int, ...], x: torch.Tensor,
                  options: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Each local prompt (and the empty prompt) embedded, padded, positioned and refined as a caption alone."""
        captions, tables, start = [], [], 0
        for n in lengths:
            (caption,), (table,), _ = self.model.embed_cap(prefix[:, start:start + n], bsz=1, device=x.device,
                                                           dtype=x.dtype)
            for layer in self.model.context_refiner:
                caption = layer(caption, None, table, transformer_options=options)
            captions.append(caption)
            tables.append(table)
            start += n
        return torch.cat(captions, dim=1), torch.cat(tables, dim=1)


def install(clone: Any, runtime: SpaceTimeRuntime) -> None:
    model = clone.model.diffusion_model
    multiple = int(model.pad_tokens_multiple)
    install_joint(clone, runtime, int(model.patch_size), {"double": len(model.layers)},
                  text_tokens=lambda n: n + (-n) % multiple,
                  skip={"ref_latents": "reference images (Z-Image Omni) reorder the captions; the patch leaves such "
                                       "calls alone"})
    previous = clone.object_patches.get(PATCHED) or functools.partial(type(model).patchify_and_embed, model)
    clone.add_object_patch(PATCHED, LocalCaptions(model, previous))
