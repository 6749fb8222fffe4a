"""Flux.1 (dev, schnell, Kontext) and Chroma: text and image meet in one joint attention per block.

Hooks (both cores, no monkeypatching): a ``DIFFUSION_MODEL`` wrapper puts the local prompts and the empty prompt in
front of the prompt's tokens (the model's own ``txt_in`` projects them; Flux gives every text token position 0, so
they need no position of their own) and hands the call's facts to the attention through ``transformer_options``;
``optimized_attention_override`` then splits each attention call as `spacetime.joint` describes. A step whose
weights are all 0 passes through untouched, so it computes exactly what the unpatched model computes.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import torch

from ...spacetime.blocks import parse_blocks
from ...spacetime.joint import RegionCells, RegionGroups, TokenLayout, regional_joint_attention
from ..call_facts import Skip, split_chunks
from ..runtime import AppliedCall, SpaceTimeRuntime

NAME = "flux"
SUPPORTED = "Flux.1 (dev, schnell, Kontext) and Chroma"
CALL_KEY = "spacetime_joint_call"
OVERRIDE_KEY = "optimized_attention_override"
build_ops = None        # the local prompts enter through the joint attention, not per-layer projections


def _model_classes() -> tuple[type, ...]:
    import comfy.ldm.chroma.model
    import comfy.ldm.flux.model

    return comfy.ldm.flux.model.Flux, comfy.ldm.chroma.model.Chroma


def _is_flux1(model: Any) -> bool:
    """Flux.1 and Chroma: text positions all 0. Flux.2 (sequential text positions, global modulation) is not."""
    params = getattr(model, "params", None)
    return not getattr(params, "txt_ids_dims", None) and not getattr(params, "global_modulation", False)


def attention_layers(model_patcher: Any) -> dict[tuple[str, int], torch.nn.Module]:
    """``{("double" | "single", index): block}`` of a Flux.1 or Chroma model (empty for any other)."""
    model = getattr(getattr(model_patcher, "model", None), "diffusion_model", None)
    if model is None or not isinstance(model, _model_classes()) or not _is_flux1(model):
        return {}
    if type(model).__name__ == "ChromaRadiance":
        return {}
    layers: dict[tuple[str, int], torch.nn.Module] = {}
    for kind in ("double", "single"):
        for i, block in enumerate(getattr(model, f"{kind}_blocks", [])):
            layers[(kind, i)] = block
    return layers


def context_dims(model_patcher: Any, layers: dict) -> set[int]:
    """The text width the model's ``txt_in`` projects from (T5-XXL's 4096 on the real models)."""
    txt_in = model_patcher.model.diffusion_model.txt_in
    return {int(txt_in.in_features)}


@dataclass(frozen=True)
class JointCall:
    """The facts of one model call, read by every attention call in it."""

    layout: TokenLayout
    cells: RegionCells
    weights: torch.Tensor            # [len(rows), R] on the activations' device
    rows: torch.Tensor               # the cond rows, on the activations' device
    blocks: frozenset | None         # patched blocks; None = all
    groups: RegionGroups | None      # restricted region attention; None = open


class ModelCallWrapper:
    """``DIFFUSION_MODEL`` wrapper: prepends the local prompts to the context and describes the call."""

    def __init__(self, runtime: SpaceTimeRuntime, forward: Any, patch_size: int, blocks: frozenset | None):
        self.runtime = runtime
        self.signature = inspect.signature(forward)
        self.patch_size = patch_size
        self.blocks = blocks
        self.groups: dict[tuple, RegionGroups] = {}     # per (grid, device): restricted attention's key sets

    def __deepcopy__(self, memo):
        return self

    def __call__(self, executor, *args, **kwargs):
        bound = self.signature.bind(*args, **kwargs)
        try:
            call = self._read_call(bound.arguments)
        except Skip as skip:
            self.runtime.warn_once(skip.reason, str(skip))
            call = None
        if call is None:
            return executor(*args, **kwargs)
        context = bound.arguments["context"]
        prefix = self._prefix(context)
        bound.arguments["context"] = torch.cat([prefix.expand(context.shape[0], -1, -1), context], dim=1)
        options = dict(bound.arguments.get("transformer_options") or {})
        options[CALL_KEY] = call
        bound.arguments["transformer_options"] = options
        return executor(*bound.args, **bound.kwargs)

    def _read_call(self, arguments: dict) -> JointCall | None:
        x, context = arguments["x"], arguments["context"]
        options = arguments.get("transformer_options") or {}
        if (arguments.get("kwargs") or {}).get("attention_mask") is not None:
            raise Skip("attention_mask", "a text attention mask is set on this conditioning; the patch leaves such "
                                         "calls alone")
        chunk_rows, cond, _ = split_chunks(options, x.shape[0])
        weights = self.runtime.weights_at(options.get("sigmas"), chunk_rows)
        if weights is None:
            return None
        height = (x.shape[-2] + self.patch_size // 2) // self.patch_size
        width = (x.shape[-1] + self.patch_size // 2) // self.patch_size
        index = self.runtime.region_index(height, width, x.device, context.dtype)
        lengths = [int(n) for n in self.runtime.regions.lengths] + [int(self.runtime.regions.empty_length)]
        device_weights = self.runtime.on_device(weights, x.device, context.dtype).tensor
        rows = torch.cat([torch.arange(j * chunk_rows, (j + 1) * chunk_rows) for j in cond]).to(x.device)
        if self.runtime.trace is not None:
            self.runtime.trace.append(AppliedCall(("model", 0), self.runtime.config.mode, "empty_prompt", cond,
                                                  weights.detach(), (height, width)))
        cells = RegionCells.from_index(index)
        groups = None
        if self.runtime.config.region_attention == "restricted":
            key = (height, width, str(x.device))
            groups = self.groups.get(key)
            if groups is None:
                groups = self.groups[key] = RegionGroups.from_cells(cells, (height, width))
        return JointCall(TokenLayout.from_lengths(lengths, int(context.shape[1]), (height, width)), cells,
                         device_weights.repeat(len(cond), 1), rows, self.blocks, groups)

    def _prefix(self, context: torch.Tensor) -> torch.Tensor:
        """``[1, P, C]``: each local prompt's real tokens, then the empty prompt's, on the context's device."""
        regions = self.runtime.regions
        embeddings = self.runtime.embeddings_on(context.device, context.dtype)
        parts = [e[:, :n] for e, n in zip(embeddings, regions.lengths)]
        parts.append(regions.empty[:, :regions.empty_length].to(device=context.device, dtype=context.dtype))
        return torch.cat(parts, dim=1)


class JointAttentionOverride:
    """``optimized_attention_override``: splits the attention calls of a call that `ModelCallWrapper` prepared;
    any other call goes to the backend (or the override that was installed before) unchanged."""

    def __init__(self, runtime: SpaceTimeRuntime, previous: Any = None):
        self.runtime = runtime
        self.previous = previous

    def __deepcopy__(self, memo):
        return self

    def _backend(self, func, *args, **kwargs):
        if self.previous is not None:
            return self.previous(func, *args, **kwargs)
        return func(*args, **kwargs)

    def __call__(self, func, *args, **kwargs):
        options = kwargs.get("transformer_options") or {}
        call = options.get(CALL_KEY)
        if call is None or len(args) < 4:
            return self._backend(func, *args, **kwargs)
        q, k, v, heads = args[:4]
        block = (options.get("block_type"), options.get("block_index"))
        active = call.blocks is None or block in call.blocks
        trace = self.runtime.trace
        if active and trace is not None:
            trace.append(AppliedCall(block, self.runtime.config.mode, "empty_prompt", (), call.weights.detach(),
                                     call.layout.grid))

        def main_attention(qm, km, vm):
            return self._backend(func, qm, km, vm, heads, *args[4:], **kwargs)

        return regional_joint_attention(q, k, v, call.layout, main_attention, call.cells if active else None,
                                        call.weights, call.rows, self.runtime.config.mode, call.groups)


def install(clone: Any, runtime: SpaceTimeRuntime) -> None:
    """Registers the model-call wrapper and the attention override on the cloned patcher."""
    import comfy.patcher_extension

    from ..patch import WRAPPER_KEY

    model = clone.model.diffusion_model
    counts = {"double": len(model.double_blocks), "single": len(model.single_blocks)}
    try:
        blocks = parse_blocks(runtime.config.blocks, counts)
    except ValueError as err:
        raise ValueError(f"blocks: {err}") from None
    clone.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.DIFFUSION_MODEL, WRAPPER_KEY,
                               ModelCallWrapper(runtime, model._forward, int(model.patch_size), blocks))
    options = clone.model_options.setdefault("transformer_options", {})
    options[OVERRIDE_KEY] = JointAttentionOverride(runtime, options.get(OVERRIDE_KEY))
