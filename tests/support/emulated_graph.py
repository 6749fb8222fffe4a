"""A CUDA graph's contract on the CPU, for testing the replay path where no GPU is at hand.

A capture records the function without trusting its result (the static output is filled with NaN, as a real
graph's output holds nothing until a replay); a replay reruns it over the same static input buffers and writes
into the same output tensor. Stale inputs, a shared output consumed too late or a closure that reads something
other than the static buffers would show as a difference from the eager path or as NaN."""
from __future__ import annotations

import weakref
from typing import Callable

import torch


class EmulatedGraph:
    made: list[weakref.ref] = []
    replays = 0

    def __init__(self) -> None:
        EmulatedGraph.made.append(weakref.ref(self))
        self.fn: Callable[[], torch.Tensor] | None = None
        self.output: torch.Tensor | None = None

    def capture(self, fn: Callable[[], torch.Tensor]) -> torch.Tensor:
        self.fn = fn
        self.output = torch.full_like(fn(), float("nan"))
        return self.output

    def replay(self) -> None:
        EmulatedGraph.replays += 1
        self.output.copy_(self.fn())

    @classmethod
    def reset(cls) -> None:
        cls.made, cls.replays = [], 0

    @classmethod
    def alive(cls) -> int:
        return sum(r() is not None for r in cls.made)


def emulated_graphs(device) -> Callable[[], EmulatedGraph]:
    """A `capture_for` for the runtime that captures on any device."""
    return EmulatedGraph
