"""One module per model family, each answering the same questions (the seam a new family plugs into):

* ``NAME``, ``SUPPORTED``: its name and the models it covers, for messages;
* ``attention_layers(model_patcher) -> {layer key: module}``: where text meets image (empty: not this family);
* ``context_dims(model_patcher, layers) -> set[int]``: the text widths the model accepts;
* ``build_ops``: a `runtime.LayerOpsBuilder`, how the local prompts enter one cross-attention layer (None where
  they enter otherwise, as in joint attention);
* ``install(clone, runtime)``: registers the family's hooks on a cloned patcher; the hooks read each call's facts
  into a `call_facts.CallFacts` and hand them to ``runtime.apply``.
"""
from __future__ import annotations

from types import ModuleType
from typing import Any

from . import cosmos, flux, flux2, pixart, qwen_image, sd3, unet, wan, z_image

FAMILIES: tuple[ModuleType, ...] = (unet, flux, flux2, sd3, qwen_image, z_image, cosmos, pixart, wan)


def family_of(model_patcher: Any) -> tuple[ModuleType, dict] | None:
    """The first family that finds attention layers in the model, with those layers; None when none does."""
    for family in FAMILIES:
        layers = family.attention_layers(model_patcher)
        if layers:
            return family, layers
    return None


def supported() -> str:
    return "; ".join(f.SUPPORTED for f in FAMILIES)
