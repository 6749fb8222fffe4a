"""Gradients through models that ComfyUI loaded for inference."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch


@contextlib.contextmanager
def autograd_ready(*modules: torch.nn.Module) -> Iterator[None]:
    """Inference tensors -> normal tensors (same values), all parameters frozen; requires_grad flags restored.

    Models loaded under ``torch.inference_mode()`` hold inference tensors, which autograd refuses to save for
    backward; each is replaced by a normal copy with the same value (memory neutral: the old one is freed)."""
    flags: list[tuple[torch.nn.Parameter, bool]] = []
    for module in modules:
        for mod in module.modules():
            for name, p in list(mod._parameters.items()):
                if p is not None and p.is_inference():
                    mod._parameters[name] = torch.nn.Parameter(p.clone(), requires_grad=p.requires_grad)
            for name, buf in list(mod._buffers.items()):
                if buf is not None and buf.is_inference():
                    mod._buffers[name] = buf.clone()
        for p in module.parameters():
            flags.append((p, p.requires_grad))
            p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def clone_tensors(value: Any) -> Any:
    """Deep copy of nested lists/tuples/dicts with every tensor cloned (conds created under inference mode)."""
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, dict):
        return {k: clone_tensors(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone_tensors(v) for v in value]
    if type(value) is tuple:
        return tuple(clone_tensors(v) for v in value)
    return value


def denoiser_module(model_patcher: Any) -> torch.nn.Module:
    """The network inside a ModelPatcher whose parameters gradients flow through."""
    return model_patcher.model.diffusion_model
