"""Forward hooks for the host tests: what a model's blocks saw and produced while a sampling run went through them,
kept on copies of the tensors and removed after the run (also when it fails), so no hook outlives its test."""
from __future__ import annotations

from typing import Any, Callable

import torch


def detached(x: torch.Tensor) -> torch.Tensor:
    """A copy of `x` that later in-place work on the model's tensors cannot change."""
    return x.detach().clone()


def outputs(args: tuple, kwargs: dict, output) -> list[torch.Tensor]:
    """A `Calls` record: a block's outputs (a tuple of tensors, e.g. its image and text streams), copied."""
    return [detached(t) for t in output]


def options_chunks(kwargs: dict) -> list[int]:
    """The call's ``cond_or_uncond`` from a forward's ``transformer_options`` keyword ([0] when it carries none)."""
    return list((kwargs.get("transformer_options") or {}).get("cond_or_uncond") or [0])


class Hooks:
    """Forward hooks held for one run: subclasses put their handles in ``handles``; `during` removes them all."""

    def __init__(self) -> None:
        self.handles: list = []
        self.result: Any = None

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()

    def during(self, run: Callable[[], Any]):
        """Runs `run` with the hooks in place (its return value in ``result``), removes them after it (also when it
        fails) and returns self."""
        try:
            self.result = run()
        finally:
            self.close()
        return self


class Calls(Hooks):
    """A forward hook on one module that keeps, per call, what ``record(args, kwargs, output)`` makes of it."""

    def __init__(self, module: torch.nn.Module, record: Callable[[tuple, dict, Any], Any]):
        super().__init__()
        self.calls: list = []
        self.handles.append(module.register_forward_hook(
            lambda _module, args, kwargs, output: self.calls.append(record(args, kwargs, output)), with_kwargs=True))


def calls_added(module: torch.nn.Module, vanilla: Callable[[], Any], patched: Callable[[], Any]) -> int:
    """How many more times `module` runs during ``patched()`` than during ``vanilla()``."""
    def count(run: Callable[[], Any]) -> int:
        return len(Calls(module, lambda *_: None).during(run).calls)
    return count(patched) - count(vanilla)


def first_call(module: torch.nn.Module, run: Callable[[], Any], record: Callable[[tuple, dict, Any], Any]):
    """What ``record(args, kwargs, output)`` makes of `module`'s first forward call while `run()` runs."""
    return Calls(module, record).during(run).calls[0]


class CrossAttention(Hooks):
    """Hooks on every block's ``cross_attn`` (a cross-attention DiT's ``diffusion_model.blocks``) that keep each
    block's first call, by block index: its input ``h``, its context ``[B, T, C]`` (a layer handed the batch's
    contexts as one row gets them split per row), the call's ``cond_or_uncond`` and its output ``out`` (after any
    object patch on the layer). `keywords` adds record keys read from the layer's keyword arguments (record key ->
    argument name). The call's ``cond_or_uncond`` is read from the layer's ``transformer_options``, or with
    `options_from_model` from the diffusion model's forward (for layers that take no options)."""

    def __init__(self, model, keywords: dict[str, str] | None = None, options_from_model: bool = False):
        super().__init__()
        self.records: dict[int, dict] = {}
        self.keywords = keywords or {}
        self.model_chunks: list[int] | None = None
        self.options_from_model = options_from_model
        dit = model.model.diffusion_model
        if options_from_model:
            self.handles.append(dit.register_forward_pre_hook(self._model_call, with_kwargs=True))
        self.handles += [b.cross_attn.register_forward_hook(self._record(i), with_kwargs=True)
                         for i, b in enumerate(dit.blocks)]

    def _model_call(self, module, args, kwargs) -> None:
        if self.model_chunks is None:
            self.model_chunks = options_chunks(kwargs)

    def _record(self, index: int):
        def hook(module, args, kwargs, output):
            if index not in self.records:
                h, context = args[0], args[1]
                self.records[index] = {
                    "h": detached(h), "context": detached(context).reshape(h.shape[0], -1, context.shape[-1]),
                    "cond_or_uncond": self.model_chunks if self.options_from_model else options_chunks(kwargs),
                    "out": detached(output), **{key: kwargs.get(name) for key, name in self.keywords.items()}}
        return hook
