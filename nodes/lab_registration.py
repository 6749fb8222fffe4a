"""Teach ComfyUI's checkpoint loaders the fidelity lab's model (lab/fixtures/spacetime_lab.safetensors).

Importing this module inserts the lab's `SD15` subclass at the front of `comfy.supported_models.models`; it
matches only a UNet with context_dim 48, so no real checkpoint is affected. Idempotent, because the pack can be
imported more than once in one process (ComfyUI's loader and tests each make a copy).
"""
from __future__ import annotations

import comfy.supported_models

from ..lab.model import lab_model_config_class


def register_lab_model() -> None:
    """Put the lab config first in ComfyUI's detection list unless a copy of it is already there."""
    config = lab_model_config_class()
    if not any(m.__name__ == config.__name__ for m in comfy.supported_models.models):
        comfy.supported_models.models.insert(0, config)


register_lab_model()
