"""Kernel launches of the patch per cross-attention layer, counted on the CPU host.

On a GPU a 512 px SD1.5 step is bound by the CPU launching kernels, so every op the patch issues per layer costs
about as much as a small kernel of the UNet, whatever its size. These tests count the aten ops that reach the
dispatcher inside the patch's hooks (views, empty allocations and metadata queries excluded: they launch nothing)
and pin them, so that a per-region loop or per-layer host work cannot come back unnoticed."""
from __future__ import annotations

from collections import Counter

import torch

from support import patch_support as ps
from support.op_counter import HOST_READS, OpCounter

# Ops issued per patched layer once its per-run caches exist (SD1.5-style layer, one cond chunk, guidance with
# the uncond rows as baseline), whatever the number of regions: measured 16 on ComfyUI 0.3.75's CPU attention
# (before the batched form: 25 + 11 R). The first layer of a model call also computes the step's weights on the
# host, and the first layer at each resolution spreads them over that resolution's cells (COEF_OPS).
MAX_OPS_PER_LAYER = 16
COEF_OPS = 4
MAX_OPS_FIRST_LAYER = 64


def layer_counts(comfy, tiny_sd15, boxes, steps=3, **patch_kw) -> list[Counter]:
    """Ops of every patched layer of a `steps`-step run (cond and uncond batched), in call order."""
    regs = ps.regions(comfy, tiny_sd15.clip, boxes=boxes, phrases=[f"object {i}" for i in range(len(boxes))])
    m = ps.patch(comfy, tiny_sd15.model, regs, **patch_kw)
    rt = ps.runtime(comfy, m)
    counts: list[Counter] = []
    apply = rt.apply

    def counted(*a):
        with OpCounter() as c:
            res = apply(*a)
        counts.append(c.ops)
        return res

    rt.apply = counted
    cond, uncond = ps.encode(tiny_sd15.clip, "a red cat and a blue dog"), ps.encode(tiny_sd15.clip, "")
    ps.sample(m, cond, uncond, steps=steps)
    assert len(counts) == steps * len(rt.layers)
    return counts, len(rt.layers)


FOUR = [[0.0, 0.0, 0.5, 0.5], [0.5, 0.0, 1.0, 0.5], [0.0, 0.5, 0.5, 1.0], [0.4, 0.4, 0.9, 0.9]]


def test_ops_per_layer_do_not_grow_with_regions(comfy, tiny_sd15):
    per_r = {}
    for r in (1, 2, 4):
        counts, n_layers = layer_counts(comfy, tiny_sd15, FOUR[:r])
        last_call = counts[-n_layers:]                       # steady state: per-run caches filled
        per_r[r] = [sum(c.values()) for c in last_call]
        print(f"\nR={r}: ops per layer (last step) {per_r[r]}; first layer {dict(last_call[0])}; "
              f"other layers {dict(last_call[1])}")
    print({r: (min(v), max(v), sum(v)) for r, v in per_r.items()})
    assert per_r[1] == per_r[2] == per_r[4]
    ops = per_r[4]
    assert ops[0] <= MAX_OPS_FIRST_LAYER, ops
    assert max(ops[1:]) <= MAX_OPS_PER_LAYER + COEF_OPS, ops
    assert sorted(ops[1:])[len(ops) // 2] <= MAX_OPS_PER_LAYER, ops
    resolutions = 3                                           # tiny SD1.5: three attention grids
    assert sum(ops) <= MAX_OPS_FIRST_LAYER + (len(ops) - 1) * MAX_OPS_PER_LAYER + resolutions * COEF_OPS, ops


def test_no_host_reads_after_the_first_layer_of_a_call(comfy, tiny_sd15):
    counts, n_layers = layer_counts(comfy, tiny_sd15, FOUR[:2])
    for step in range(1, 3):
        call = counts[step * n_layers:(step + 1) * n_layers]
        reads = [sum(c[k] for k in HOST_READS) for c in call]
        assert sum(reads[1:]) == 0, reads


def test_weights_that_require_grad_are_computed_once_per_model_call(comfy, tiny_sd15):
    """Optimize Step Weights installs weights with requires_grad: they too are evaluated once per model call (not
    once per layer, which read the sigmas back from the GPU 16 times per call) and share one graph node."""
    patch = comfy.pack_module("bridge.patch")
    sw = comfy.pack_module("spacetime.step_weights")
    regs = ps.regions(comfy, tiny_sd15.clip)
    values = torch.ones(2, 5, requires_grad=True)
    config = comfy.pack_module("bridge.runtime").PatchConfig()
    m, rt = patch.apply_patch(tiny_sd15.model, regs, sw.StepWeights(values, relative=False), config)
    reads = []
    compute = rt._weights_at_progress
    rt._weights_at_progress = lambda *a: reads.append(1) or compute(*a)
    layers = sorted(rt.layers)
    rt.begin_run()
    try:
        with torch.enable_grad():
            sig = torch.tensor([3.0])
            ws = [rt.weights_at(sig, 1, key) for key in layers]
            assert len(reads) == 1 and all(w is ws[0] for w in ws) and ws[0].requires_grad
            rt.weights_at(sig, 1, layers[0])                  # the next call: afresh
            assert len(reads) == 2
        with torch.no_grad():                                 # a no-grad call never reuses a graph-carrying tensor
            w = rt.weights_at(sig, 1, layers[1])
            assert len(reads) == 3 and not w.requires_grad
    finally:
        rt.end_run()
