"""Finding a family's model inside whatever a node hands over (a ModelPatcher, or anything else a user wired)."""
from __future__ import annotations

from typing import Any


def diffusion_model(model_patcher: Any, classes: type | tuple[type, ...] = object) -> Any:
    """The patcher's inner diffusion model when it is an instance of `classes`; None for any other model, and for
    objects that hold none."""
    model = getattr(getattr(model_patcher, "model", None), "diffusion_model", None)
    return model if model is not None and isinstance(model, classes) else None
