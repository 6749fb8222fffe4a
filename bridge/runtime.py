"""The state one patched model needs while sampling, under three named lifetimes.

* per patch (`ResolutionCache`): region masks, gather/scatter indices and plans per token grid (per frame count
  too where the regions move over a video); they depend only on the regions and the patch's settings, so they
  survive between runs.
* per run (`RunState`): whether any weight acts over the run's schedule (decided once, on the host), the
  sigma -> progress table (on the host and on the device), the local embeddings on the device and each layer's
  projected local keys/values; opened and dropped by the ``OUTER_SAMPLE`` wrapper around every sampling run.
* per model call (`CallWeights`, `DeviceWeights`): the step's weights, computed on the device from the call's
  sigmas (no host read: on a GPU a read waits for every queued kernel), and their spread over each plan. ComfyUI
  hands every layer of one model call the same sigmas tensor, so until a layer repeats they are reused.

Model-family details (which module, which projections, which token grid) come from the family module that
installed the hooks; this module only combines.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable, TypeVar

import torch

from ..spacetime import combine as st_combine
from ..spacetime import frames as st_frames
from ..spacetime import masks as st_masks
from ..spacetime import replay as st_replay
from ..spacetime.regions import Regions
from ..spacetime.step_weights import StepWeights, interpolate_rows
from .call_facts import CallFacts, LayerKey
from .progress import ProgressTable, progress_table, sigma_to_progress, sigma_to_progress_on, table_on

T = TypeVar("T")

log = logging.getLogger("spacetime_attention")
REGION_ATTENTION = ("open", "restricted")
MODULATION = ("regional", "global")


@dataclass(frozen=True)
class PatchConfig:
    mode: str = "guidance"
    mask_shape: str = "box"
    radius: float = 0.2
    feather: float = 0.0
    strength: float = 1.0
    start_percent: float = 0.0
    end_percent: float = 1.0
    blocks: str = "all"                 # DiTs: which blocks act (spacetime.blocks)
    region_attention: str = "open"      # DiTs: whether a region's image tokens read other regions' tokens
    modulation: str = "regional"        # Flux.1: whether a region's image is modulated by its local pooled text

    def __post_init__(self) -> None:
        # a mode the nodes' menus do not offer would silently run as mix (API prompts skip the menus' check)
        if self.mode not in st_combine.MODES:
            raise ValueError(f"mode must be one of {list(st_combine.MODES)}, got {self.mode!r}")
        if self.region_attention not in REGION_ATTENTION:
            raise ValueError(f"region_attention must be one of {list(REGION_ATTENTION)}, got "
                             f"{self.region_attention!r}")
        if self.modulation not in MODULATION:
            raise ValueError(f"modulation must be one of {list(MODULATION)}, got {self.modulation!r}")


@dataclass(frozen=True)
class AppliedCall:
    """What the patch did in one layer call; recorded only while `SpaceTimeRuntime.trace` is a list."""
    layer: LayerKey
    mode: str
    baseline: str           # "uncond_rows", "empty_prompt" or "none" (mix mode)
    cond_chunks: tuple[int, ...]
    weights: torch.Tensor
    grid: tuple[int, int]


@dataclass
class CallWeights:
    """The weights of one model call, shared by its layers until a layer repeats."""
    sigmas: torch.Tensor
    rows: int
    values: torch.Tensor
    grad: bool
    weights: torch.Tensor | None
    layers: set = field(default_factory=set)
    on_device: DeviceWeights | None = None

    def serves(self, sigmas: torch.Tensor, rows: int, values: torch.Tensor, layer: LayerKey, grad: bool) -> bool:
        return (self.sigmas is sigmas and self.rows == rows and self.values is values and self.grad == grad
                and layer not in self.layers)


@dataclass
class DeviceWeights:
    """One weights tensor on the activations' device and its spread over each plan (keyed by the plan's id)."""
    source: torch.Tensor
    device: str
    dtype: torch.dtype
    tensor: torch.Tensor
    coefficients: dict[int, st_combine.Coefficients] = field(default_factory=dict)


@dataclass
class RunState:
    active: bool | None = None      # whether any weight acts over the run's schedule; None: no schedule seen
    progress_tables: dict[int, ProgressTable] = field(default_factory=dict)     # by id(model_sampling)
    device_tables: dict[tuple[int, str], ProgressTable] = field(default_factory=dict)
    device_values: dict[tuple[int, str], torch.Tensor] = field(default_factory=dict)
    embeddings: dict[tuple[str, torch.dtype], list[torch.Tensor]] = field(default_factory=dict)
    empty: dict[tuple[str, torch.dtype], torch.Tensor] = field(default_factory=dict)
    layer_ops: dict[tuple, st_combine.LayerOps] = field(default_factory=dict)
    call: CallWeights | None = None
    device_weights: DeviceWeights | None = None
    replays: dict[Any, st_replay.Replays | None] = field(default_factory=dict)     # by device
    layer_plans: dict[tuple, tuple[st_combine.LayerOps, st_combine.FusedPlan]] = field(default_factory=dict)


# a video's frames as the masks see them: (latent frames, how the model groups pixel frames into token frames);
# None for an image, or a video whose regions hold still (its frames folded into rows)
VideoTime = tuple[int, st_frames.TimeScale]


@dataclass
class ResolutionCache:
    """What a token grid or a batch layout needs, built at its first call and kept for the patch's life."""

    cpu_index: dict[tuple, st_masks.RegionIndex] = field(default_factory=dict)
    device_index: dict[tuple, st_masks.RegionIndex] = field(default_factory=dict)
    plans: dict[tuple, st_combine.FusedPlan] = field(default_factory=dict)
    family: dict[tuple, Any] = field(default_factory=dict)     # a family's own, by (its name for it, ...)


# builds the LayerOps of one attention module: (module, heads, attn_precision, device, dtype, embeddings,
# empty embedding) -> LayerOps; given by the model family
LayerOpsBuilder = Callable[[Any, int, Any, Any, torch.dtype, list, Callable[[], torch.Tensor]], st_combine.LayerOps]


class SpaceTimeRuntime:
    """Everything one patched model needs at sampling time; shared by its hooks (never deep-copied)."""

    def __init__(self, base_model: Any, layers: dict[LayerKey, Any], build_ops: LayerOpsBuilder | None,
                 regions: Regions, weights: StepWeights, config: PatchConfig):
        self.base_model = base_model                    # ComfyUI's BaseModel: its model_sampling is read at use,
                                                        # after any object patch of a later node took effect
        self.layers = layers
        self.regions = regions
        self.weights = weights                          # absolute, one row per region
        self.config = config
        self.trace: list[AppliedCall] | None = None     # set to a list to record every application
        # the context a model reads for a text, from its embedding and the encoder's other outputs (Wan's text
        # MLP, Anima's LLM adapter); None: the embedding itself
        self.text_context: Callable[[torch.Tensor, dict[str, torch.Tensor]], torch.Tensor] | None = None
        self._build_ops = build_ops
        self._resolutions = ResolutionCache()
        self._run = RunState()
        self._run_depth = 0
        self._warned: set[str] = set()
        self.capture_for = st_replay.cuda_graphs          # device -> capture factory or None (stay eager)

    def __deepcopy__(self, memo):                       # ModelPatcher.clone() deep-copies model_options
        return self

    # run lifetime ----------------------------------------------------------------------------------------
    @property
    def in_run(self) -> bool:
        return self._run_depth > 0

    @property
    def idle(self) -> bool:
        """True inside a sampling run whose schedule shows no weight acting: none of its calls change."""
        return self._run.active is False

    def begin_run(self, sigmas: torch.Tensor | None = None) -> None:
        """Open a sampling run; with its schedule `sigmas`, decide once whether any weight acts in it, so that
        its model calls compute their weights on the device without reading them on the host."""
        if self._run_depth == 0:
            self._run = RunState()
            if sigmas is not None:
                self._run.active = self._acts_over(sigmas)
        self._run_depth += 1

    def end_run(self) -> None:
        self._run_depth = max(0, self._run_depth - 1)
        if self._run_depth == 0:
            self._run = RunState()

    def warn_once(self, reason: str, message: str) -> None:
        if message and reason not in self._warned:
            self._warned.add(reason)
            log.warning("SpaceTime Attention Patch: %s", message)

    # per-call inputs ------------------------------------------------------------------------------------
    def progress(self, sigmas: torch.Tensor, model_sampling: Any = None) -> torch.Tensor:
        """Denoising progress of `sigmas` through `model_sampling` (default: the model's own), its table built once
        per run and shared by every caller in the run (the hooks and Optimize Step Weights)."""
        ms = self.base_model.model_sampling if model_sampling is None else model_sampling
        return sigma_to_progress(sigmas, self._progress_table(ms))

    def _progress_table(self, ms: Any) -> ProgressTable:
        table = self._run.progress_tables.get(id(ms))
        if table is None:
            table = self._run.progress_tables[id(ms)] = progress_table(ms)
        return table

    def weights_at(self, sigmas: Any, rows: int, layer: LayerKey | None = None) -> torch.Tensor | None:
        """``[rows, R]`` weights (strength and start/end applied), read on the host: None when all are zero.

        With `layer`, every layer of one model call shares the first layer's weights (one graph node when they
        require grad, for Optimize Step Weights); a repeated layer starts the next call. Reading the weights
        costs a GPU a host sync per model call: `call_weights` avoids it inside a sampling run."""
        sigmas = self._sigmas(sigmas)
        if layer is not None and (call := self._shared_call(sigmas, rows, layer)) is not None:
            return call.weights
        values = self.weights.values
        w = self._weights_at_progress(self._rows(self.progress(sigmas), rows), values)
        w = w if bool((w.detach() != 0).any()) else None
        if layer is not None:
            self._run.call = CallWeights(sigmas, rows, values, torch.is_grad_enabled(), w, {layer})
        return w

    def call_weights(self, sigmas: Any, rows: int, layer: LayerKey, device: Any,
                     dtype: torch.dtype) -> DeviceWeights | None:
        """The weights of one layer call on the activations' device, or None where the patch does nothing.

        Inside a sampling run whose schedule showed some weight acting, they are computed on the device from the
        call's sigmas and never read on the host (a step outside the window gets zero weights, which add exactly
        zero); elsewhere they are read on the host as `weights_at` does."""
        if not self._run.active:
            if self._run.active is False:
                return None
            w = self.weights_at(sigmas, rows, layer)
            return None if w is None else self.on_device(w, device, dtype)
        sigmas = self._sigmas(sigmas)
        call = self._shared_call(sigmas, rows, layer)
        if call is not None and call.on_device is not None and call.on_device.device == str(device) \
                and call.on_device.dtype == dtype:
            return call.on_device
        values = self.weights.values
        p = sigma_to_progress_on(sigmas, self._device_table(device))
        w = self._weights_at_progress(self._rows(p, rows), self._values_on(values, device))
        call = self._run.call = CallWeights(sigmas, rows, values, torch.is_grad_enabled(), w, {layer})
        call.on_device = DeviceWeights(w, str(device), dtype, w.to(dtype))
        return call.on_device

    def _shared_call(self, sigmas: torch.Tensor, rows: int, layer: LayerKey) -> CallWeights | None:
        """The weights an earlier layer of this model call computed, `layer` now counted among its layers; None
        when a call starts here (new sigmas, rows, schedule or grad mode, or a layer that already ran)."""
        call = self._run.call
        if call is None or not call.serves(sigmas, rows, self.weights.values, layer, torch.is_grad_enabled()):
            return None
        call.layers.add(layer)
        return call

    def _sigmas(self, sigmas: Any) -> torch.Tensor:
        if sigmas is None:
            self.warn_once("sigmas", "no sigmas in transformer_options; using the weights at progress 0")
            sigmas = torch.full((1,), float("inf"))
        return torch.as_tensor(sigmas)

    @staticmethod
    def _rows(p: torch.Tensor, rows: int) -> torch.Tensor:
        return p if p.numel() == rows else p[:1].expand(rows)

    def _weights_at_progress(self, p: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        w = interpolate_rows(values, p.to(values.device)) * cfg.strength              # [rows, R]
        active = ((p >= cfg.start_percent - 1e-6) & (p <= cfg.end_percent + 1e-6)).to(w.device)
        return w * active.view(-1, 1).to(w.dtype)

    def _acts_over(self, sigmas: torch.Tensor) -> bool:
        """Whether any weight is non-zero between the schedule's first and last positive sigma (the progress the
        model is evaluated at). Weights are piecewise linear in progress and the window is an interval, so they
        vanish on that range exactly when they vanish at its ends, the window's ends and the grid points inside."""
        s = torch.as_tensor(sigmas).detach().to(torch.float64).flatten().cpu()
        s = s[s > 0]
        if s.numel() == 0:
            return False
        lo, hi = (float(v) for v in self.progress(torch.stack([s.max(), s.min()])))
        cfg = self.config
        lo, hi = max(lo, cfg.start_percent), min(hi, cfg.end_percent)
        if lo > hi + 1e-6:
            return False
        grid = self.weights.values.shape[-1]
        points = [lo, hi] + [k / (grid - 1) for k in range(1, grid - 1) if lo < k / (grid - 1) < hi]
        with torch.no_grad():
            w = self._weights_at_progress(torch.tensor(points, dtype=torch.float32), self.weights.values.detach())
        return bool((w != 0).any())

    def _device_table(self, device: Any) -> ProgressTable:
        ms = self.base_model.model_sampling
        key = (id(ms), str(device))
        table = self._run.device_tables.get(key)
        if table is None:
            table = self._run.device_tables[key] = table_on(self._progress_table(ms), device)
        return table

    def _values_on(self, values: torch.Tensor, device: Any) -> torch.Tensor:
        """The step-weight grid on `device`: copied once per run, or per call while it requires grad (the
        optimiser changes it between its passes)."""
        if values.requires_grad:
            return values.to(device) if torch.is_grad_enabled() else values.detach().to(device)
        key = (id(values), str(device))
        moved = self._run.device_values.get(key)
        if moved is None:
            moved = self._run.device_values[key] = values.detach().to(device)
        return moved

    def on_device(self, weights: torch.Tensor, device: Any, dtype: torch.dtype) -> DeviceWeights:
        """`weights` on the activations' device, copied once per weights tensor (a copy from pageable host memory
        waits for the GPU, so one per layer would serialise the CPU and the GPU)."""
        cached = self._run.device_weights
        if cached is not None and cached.source is weights and cached.device == str(device) and cached.dtype == dtype:
            return cached
        moved = DeviceWeights(weights, str(device), dtype, weights.to(device=device, dtype=dtype))
        self._run.device_weights = moved
        return moved

    # per resolution -------------------------------------------------------------------------------------
    def region_masks(self, height: int, width: int) -> torch.Tensor:
        """``[R, height * width]`` masks of the regions on one token grid (float32, CPU)."""
        cfg = self.config
        masks = st_masks.region_masks(self.regions.boxes, self.regions.centers, height, width, cfg.mask_shape,
                                      cfg.radius, cfg.feather, self.regions.shapes)
        return st_masks.with_background(masks) if self.regions.background else masks

    def video_masks(self, time: VideoTime, height: int, width: int) -> torch.Tensor:
        """``[R, frames * height * width]`` masks of regions that move over a video, each token frame's for its own
        boxes (`spacetime.frames.frame_masks`), in the tokens' (frame, row, column) order (float32, CPU)."""
        cfg, regions = self.config, self.regions
        latent_frames, scale = time
        return st_frames.frame_masks(regions.boxes, regions.centers, regions.end_boxes, latent_frames, scale, height,
                                     width, cfg.mask_shape, cfg.radius, cfg.feather, regions.shapes,
                                     regions.background)

    def region_index(self, height: int, width: int, device: Any, dtype: torch.dtype,
                     time: VideoTime | None = None) -> st_masks.RegionIndex:
        """The gather plan of one token grid; with `time`, of a video whose regions move, its grid read as
        ``(frames * h, width)`` (`height` = frames * h), so the combination treats the frames as one tall image."""
        key = (height, width, str(device), dtype, time)
        idx = self._resolutions.device_index.get(key)
        if idx is None:
            cpu = self._resolutions.cpu_index.get((height, width, time))
            if cpu is None:
                if time is None:
                    cpu = st_masks.RegionIndex.from_masks(self.region_masks(height, width), height, width)
                else:       # `height` is the frames' rows stacked
                    frames = math.ceil(time[0] / time[1].patch)
                    cpu = st_masks.RegionIndex.from_masks(self.video_masks(time, height // frames, width), height,
                                                          width)
                self._resolutions.cpu_index[(height, width, time)] = cpu
            idx = self._resolutions.device_index[key] = cpu.to(device, dtype)
        return idx

    def per_resolution(self, key: tuple, build: Callable[[], T]) -> T:
        """`build()` once per `key` (a family's name for the thing, then its grid, batch layout, device, dtype),
        kept with the region indices."""
        value = self._resolutions.family.get(key)
        if value is None:
            value = self._resolutions.family[key] = build()
        return value

    def _plan(self, index: st_masks.RegionIndex, b: int, groups) -> st_combine.FusedPlan:
        key = (id(index), b, groups)        # indices are cached for the patcher's life, so their ids stay theirs
        plan = self._resolutions.plans.get(key)
        if plan is None:
            plan = self._resolutions.plans[key] = st_combine.fused_plan(index, b, groups)
        return plan

    def embeddings_on(self, device: Any, dtype: torch.dtype) -> list[torch.Tensor]:
        """The local embeddings on `device` in `dtype` (through `text_context` where set), made once per run."""
        key = (str(device), dtype)
        embeddings = self._run.embeddings.get(key)
        if embeddings is None:
            embeddings = [self._context(e, x, device, dtype)
                          for e, x in zip(self.regions.embeddings, self.regions.extras)]
            if self.in_run:
                self._run.embeddings[key] = embeddings
        return embeddings

    def empty_on(self, device: Any, dtype: torch.dtype) -> torch.Tensor:
        """The empty prompt's embedding as `embeddings_on` gives the local ones, made once per run when needed."""
        key = (str(device), dtype)
        empty = self._run.empty.get(key)
        if empty is None:
            empty = self._context(self.regions.empty, self.regions.empty_extras, device, dtype)
            if self.in_run:
                self._run.empty[key] = empty
        return empty

    def _context(self, embedding: torch.Tensor, extras: dict[str, torch.Tensor], device: Any,
                 dtype: torch.dtype) -> torch.Tensor:
        moved = embedding.to(device=device, dtype=dtype)
        return moved if self.text_context is None else self.text_context(moved, extras)

    # per layer ------------------------------------------------------------------------------------------
    def layer_ops(self, layer: LayerKey, heads: int, attn_precision: Any, device: Any,
                  dtype: torch.dtype) -> st_combine.LayerOps:
        """Projected local keys/values and the output bias of one layer, computed once per run (outside a
        sampling run, e.g. in a custom loop, nothing is cached)."""
        module = self.layers[layer]
        wk = getattr(getattr(module, "to_k", None), "weight", None)
        key = (id(module), str(device), dtype, wk.data_ptr() if wk is not None else 0)
        ops = self._run.layer_ops.get(key)
        if ops is not None:
            return ops
        embeddings = self.embeddings_on(device, dtype)
        ops = self._build_ops(module, heads, attn_precision, device, dtype, embeddings,
                              lambda: self.empty_on(device, dtype))
        if self.in_run:
            self._run.layer_ops[key] = ops
        return ops

    # the combination ------------------------------------------------------------------------------------
    @staticmethod
    def _coefficients(device_weights: DeviceWeights, plan: st_combine.FusedPlan) -> st_combine.Coefficients:
        coefs = device_weights.coefficients.get(id(plan))
        if coefs is None:
            coefs = device_weights.coefficients[id(plan)] = st_combine.coefficients(plan, device_weights.tensor,
                                                                                    device_weights.tensor.dtype)
        return coefs

    def _layer_plan(self, facts: CallFacts, device: Any, dtype: torch.dtype,
                    time: VideoTime | None) -> tuple[st_combine.LayerOps, st_combine.FusedPlan]:
        """A layer's ops and plan for this grid and row count: one look-up per layer call inside a run."""
        key = (facts.layer, facts.grid, facts.chunk_rows, device, dtype, time)
        found = self._run.layer_plans.get(key)
        if found is None:
            index = self.region_index(*facts.grid, device, dtype, time)
            ops = self.layer_ops(facts.layer, facts.heads, facts.attn_precision, device, dtype)
            found = (ops, self._plan(index, facts.chunk_rows, ops.groups))
            if self.in_run:
                self._run.layer_plans[key] = found
        return found

    def _replays(self, device: Any) -> st_replay.Replays | None:
        """The run's replayable units on `device`, or None where nothing is captured (outside a run; devices
        without CUDA graphs)."""
        if not self.in_run:
            return None
        if device not in self._run.replays:
            factory = self.capture_for(device)
            self._run.replays[device] = st_replay.Replays(factory) if factory is not None else None
        return self._run.replays[device]

    def _replayed_delta(self, replays: st_replay.Replays, layer: LayerKey, chunk: int, plan: st_combine.FusedPlan,
                        ops: st_combine.LayerOps, inputs: list, device_weights: DeviceWeights) -> torch.Tensor:
        """`fused_delta` of one cond chunk as a replayable unit: the weights are one of its inputs, so the
        coefficients are spread inside it."""
        mode = self.config.mode

        def unit(hidden, base, out, weights):
            return st_combine.fused_delta(hidden, base, out, plan, st_combine.coefficients(plan, weights, weights.dtype),
                                          mode, ops)

        blocker = ops.capture_blocker
        if torch.is_grad_enabled() and (device_weights.tensor.requires_grad or inputs[0].requires_grad):
            blocker = "gradients flow through it (Optimize Step Weights)"
        delta, eager = replays.run(layer, (chunk, id(plan)), unit, inputs + [device_weights.tensor], blocker)
        if eager and eager not in self._warned:
            self._warned.add(eager)
            log.info("SpaceTime Attention Patch: per-layer work runs eagerly where %s", eager)
        return delta

    def apply_video(self, facts: CallFacts, hidden: torch.Tensor, out: torch.Tensor, latent_frames: int,
                    scale: st_frames.TimeScale) -> torch.Tensor:
        """`apply` on a video's cross-attention call: `facts` give one frame's ``(h, w)`` grid and the call's rows per
        chunk, `hidden`/`out` are ``[rows, frames * h * w, C]`` in (frame, row, column) order. Regions that hold
        still (no ``end_boxes``) fold the frames into rows, every frame sharing one ``(h, w)`` mask; regions that
        move read the grid as ``(frames * h, w)`` with each frame's own masks."""
        h, w = facts.grid
        frames = hidden.shape[1] // (h * w)
        if self.regions.end_boxes is None or frames == 1:
            folded = replace(facts, chunk_rows=facts.chunk_rows * frames)
            result = self.apply(folded, hidden.reshape(-1, h * w, hidden.shape[-1]),
                                out.reshape(-1, h * w, out.shape[-1]))
            return result.reshape(out.shape)
        return self.apply(replace(facts, grid=(frames * h, w)), hidden, out, (latent_frames, scale))

    def apply(self, facts: CallFacts, hidden: torch.Tensor, out: torch.Tensor,
              time: VideoTime | None = None) -> torch.Tensor:
        """`out` with the SpaceTime term added to its cond rows (a new tensor; `out` is never modified); `time`: the
        call is a video whose regions move, its grid ``facts.grid`` the frames stacked (see `apply_video`)."""
        b = facts.chunk_rows
        device_weights = self.call_weights(facts.sigmas, b, facts.layer, out.device, out.dtype)
        if device_weights is None:
            return out
        cfg = self.config
        ops, plan = self._layer_plan(facts, out.device, out.dtype, time)
        replays = self._replays(out.device)
        result = out
        for k, j in enumerate(facts.cond_chunks):
            base = None
            if cfg.mode == "guidance":
                u = facts.uncond_for(k)
                base = facts.chunk(out, u) if u is not None else None
            inputs = [facts.chunk(hidden, j), base, facts.chunk(out, j)]
            if replays is None:
                delta = st_combine.fused_delta(*inputs, plan, self._coefficients(device_weights, plan), cfg.mode,
                                               ops)
            else:
                delta = self._replayed_delta(replays, facts.layer, k, plan, ops, inputs, device_weights)
            # the first chunk makes a new tensor, later chunks add into it
            result = st_combine.scatter_delta(result, plan, delta, row0=j * b, inplace=result is not out)
        if self.trace is not None:
            baseline = "none" if cfg.mode != "guidance" else ("uncond_rows" if facts.uncond_chunks
                                                               else "empty_prompt")
            self.trace.append(AppliedCall(facts.layer, cfg.mode, baseline, facts.cond_chunks,
                                          device_weights.source.detach(), facts.grid))
        return result
