"""The one module that knows ComfyUI's internals for the attention patch.

It installs the patch on a cloned ModelPatcher and translates ComfyUI's per-call facts into the plain inputs of
`spacetime.combine`:

* hooks: ``attn2_patch`` (stashes the normalised hidden state that goes into ``to_q``) and ``attn2_output_patch``
  (applies the formula after ``to_out``), both composable lists, so packs owning ``patches_replace["attn2"]``
  (IPAdapter, InstantID, ...) keep working; plus an ``OUTER_SAMPLE`` wrapper that opens and closes a per-run cache;
* ``extra_options["block"]``/``["block_index"]`` → the block's ``attn2`` module (to_q/to_k/to_v/to_out), found by
  walking ``diffusion_model`` input/middle/output blocks for ``SpatialTransformer``;
* ``cond_or_uncond`` → which rows are cond and which uncond rows pair with them (chunk size
  ``rows // len(cond_or_uncond)``; the k-th cond chunk pairs with the k-th uncond chunk, or the first one when the
  counts differ); no uncond chunk in the call (separate calls, cfg = 1) → baseline ``A(h_cond, ∅)``;
* ``sigmas`` → denoising progress by inverting ``model_sampling.percent_to_sigma`` (table, log-sigma interpolation);
* ``activations_shape`` → the mask resolution.

State: the patch objects hold only what the node gave them plus caches (masks per resolution; local keys/values,
output bias and the progress table per run, cleared by the wrapper at the start and end of every sampling run).
Nothing lives at module level.
"""
from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass
from typing import Any

import torch

from ..spacetime import combine as st_combine
from ..spacetime import masks as st_masks
from ..spacetime.regions import Regions
from ..spacetime.step_weights import StepWeights, interpolate_rows

log = logging.getLogger("spacetime_attention")

WRAPPER_KEY = "spacetime_attention"
OPTIONS_KEY = "spacetime"


# ---------------------------------------------------------------------------------------------- model inspection

def cross_attention_layers(model_patcher: Any) -> dict[tuple[str, int, int], torch.nn.Module]:
    """``{(block name, block id, depth index): attn2}`` of every SpatialTransformer in the UNet (empty if none)."""
    from comfy.ldm.modules.attention import SpatialTransformer

    base = getattr(model_patcher, "model", None)
    unet = getattr(base, "diffusion_model", None)
    layers: dict[tuple[str, int, int], torch.nn.Module] = {}
    if unet is None:
        return layers
    groups = []
    for name in ("input_blocks", "output_blocks"):
        blocks = getattr(unet, name, None)
        if isinstance(blocks, torch.nn.ModuleList):
            groups.extend((name.split("_")[0], i, blk) for i, blk in enumerate(blocks))
    middle = getattr(unet, "middle_block", None)
    if isinstance(middle, torch.nn.Module):
        groups.append(("middle", 0, middle))
    for name, i, blk in groups:
        for module in blk.modules():
            if isinstance(module, SpatialTransformer):
                for depth, tb in enumerate(module.transformer_blocks):
                    attn2 = getattr(tb, "attn2", None)
                    if attn2 is not None and not getattr(tb, "switch_temporal_ca_to_sa", False):
                        layers[(name, i, depth)] = attn2
                break
    return layers


def model_sampling_on_cpu(model_sampling: Any) -> Any:
    """`model_sampling` itself, or a CPU copy of it when its tensors live on another device.

    On a GPU every ``percent_to_sigma`` launches a few tiny kernels and reads its result back (a host sync); the
    progress table calls it a thousand times per sampling run, which cost ~0.3 s per run on an H100."""
    if not isinstance(model_sampling, torch.nn.Module):
        return model_sampling
    tensors = [*model_sampling.parameters(), *model_sampling.buffers()]
    if all(t.device.type == "cpu" for t in tensors):
        return model_sampling
    try:
        return copy.deepcopy(model_sampling).to("cpu")
    except Exception:  # an exotic model_sampling that cannot be copied: slow but correct
        return model_sampling


def progress_table(model_sampling: Any, points: int = 1001) -> tuple[torch.Tensor, torch.Tensor]:
    """``(log sigma ascending, progress)`` sampled from ``percent_to_sigma`` at interior percents (on the CPU)."""
    model_sampling = model_sampling_on_cpu(model_sampling)
    ps = torch.linspace(0.0, 1.0, points, dtype=torch.float64)[1:-1]
    sig = torch.tensor([float(model_sampling.percent_to_sigma(float(p))) for p in ps], dtype=torch.float64)
    keep = sig > 0
    logs, ps = sig[keep].log(), ps[keep]
    order = torch.argsort(logs)
    return logs[order], ps[order]


def sigma_to_progress(sigma: torch.Tensor, table: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Denoising progress in [0, 1] of each sigma (0 = pure noise, 1 = clean), ComfyUI's percent scale.

    Linear in log sigma between table points, extrapolated by the end segments (the table stops at 0.1 % and
    99.9 %), clamped to [0, 1]; sigma <= 0 is progress 1."""
    logs, ps = table
    s = sigma.detach().to(torch.float64).flatten().cpu()
    ls = s.clamp(min=1e-30).log()
    idx = torch.searchsorted(logs, ls).clamp(1, logs.numel() - 1)
    x0, x1 = logs[idx - 1], logs[idx]
    y0, y1 = ps[idx - 1], ps[idx]
    out = y0 + (y1 - y0) * (ls - x0) / (x1 - x0).clamp(min=1e-12)
    out = torch.where(s <= 0, torch.ones_like(out), out)
    return out.clamp(0.0, 1.0).to(torch.float32)


# ---------------------------------------------------------------------------------------------- runtime

@dataclass
class PatchConfig:
    mode: str = "guidance"
    mask_shape: str = "box"
    radius: float = 0.2
    feather: float = 0.0
    strength: float = 1.0
    start_percent: float = 0.0
    end_percent: float = 1.0


class _Stash:
    __slots__ = ("key", "hidden")

    def __init__(self, key, hidden):
        self.key, self.hidden = key, hidden


class SpaceTimeRuntime:
    """Everything one patched model needs at sampling time; shared by its hook objects (never deep-copied)."""

    def __init__(self, model_patcher: Any, regions: Regions, weights: StepWeights, config: PatchConfig):
        self.base_model = model_patcher.model          # the BaseModel (shared with every clone anyway)
        self.regions = regions
        self.weights = weights                          # absolute, one row per region
        self.config = config
        self.layers = cross_attention_layers(model_patcher)
        self._pending: _Stash | None = None
        self._mask_cache: dict[tuple, st_masks.RegionIndex] = {}
        self._run: dict[str, Any] = {}
        self._run_depth = 0
        self._warned: set[str] = set()
        self.calls = 0                                  # applications (for tests and the benchmark)

    def __deepcopy__(self, memo):                       # ModelPatcher.clone() deep-copies model_options
        return self

    # run lifetime ----------------------------------------------------------------------------------------
    def begin_run(self) -> None:
        if self._run_depth == 0:
            self._run = {}
        self._run_depth += 1

    def end_run(self) -> None:
        self._run_depth = max(0, self._run_depth - 1)
        if self._run_depth == 0:
            self._run = {}
            self._pending = None

    def _warn_once(self, key: str, msg: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning("SpaceTime Attention Patch: %s", msg)

    # per-call inputs ------------------------------------------------------------------------------------
    def progress(self, sigmas: torch.Tensor, model_sampling: Any = None) -> torch.Tensor:
        """Denoising progress of `sigmas` through `model_sampling` (default: the model's own), its table built once
        per run and shared by every caller in the run (the hooks and Optimize Step Weights)."""
        ms = self.base_model.model_sampling if model_sampling is None else model_sampling
        key = ("progress_table", id(ms))
        table = self._run.get(key)
        if table is None:
            table = self._run[key] = progress_table(ms)
        return sigma_to_progress(sigmas, table)

    def weights_at(self, sigmas: Any, rows: int, layer: Any = None) -> torch.Tensor | None:
        """``[rows, R]`` weights (strength and start/end applied), or None when all are zero.

        `layer` (the caller's layer key) enables the per-model-call fast path: ComfyUI hands every layer of one
        model call the same ``sigmas`` tensor, so until a layer repeats (the next call) the weights are reused
        without reading the sigmas' values, which on a GPU is a host sync that waits for all queued work. This
        holds for weights that require grad too (Optimize Step Weights): within one model call they cannot change,
        and every layer of the call then shares one graph node; a new call (or a call without `layer`) computes
        them afresh."""
        values = self.weights.values
        if sigmas is None:
            self._warn_once("sigmas", "no sigmas in transformer_options; using the weights at progress 0")
            sigmas = torch.full((1,), float("inf"))
        sigmas = torch.as_tensor(sigmas)
        fast = self._run.get("weights_fast")
        grad = torch.is_grad_enabled()
        if (layer is not None and fast is not None and fast[0] is sigmas and fast[1] == rows and fast[2] is values
                and layer not in fast[3] and fast[5] == grad):
            fast[3].add(layer)
            return fast[4]
        w = self._compute_weights(sigmas, rows, values)
        if layer is not None:
            self._run["weights_fast"] = (sigmas, rows, values, {layer}, w, grad)
        return w

    def _compute_weights(self, sigmas: torch.Tensor, rows: int, values: torch.Tensor) -> torch.Tensor | None:
        p = self.progress(sigmas)
        p = p if p.numel() == rows else p[:1].expand(rows)
        cfg = self.config
        w = interpolate_rows(values, p.to(values.device)) * cfg.strength              # [rows, R]
        active = ((p >= cfg.start_percent - 1e-6) & (p <= cfg.end_percent + 1e-6)).to(w.device)
        w = w * active.view(-1, 1).to(w.dtype)
        if not bool((w.detach() != 0).any()):
            return None
        return w

    def weights_on(self, weights: torch.Tensor, device, dtype) -> torch.Tensor:
        """`weights` on the activations' device, copied once per weights tensor (a copy from pageable host memory
        waits for the GPU, so one per layer would serialise the CPU and the GPU)."""
        cached = self._run.get("weights_on")
        if cached is not None and cached[0] is weights and cached[1] == (str(device), dtype):
            return cached[2]
        moved = weights.to(device=device, dtype=dtype)
        self._run["weights_on"] = (weights, (str(device), dtype), moved)
        return moved

    def region_index(self, height: int, width: int, device, dtype) -> st_masks.RegionIndex:
        key = (height, width, str(device), dtype)
        idx = self._mask_cache.get(key)
        if idx is None:
            base_key = (height, width)
            cpu = self._mask_cache.get(base_key)
            if cpu is None:
                cfg = self.config
                masks = st_masks.region_masks(self.regions.boxes, self.regions.centers, height, width,
                                              cfg.mask_shape, cfg.radius, cfg.feather)
                cpu = self._mask_cache[base_key] = st_masks.RegionIndex.from_masks(masks, height, width)
            idx = self._mask_cache[key] = cpu.to(device, dtype)
        return idx

    def fused_plan(self, index: st_masks.RegionIndex, b: int, groups) -> st_combine.FusedPlan:
        """Gather/scatter plan of one resolution for `b` rows, cached with the masks (it does not change)."""
        key = ("plan", index.height, index.width, str(index.union.device), index.values[0].dtype, b, groups)
        plan = self._mask_cache.get(key)
        if plan is None:
            plan = self._mask_cache[key] = st_combine.fused_plan(index, b, groups)
        return plan

    def coefficients(self, plan: st_combine.FusedPlan, weights_dev: torch.Tensor) -> st_combine.Coefficients:
        """The weights spread over `plan`, once per weights tensor (one per model call) and plan."""
        cached = self._run.get("coefs")
        if cached is None or cached[0] is not weights_dev:
            cached = self._run["coefs"] = (weights_dev, {})
        coefs = cached[1].get(id(plan))
        if coefs is None:
            coefs = cached[1][id(plan)] = st_combine.coefficients(plan, weights_dev, weights_dev.dtype)
        return coefs

    def layer_ops(self, attn2: torch.nn.Module, heads: int, attn_precision: Any, device, dtype) -> st_combine.LayerOps:
        """Projected local keys/values and the output bias of one layer, computed once per run."""
        wk = getattr(attn2.to_k, "weight", None)
        key = ("layer", id(attn2), str(device), dtype, wk.data_ptr() if wk is not None else 0)
        ops = self._run.get(key)
        if ops is not None:
            return ops
        from comfy.ldm.modules.attention import optimized_attention

        def attention(q, k, v, h):
            return optimized_attention(q, k, v, h, attn_precision=attn_precision)

        def project(ctx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            ctx = ctx.to(device=device, dtype=dtype)
            return attn2.to_k(ctx), attn2.to_v(ctx)

        # the host embeddings are copied to the device once per run, not once per layer (each copy from pageable
        # host memory is a host sync on a GPU: 16 × R per run before)
        emb_key = ("embeddings", str(device), dtype)
        embeddings = self._run.get(emb_key)
        if embeddings is None:
            embeddings = [e.to(device=device, dtype=dtype) for e in self.regions.embeddings]
            if self._run_depth > 0:
                self._run[emb_key] = embeddings
        local_kv = [project(e) for e in embeddings]
        inner = local_kv[0][1].shape[-1]
        bias = attn2.to_out(torch.zeros(1, 1, inner, device=device, dtype=dtype)).reshape(-1)
        empty_cache: list = []

        def empty_kv():
            if not empty_cache:
                empty_cache.append(project(self.regions.empty))
            return empty_cache[0]

        ops = st_combine.LayerOps(to_q=attn2.to_q, to_out=attn2.to_out, bias=bias, heads=heads,
                                  local_kv=local_kv, empty_kv=empty_kv, attention=attention)
        if self._run_depth > 0:       # outside a sampling run (custom loops) nothing is cached
            self._run[key] = ops
        return ops

    # the hooks ------------------------------------------------------------------------------------------
    def stash(self, n: torch.Tensor, extra_options: dict) -> None:
        block = extra_options.get("block")
        key = (block[0], block[1], extra_options.get("block_index", 0)) if block is not None else None
        self._pending = _Stash(key, n)

    def apply(self, out: torch.Tensor, extra_options: dict) -> torch.Tensor:
        stash, self._pending = self._pending, None
        if stash is None or stash.key is None:
            return out
        attn2 = self.layers.get(stash.key)
        hidden = stash.hidden
        if attn2 is None:
            return out
        if hidden.shape[:2] != out.shape[:2]:
            self._warn_once("rows", f"another patch changed the rows or tokens of {stash.key} "
                                    f"({tuple(hidden.shape)} vs {tuple(out.shape)}); skipped there")
            return out
        chunks = list(extra_options.get("cond_or_uncond") or [0])
        rows = out.shape[0]
        if rows % len(chunks):
            self._warn_once("chunks", f"{rows} rows do not split into cond_or_uncond {chunks}; skipped")
            return out
        cond_pos = [j for j, c in enumerate(chunks) if c == 0]
        if not cond_pos:
            return out
        b = rows // len(chunks)
        weights = self.weights_at(extra_options.get("sigmas"), b, stash.key)
        if weights is None:
            return out
        height, width = self._grid(out.shape[1], extra_options)
        if height is None:
            self._warn_once("shape", f"cannot tell the {out.shape[1]}-token grid shape of {stash.key}; skipped")
            return out
        cfg = self.config
        index = self.region_index(height, width, out.device, out.dtype)
        ops = self.layer_ops(attn2, int(extra_options.get("n_heads", 8)), extra_options.get("attn_precision"),
                             out.device, out.dtype)
        uncond_pos = [j for j, c in enumerate(chunks) if c == 1]
        weights_dev = self.weights_on(weights, out.device, out.dtype)
        plan = self.fused_plan(index, b, ops.groups)
        coefs = self.coefficients(plan, weights_dev)
        result = out
        baseline = "none"
        for k, j in enumerate(cond_pos):
            base = None
            if cfg.mode == "guidance" and uncond_pos:
                u = uncond_pos[k] if len(uncond_pos) == len(cond_pos) else uncond_pos[0]
                base = out[u * b:(u + 1) * b]
                baseline = "uncond_rows"
            elif cfg.mode == "guidance":
                baseline = "empty_prompt"
            delta = st_combine.fused_delta(hidden[j * b:(j + 1) * b], base, out[j * b:(j + 1) * b], plan, coefs,
                                           cfg.mode, ops)
            # the first chunk makes a new tensor (the input is never modified), later chunks add into it
            result = st_combine.scatter_delta(result, plan, delta, row0=j * b, inplace=result is not out)
        self.calls += 1
        extra_options["spacetime_applied"] = {"mode": cfg.mode, "baseline": baseline, "cond_chunks": cond_pos,
                                              "weights": weights.detach(), "grid": (height, width)}
        return result

    @staticmethod
    def _grid(tokens: int, extra_options: dict) -> tuple[int | None, int | None]:
        shape = extra_options.get("activations_shape")
        if shape is not None and len(shape) >= 4 and int(shape[-2]) * int(shape[-1]) == tokens:
            return int(shape[-2]), int(shape[-1])
        orig = extra_options.get("original_shape")
        if orig is not None and len(orig) >= 4:
            h, w = int(orig[-2]), int(orig[-1])
            for f in (1, 2, 4, 8, 16, 32, 64):
                hh, ww = math.ceil(h / f), math.ceil(w / f)
                if hh * ww == tokens:
                    return hh, ww
        return None, None


class _Hook:
    """Base of the three callables stored in model_options; deep copies share the runtime."""

    def __init__(self, runtime: SpaceTimeRuntime):
        self.runtime = runtime

    def __deepcopy__(self, memo):
        return self


class AttnInputHook(_Hook):
    """``attn2_patch``: remembers h = norm2(x) as it enters to_q; changes nothing."""

    def __call__(self, n, context, value, extra_options):
        self.runtime.stash(n, extra_options)
        return n, context, value


class AttnOutputHook(_Hook):
    """``attn2_output_patch``: adds the SpaceTime term to the cond rows."""

    def __call__(self, n, extra_options):
        return self.runtime.apply(n, extra_options)


class RunWrapper(_Hook):
    """``OUTER_SAMPLE`` wrapper: a fresh per-run cache for every sampling run, dropped when it ends."""

    def __call__(self, executor, *args, **kwargs):
        self.runtime.begin_run()
        try:
            return executor(*args, **kwargs)
        finally:
            self.runtime.end_run()


# ---------------------------------------------------------------------------------------------- installation

def apply_patch(model: Any, regions: Regions, weights: StepWeights, config: PatchConfig,
                node: str = "SpaceTime Attention Patch") -> tuple[Any, SpaceTimeRuntime | None]:
    """Clone `model` and install the hooks. The input patcher is never modified.

    Returns ``(clone, runtime)``; with no regions or zero strength the clone is returned without hooks.
    """
    import comfy.patcher_extension

    layers = cross_attention_layers(model)
    if not layers:
        raise ValueError(f"{node}: model has no cross-attention layers (no SpatialTransformer with attn2 in "
                         "diffusion_model). Supported: SD1.x, SD2.x and SDXL-style UNets; DiT models such as "
                         "Flux or SD3 need a different patch.")
    ctx_dims = {int(getattr(a.to_k, "in_features", 0)) for a in layers.values()}
    if len(regions) and regions.context_dim not in ctx_dims:
        raise ValueError(f"{node}: regions were encoded to {regions.context_dim}-wide embeddings but the model's "
                         f"cross-attention expects {sorted(ctx_dims)}: encode the regions with this model's CLIP")
    m = model.clone()
    info = {"version": 1, "mode": config.mode, "mask_shape": config.mask_shape, "radius": config.radius,
            "feather": config.feather, "strength": config.strength, "start_percent": config.start_percent,
            "end_percent": config.end_percent, "regions": regions.describe()}
    to = m.model_options.setdefault("transformer_options", {})
    if len(regions) == 0 or config.strength == 0:
        to[OPTIONS_KEY] = dict(info, active=False)
        return m, None
    runtime = SpaceTimeRuntime(m, regions, weights, config)
    to[OPTIONS_KEY] = dict(info, active=True)
    m.set_model_attn2_patch(AttnInputHook(runtime))
    m.set_model_attn2_output_patch(AttnOutputHook(runtime))
    m.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.OUTER_SAMPLE, WRAPPER_KEY, RunWrapper(runtime))
    return m, runtime


def find_runtime(model: Any) -> SpaceTimeRuntime | None:
    """The runtime installed on a patched model (for tests, benchmarks and the optimiser node)."""
    for p in model.model_options.get("transformer_options", {}).get("patches", {}).get("attn2_output_patch", []):
        if isinstance(p, AttnOutputHook):
            return p.runtime
    return None
