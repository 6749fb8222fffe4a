"""The attention objective's probe: scores where each object's attention falls, in the patched model's calls."""
from __future__ import annotations

import math
from typing import Any

import torch

from ..spacetime.optimize.attention import AttentionRecorder, region_attention_ratio
from .call_facts import Skip
from .families import unet
from .runtime import SpaceTimeRuntime


class ProbeHook:
    """``attn2_patch`` after the SpaceTime hooks that scores the layers at one resolution (1/`downscale` of the
    latent); returns its inputs unchanged."""

    def __init__(self, runtime: SpaceTimeRuntime, recorder: AttentionRecorder, positions: list[list[int]],
                 downscale: int):
        self.runtime, self.recorder, self.positions, self.downscale = runtime, recorder, positions, downscale
        self._masks: dict[tuple, torch.Tensor] = {}

    def __deepcopy__(self, memo):   # ModelPatcher.clone() deep-copies model_options
        return self

    def __call__(self, n, context, value, extra_options):
        if self.recorder.active:
            self._score(n, extra_options)
        return n, context, value

    def _score(self, n: torch.Tensor, extra_options: dict) -> None:
        layer = unet.layer_key(extra_options)
        orig = extra_options.get("original_shape")
        if layer not in self.runtime.layers or orig is None:
            return
        try:
            facts = unet.read_call(layer, n, extra_options)
        except Skip:
            return
        h, w = facts.grid
        if (h, w) != (math.ceil(int(orig[-2]) / self.downscale), math.ceil(int(orig[-1]) / self.downscale)):
            return
        ops = self.runtime.layer_ops(layer, facts.heads, facts.attn_precision, n.device, n.dtype)
        key = (h, w, str(n.device))
        masks = self._masks.get(key)
        if masks is None:
            masks = self._masks[key] = self.runtime.region_masks(h, w).to(n.device)
        keys = [k for k, _ in ops.local_kv]
        query = self.runtime.layers[layer].to_q(facts.cond_rows(n))
        self.recorder.add(region_attention_ratio(query, keys, self.positions, masks, facts.heads))


def install_probe(patched: Any, runtime: SpaceTimeRuntime, recorder: AttentionRecorder, positions: list[list[int]],
                  downscale: int) -> None:
    """Append the probe to the patched clone's attn2 patches (after the SpaceTime hooks, which stash h first)."""
    patched.set_model_attn2_patch(ProbeHook(runtime, recorder, positions, downscale))
