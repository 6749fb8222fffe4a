"""What every joint-attention DiT family shares (Flux.1, Flux.2, Chroma, SD3/3.5, Qwen-Image, Z-Image): text tokens
first, then image tokens, in one attention per block.

Hooks (both cores, no monkeypatching): an ``APPLY_MODEL`` wrapper puts the local prompts and the empty prompt in
front of the prompt's tokens (the model's own text input layer projects them) and hands the call's facts to the
attention through ``transformer_options``; ``optimized_attention_override`` then splits each attention call as
`spacetime.joint` describes. A model call whose weights are all 0 passes through untouched, so it computes exactly
what the unpatched model computes. A family module says where its blocks are, their patch size, and how its
attention calls are told apart; where the model turns a text into more joint-sequence tokens than it has context
tokens (Z-Image pads each caption), it says how many (``text_tokens``).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

import torch

from ...spacetime.blocks import parse_blocks
from ...spacetime.joint import RegionCells, RegionGroups, TokenLayout, regional_joint_attention
from ..call_facts import Skip, split_chunks
from ..runtime import AppliedCall, SpaceTimeRuntime

CALL_KEY = "spacetime_joint_call"
OVERRIDE_KEY = "optimized_attention_override"
WRAPPER_KEY = "spacetime_attention"
MODEL_CALL = ("model", 0)       # the key a model call's weights and trace go under (one per call, not per block)


@dataclass(frozen=True)
class JointCall:
    """The facts of one model call, read by every attention call in it."""

    layout: TokenLayout
    context_lengths: tuple[int, ...]  # context tokens of each local prompt, then of the empty prompt (the prefix)
    cells: RegionCells
    weights: torch.Tensor            # [len(rows), R] on the activations' device
    rows: torch.Tensor               # the cond rows, on the activations' device
    blocks: frozenset | None         # patched blocks; None = all
    groups: RegionGroups | None      # restricted region attention; None = open


class ModelCallWrapper:
    """``APPLY_MODEL`` wrapper: prepends the local prompts to the context and describes the call."""

    def __init__(self, runtime: SpaceTimeRuntime, apply_model: Any, patch_size: int, blocks: frozenset | None,
                 text_tokens: Callable[[int], int] | None = None, skip: dict[str, str] | None = None,
                 modulation: Any = None):
        self.runtime = runtime
        self.modulation = modulation
        self.signature = inspect.signature(apply_model)
        self.patch_size = patch_size
        self.blocks = blocks
        self.text_tokens = text_tokens or (lambda n: n)
        self.skip = dict(skip or {})        # model inputs whose calls the family leaves alone -> why

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
        context = bound.arguments["c_crossattn"]
        prefix = self._prefix(context)
        bound.arguments["c_crossattn"] = torch.cat([prefix.expand(context.shape[0], -1, -1), context], dim=1)
        options = dict(bound.arguments.get("transformer_options") or {})
        options[CALL_KEY] = call
        bound.arguments["transformer_options"] = options
        if self.modulation is None:
            return executor(*bound.args, **bound.kwargs)
        with self.modulation.during(bound.arguments, call):
            return executor(*bound.args, **bound.kwargs)

    def _read_call(self, arguments: dict) -> JointCall | None:
        x, context = arguments["x"], arguments.get("c_crossattn")
        options = arguments.get("transformer_options") or {}
        if context is None:
            raise Skip("no_context", "a model call without text; left alone")
        if (arguments.get("kwargs") or {}).get("attention_mask") is not None:
            raise Skip("attention_mask", "a text attention mask is set on this conditioning; the patch leaves such "
                                         "calls alone")
        for name, why in self.skip.items():
            if (arguments.get("kwargs") or {}).get(name) is not None:
                raise Skip(name, why)
        chunk_rows, cond, _ = split_chunks(options, x.shape[0])
        # inside a run the weights stay on the device (a step outside the window adds a zero term); a run whose
        # schedule no weight reaches, or a call outside a run whose weights are all 0, is left alone
        weights = self.runtime.call_weights(options.get("sigmas"), chunk_rows, MODEL_CALL, x.device, context.dtype)
        if weights is None:
            return None
        height = (x.shape[-2] + self.patch_size // 2) // self.patch_size
        width = (x.shape[-1] + self.patch_size // 2) // self.patch_size
        lengths = [int(n) for n in self.runtime.regions.lengths] + [int(self.runtime.regions.empty_length)]
        if self.runtime.trace is not None:
            self.runtime.trace.append(AppliedCall(MODEL_CALL, self.runtime.config.mode, "empty_prompt", cond,
                                                  weights.source.detach(), (height, width)))
        runtime = self.runtime
        cells = runtime.per_resolution(
            ("joint cells", height, width, x.device, context.dtype),
            lambda: RegionCells.from_index(runtime.region_index(height, width, x.device, context.dtype)))
        # the cond rows' indices on the device, made once per batch layout (a copy per call would wait for the GPU)
        rows = runtime.per_resolution(
            ("joint cond rows", chunk_rows, cond, x.device),
            lambda: torch.cat([torch.arange(j * chunk_rows, (j + 1) * chunk_rows) for j in cond]).to(x.device))
        groups = None
        if runtime.config.region_attention == "restricted":
            groups = runtime.per_resolution(("joint groups", height, width, str(x.device)),
                                            lambda: RegionGroups.from_cells(cells, (height, width)))
        layout = TokenLayout.from_lengths([self.text_tokens(n) for n in lengths],
                                          self.text_tokens(int(context.shape[1])), (height, width))
        return JointCall(layout, tuple(lengths), cells, weights.tensor.repeat(len(cond), 1), rows, self.blocks, groups)

    def _prefix(self, context: torch.Tensor) -> torch.Tensor:
        """``[1, P, C]``: each local prompt's real tokens, then the empty prompt's, on the context's device."""
        regions = self.runtime.regions
        embeddings = self.runtime.embeddings_on(context.device, context.dtype)
        parts = [e[:, :n] for e, n in zip(embeddings, regions.lengths)]
        parts.append(regions.empty[:, :regions.empty_length].to(device=context.device, dtype=context.dtype))
        return torch.cat(parts, dim=1)


class JointAttentionOverride:
    """``optimized_attention_override``: splits the joint attention calls of a call that `ModelCallWrapper`
    prepared; any other call (image-only attentions, unpatched steps) goes to the backend, or to the override that
    was installed before, unchanged."""

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
        heads = args[3] if len(args) > 3 else kwargs.get("heads")
        if call is None or len(args) < 3 or heads is None:
            return self._backend(func, *args, **kwargs)
        q, k, v = args[:3]
        split = bool(kwargs.get("skip_reshape", False))     # (B, H, N, D) when set, else (B, N, H * D)
        tokens = q.shape[2] if split else q.shape[1]
        layout = call.layout
        if tokens < layout.prefix + layout.prompt + layout.grid[0] * layout.grid[1]:
            return self._backend(func, *args, **kwargs)     # an attention over image tokens alone (SD3.5)
        block = (options.get("block_type"), options.get("block_index"))
        active = call.blocks is None or block in call.blocks
        if active and self.runtime.trace is not None:
            self.runtime.trace.append(AppliedCall(block, self.runtime.config.mode, "empty_prompt", (),
                                                  call.weights.detach(), layout.grid))
        p = layout.prefix

        def main_attention() -> torch.Tensor:
            sliced = (q[:, :, p:], k[:, :, p:], v[:, :, p:]) if split else (q[:, p:], k[:, p:], v[:, p:])
            return self._backend(func, *sliced, *args[3:], **kwargs)

        heads_first = (q, k, v) if split else tuple(t.view(t.shape[0], t.shape[1], heads, -1).transpose(1, 2)
                                                    for t in (q, k, v))
        return regional_joint_attention(*heads_first, layout, main_attention, call.cells if active else None,
                                        call.weights, call.rows, self.runtime.config.mode, call.groups)


def install_joint(clone: Any, runtime: SpaceTimeRuntime, patch_size: int, counts: dict[str, int],
                  text_tokens: Callable[[int], int] | None = None, skip: dict[str, str] | None = None,
                  modulation: Callable[[Any, SpaceTimeRuntime, frozenset | None], Any] | None = None) -> None:
    """Registers the model-call wrapper and the attention override on the cloned patcher; `counts` gives the
    model's blocks of each kind, for the `blocks` setting; `text_tokens(n)`, the joint-sequence tokens a text of n
    context tokens becomes (default n); `skip`, model inputs whose calls the family leaves alone, with the reason;
    `modulation(clone, runtime, blocks)`, a hook the wrapper hands each call's state to (Flux.1's regional
    modulation), or None."""
    import comfy.patcher_extension

    try:
        blocks = parse_blocks(runtime.config.blocks, counts)
    except ValueError as err:
        raise ValueError(f"blocks: {err}") from None
    clone.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.APPLY_MODEL, WRAPPER_KEY,
                               ModelCallWrapper(runtime, clone.model._apply_model, patch_size, blocks, text_tokens,
                                                skip, modulation(clone, runtime, blocks) if modulation else None))
    options = clone.model_options.setdefault("transformer_options", {})
    options[OVERRIDE_KEY] = JointAttentionOverride(runtime, options.get(OVERRIDE_KEY))
