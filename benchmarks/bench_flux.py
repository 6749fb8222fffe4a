"""Cost of the SpaceTime patch on a Flux-shaped DiT vs vanilla and ConditioningSetMask (issue 16 item 5).

usage: $SPACETIME_HOST_PYTHON benchmarks/bench_flux.py [--sizes 512 1024] [--regions 1 2 4 8] [--repeats 2]
                                                       [--double 1] [--single 2] [--memory] [--threads N]
                                                       [--clock wall|cpu]

A Flux.1-dev-shaped model at the real width (hidden 3072, 24 heads of 128, T5 context 4096 x 512 tokens, pooled
768, guidance embedding) with a few blocks of each kind, random weights, fp32 on the CPU, sampled by ComfyUI's
KSampler at cfg 1 (Flux dev's way: no negative pass). The local prompts are random T5-shaped embeddings of 256
tokens of which 12 carry the prompt (the empty prompt: 2), and a pooled CLIP-L text each (so the patch modulates the
boxes regionally, its default), as Region Prompt Encode gives them; ConditioningSetMask
gets the same 256-token embeddings with a box mask each (at R = 4 only: it runs one model pass per region). Every method run is bracketed by vanilla runs and its ratio
is its time over the mean of the two neighbouring vanilla runs (drifts of a shared machine cancel); times are per
step of one euler step. --memory measures the peak RSS of a fresh child process per method (peak reset after the
model is built) as a ratio to the vanilla child.
"""
from __future__ import annotations

import argparse
import functools
import platform
import statistics

import torch

from benchmarks import bracketing
from benchmarks.bracketing import CLOCKS, add_timing_arguments, bracketed, ratio_line

BOXES = [[0.05, 0.08, 0.45, 0.48], [0.55, 0.08, 0.95, 0.48], [0.05, 0.55, 0.45, 0.95], [0.55, 0.55, 0.95, 0.95],
         [0.3, 0.3, 0.7, 0.7], [0.0, 0.0, 0.3, 1.0], [0.7, 0.0, 1.0, 1.0], [0.2, 0.7, 0.8, 1.0]]
FLUX_DEV = {"image_model": "flux", "in_channels": 16, "out_channels": 16, "patch_size": 2, "vec_in_dim": 768,
            "context_in_dim": 4096, "hidden_size": 3072, "mlp_ratio": 4.0, "num_heads": 24, "axes_dim": [16, 56, 56],
            "theta": 10000, "qkv_bias": True, "guidance_embed": True}
PROMPT_TOKENS, LOCAL_TOKENS, LOCAL_LENGTH, EMPTY_LENGTH = 512, 256, 12, 2
CSM_REGIONS = 4     # ConditioningSetMask costs a model pass per region: measured beside the patch at R = 4 only


def build(double: int, single: int):
    """Host, patch helpers, a Flux-shaped ModelPatcher and the conditioning (random, fixed seed)."""
    from support.comfy_host import boot

    host = boot()
    import comfy.supported_models as sm
    from comfy.ldm.flux.model import FluxParams
    from support import patch_support as ps
    from support.models import _patcher, init_random

    config = dict(FLUX_DEV, depth=double, depth_single_blocks=single)
    if "txt_ids_dims" in FluxParams.__dataclass_fields__:
        config["txt_ids_dims"] = []
    model_config = sm.Flux(config)
    model_config.set_inference_dtype(torch.float32, None)
    model = model_config.get_model({})
    init_random(model.diffusion_model, 0, scale=0.02)
    gen = torch.Generator().manual_seed(0)
    positive = [[torch.randn(1, PROMPT_TOKENS, 4096, generator=gen),
                 {"pooled_output": torch.randn(1, 768, generator=gen), "guidance": 3.5}]]
    return host, ps, _patcher(model), positive, gen


def regions(host, r: int, gen):
    Regions = host.pack_module("spacetime.regions").Regions
    boxes = torch.tensor(BOXES[:r])
    return Regions(embeddings=[torch.randn(1, LOCAL_TOKENS, 4096, generator=gen) for _ in range(r)],
                   pooled=[torch.randn(1, 768, generator=gen) for _ in range(r)], boxes=boxes, centers=(boxes[:, :2] + boxes[:, 2:]) / 2,
                   names=[f"object {i}" for i in range(r)], prompts=[f"object {i}" for i in range(r)],
                   empty=torch.randn(1, LOCAL_TOKENS, 4096, generator=gen), lengths=[LOCAL_LENGTH] * r,
                   empty_length=EMPTY_LENGTH)


def methods_for(host, ps, model, positive, regions_counts, size, gen):
    import nodes

    methods = {}
    for r in regions_counts:
        methods[f"patch R={r}"] = (ps.patch(host, model, regions(host, r, gen)), positive)
    lat = size // 8
    for r in regions_counts:
        if r != CSM_REGIONS:
            continue
        cond = positive
        with torch.inference_mode():
            for box in BOXES[:r]:
                mask = torch.zeros(1, lat, lat)
                x0, y0, x1, y1 = (int(round(v * lat)) for v in box)
                mask[:, y0:y1, x0:x1] = 1.0
                local = [[torch.randn(1, LOCAL_TOKENS, 4096, generator=gen), dict(positive[0][1])]]
                local = nodes.ConditioningSetMask().append(local, mask, "default", 1.0)[0]
                cond = nodes.ConditioningCombine().combine(cond, local)[0]
        methods[f"ConditioningSetMask R={r}"] = (model, cond)
    return methods


clock = CLOCKS["wall"]


def step_time(ps, model, positive, size) -> float:
    t0 = clock()
    ps.sample(model, positive, positive, size, size, steps=1, cfg=1.0, scheduler="simple", latent_channels=16)
    return clock() - t0


CHILD = """
import sys, torch
sys.argv = ["bench_flux"]
from benchmarks import bench_flux as b
from benchmarks.bracketing import report_peak
host, ps, model, positive, gen = b.build({double}, {single})
methods = b.methods_for(host, ps, model, positive, [{r}], {size}, gen)
m, p = (model, positive) if "{method}" == "vanilla" else methods["{method}"]
report_peak(lambda: b.step_time(ps, m, p, {size}))
"""


def child_peak(method: str, size: int, r: int, double: int, single: int) -> dict:
    return bracketing.child_peak(CHILD.format(method=method, size=size, r=r, double=double, single=single), method)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--regions", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--double", type=int, default=1)
    parser.add_argument("--single", type=int, default=2)
    parser.add_argument("--memory", action="store_true")
    add_timing_arguments(parser)
    args = parser.parse_args()
    global clock
    clock = CLOCKS[args.clock]
    torch.set_num_threads(args.threads)
    host, ps, model, positive, gen = build(args.double, args.single)
    print(f"# {platform.machine()} {platform.system()}, torch {torch.__version__}, {args.threads} threads, "
          f"{args.clock} clock, Flux-shaped: {args.double} double + {args.single} single blocks at width 3072")
    for size in args.sizes:
        methods = methods_for(host, ps, model, positive, args.regions, size, gen)
        step_time(ps, model, positive, size)                                # warm-up
        for m, p in methods.values():
            step_time(ps, m, p, size)
        ratios = bracketed(lambda: step_time(ps, model, positive, size),
                           {name: functools.partial(step_time, ps, m, p, size) for name, (m, p) in methods.items()},
                           args.repeats)
        vanilla = statistics.median(step_time(ps, model, positive, size) for _ in range(2))
        print(f"\n{size} px ({(size // 16) ** 2} image tokens), vanilla {vanilla:.2f} s/step ({args.clock})")
        for name, values in ratios.items():
            print(ratio_line(name, values))
        if args.memory:
            base = child_peak("vanilla", size, args.regions[0], args.double, args.single)
            grown = base["peak_kib"] - base["before_kib"]
            print(f"  memory: vanilla peak {base['peak_kib'] / 2**20:.2f} GiB (+{grown / 2**20:.2f} GiB sampling)")
            for r in args.regions:
                for method in (f"patch R={r}",) + ((f"ConditioningSetMask R={r}",) if r == CSM_REGIONS else ()):
                    peak = child_peak(method, size, r, args.double, args.single)
                    print(f"  memory {method:26s} peak {peak['peak_kib'] / base['peak_kib']:.3f}x")


if __name__ == "__main__":
    main()
