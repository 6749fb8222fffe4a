"""One layer's SpaceTime term as a replayable unit: captured once per input shape, replayed every later call.

On a GPU a 512 px step is bound by the host launching kernels: the ~16 small kernels of each patched layer cost
more host time than GPU time. A CUDA graph launches all of them at once. A graph reads and writes fixed
addresses, so each call copies its inputs into the unit's static buffers, replays, and reads the static output
(valid until the next replay of that unit, so the caller consumes it at once).

The first call with a given key runs eagerly (it fills lazily built caches and warms the kernels); the second
captures. Nothing here knows ComfyUI: when capture is safe is the caller's decision (`Replays.run`'s `blocker`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Protocol

import torch

log = logging.getLogger("spacetime_attention")

MAX_SHAPES_PER_LAYER = 8     # more distinct input shapes in one run than this: the layer stays eager


class Capture(Protocol):
    """A recording of one function over fixed buffers."""

    def capture(self, fn: Callable[[], torch.Tensor]) -> torch.Tensor:
        """Record `fn` (which reads only the static inputs) and return its static output; nothing runs yet."""

    def replay(self) -> None:
        """Run the recording: the static output then holds `fn`'s result for the static inputs' current values."""


class CudaGraphCapture:
    """`Capture` by a CUDA graph; the graphs of one run share a memory pool (they replay one after the other on
    one stream, so their temporaries never live at the same time)."""

    def __init__(self, pool: Any):
        self.graph = torch.cuda.CUDAGraph()
        self.pool = pool

    def capture(self, fn: Callable[[], torch.Tensor]) -> torch.Tensor:
        side = torch.cuda.Stream()                       # warm-up off the capturing stream, as CUDA graphs ask
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            fn()
        torch.cuda.current_stream().wait_stream(side)
        # thread_local: CUDA work of other threads (the server, previews) does not break this capture
        with torch.cuda.graph(self.graph, pool=self.pool, capture_error_mode="thread_local"):
            return fn()

    def replay(self) -> None:
        self.graph.replay()


def cuda_graphs(device: Any) -> Callable[[], Capture] | None:
    """A factory of captures for `device`: CUDA graphs on CUDA devices, None (stay eager) elsewhere; on a CPU
    launches cost nothing extra, so there is nothing to capture."""
    if torch.device(device).type != "cuda":
        return None
    pool = torch.cuda.graph_pool_handle()
    return lambda: CudaGraphCapture(pool)


@dataclass
class _Unit:
    inputs: list[torch.Tensor | None]
    output: torch.Tensor
    capture: Capture


@dataclass
class Replays:
    """The replayable units of one sampling run, by key (layer, chunk, input shapes); dropped with the run, which
    frees their buffers and graphs."""

    new_capture: Callable[[], Capture]
    units: dict[Hashable, _Unit] = field(default_factory=dict)
    seen: set = field(default_factory=set)
    shapes_per_layer: dict[Hashable, int] = field(default_factory=dict)
    captures: int = 0
    disabled: str = ""                  # why capture stopped for this run ("" while it may capture)

    def run(self, layer: Hashable, key: Hashable, fn: Callable[..., torch.Tensor],
            inputs: list[torch.Tensor | None], blocker: str = "") -> tuple[torch.Tensor, str]:
        """``fn(*inputs)``, replayed where captured; also returns why it ran eagerly ("" when replayed or
        warming up). `key` must hold everything `fn` depends on besides the inputs' values (their shapes, the
        plan); `blocker` names a reason this call must not be captured."""
        full_key = (layer, key, tuple(None if x is None else (tuple(x.shape), x.dtype) for x in inputs))
        unit = self.units.get(full_key)
        if unit is None:
            reason = blocker or self.disabled or torch_capture_blocker()
            if reason or full_key not in self.seen:
                if not reason:
                    self.seen.add(full_key)
                return fn(*inputs), reason
            if self.shapes_per_layer.get(layer, 0) >= MAX_SHAPES_PER_LAYER:
                return fn(*inputs), f"more than {MAX_SHAPES_PER_LAYER} input shapes in one run"
            unit = self._capture(full_key, fn, inputs)
            if unit is None:
                return fn(*inputs), self.disabled
            self.shapes_per_layer[layer] = self.shapes_per_layer.get(layer, 0) + 1
        for static, x in zip(unit.inputs, inputs):
            if static is not None:
                static.copy_(x)
        unit.capture.replay()
        return unit.output, ""

    def _capture(self, full_key: Hashable, fn: Callable[..., torch.Tensor],
                 inputs: list[torch.Tensor | None]) -> _Unit | None:
        statics = [None if x is None else x.detach().clone() for x in inputs]
        capture = self.new_capture()
        try:
            output = capture.capture(lambda: fn(*statics))
        except RuntimeError as err:  # an op or kernel that cannot be captured: eager from now on (an interrupt
                                     # or any other exception goes to the caller)
            self.disabled = f"capture failed ({type(err).__name__}: {err})"
            log.warning("SpaceTime Attention Patch: %s; this run stays eager", self.disabled)
            return None
        unit = self.units[full_key] = _Unit(statics, output, capture)
        self.captures += 1
        return unit


def torch_capture_blocker() -> str:
    """Why torch itself forbids a capture now ("" when it does not)."""
    if torch.compiler.is_compiling():
        return "the model is being compiled by torch.compile"
    if torch.cuda.is_available() and torch.cuda.is_current_stream_capturing():
        return "another CUDA graph is being captured"
    return ""
