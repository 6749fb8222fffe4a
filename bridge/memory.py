"""Devices and memory, through ComfyUI's model management."""
from __future__ import annotations

from typing import Any

import torch


def compute_device() -> torch.device:
    import comfy.model_management

    return comfy.model_management.get_torch_device()


def load_fully(*patchers: Any) -> None:
    """Load models completely on the compute device (no lowvram partial loading: gradients need every weight)."""
    import comfy.model_management

    comfy.model_management.load_models_gpu(list(patchers), force_full_load=True)


def is_out_of_memory(exc: BaseException) -> bool:
    import comfy.model_management

    if isinstance(exc, (torch.OutOfMemoryError, comfy.model_management.OOM_EXCEPTION)) and \
            comfy.model_management.OOM_EXCEPTION is not Exception:
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def free_memory() -> None:
    import comfy.model_management

    comfy.model_management.soft_empty_cache()
