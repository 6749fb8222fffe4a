"""Cost of the SpaceTime patch on cross-attention DiTs (Cosmos-Predict2, Wan 2.1) vs vanilla and
ConditioningSetMask (issue 17 item 4).

usage: $SPACETIME_HOST_PYTHON benchmarks/bench_cross_attention_dits.py --model cosmos|wan [--width W] [--height H]
           [--frames F] [--regions 1 2 4] [--repeats 2] [--blocks 2] [--steps 1] [--memory]
           [--memory-regions 4] [--threads N] [--clock wall|cpu] [--profile R] [--flops]

Random weights at the real widths with a few blocks, fp32 on the CPU, sampled by ComfyUI's KSampler (euler) at the
family's usual CFG with a negative prompt, so every model call batches cond and uncond:
* cosmos: Cosmos-Predict2-2B-shaped (model_channels 2048, 16 heads, MLP ratio 4, AdaLN-LoRA 256, T5-XXL context
  1024 wide x 512 tokens), default 1024 x 1024 (latent 16 x 1 x 128 x 128, Wan 2.1's VAE), cfg 4;
* wan: Wan-2.1-T2V-1.3B-shaped (dim 1536, ffn 8960, 12 heads, UMT5-XXL context 4096 wide x 512 tokens, patch
  (1, 2, 2)), default 832 x 480 x 17 frames (latent 16 x 5 x 60 x 104), cfg 6.
Every prompt, local prompt and the empty prompt is 512 tokens with the padding zeroed, as the models' T5 encoders
hand them over (the prompt 24 real tokens, each local prompt 12, the empty prompt 1). ConditioningSetMask gets the
same local embeddings with a box mask each (at R = 4 only: it runs one model pass per region). Every method run is
bracketed by vanilla runs and its ratio is its time over the mean of the two neighbouring vanilla runs (drifts of a
shared machine cancel); times are per step of `--steps` euler steps (the patch's per-run work, the local keys and
values of each layer, is spread over the run's steps). --memory measures the peak RSS of a fresh child process per
method (peak reset after the model is built and has run once) as a ratio to the vanilla child.
"""
from __future__ import annotations

import argparse
import functools
import platform
import time

import torch

from benchmarks import bracketing
from benchmarks.bracketing import CLOCKS, add_timing_arguments, bracketed, ratio_line

BOXES = [[0.05, 0.08, 0.45, 0.48], [0.55, 0.08, 0.95, 0.48], [0.05, 0.55, 0.45, 0.95], [0.55, 0.55, 0.95, 0.95],
         [0.3, 0.3, 0.7, 0.7], [0.0, 0.0, 0.3, 1.0], [0.7, 0.0, 1.0, 1.0], [0.2, 0.7, 0.8, 1.0]]
COSMOS_PREDICT2_2B = {"image_model": "cosmos_predict2", "max_img_h": 240, "max_img_w": 240, "max_frames": 128,
                      "in_channels": 16, "out_channels": 16, "patch_spatial": 2, "patch_temporal": 1,
                      "model_channels": 2048, "concat_padding_mask": True, "crossattn_emb_channels": 1024,
                      "pos_emb_cls": "rope3d", "pos_emb_learnable": True, "pos_emb_interpolation": "crop",
                      "min_fps": 1, "max_fps": 30, "use_adaln_lora": True, "adaln_lora_dim": 256, "num_heads": 16,
                      "mlp_ratio": 4.0, "extra_per_block_abs_pos_emb": False, "rope_h_extrapolation_ratio": 4.0,
                      "rope_w_extrapolation_ratio": 4.0, "rope_t_extrapolation_ratio": 1.0,
                      "extra_h_extrapolation_ratio": 1.0, "extra_w_extrapolation_ratio": 1.0,
                      "extra_t_extrapolation_ratio": 1.0, "rope_enable_fps_modulation": False}
WAN21_T2V_1_3B = {"image_model": "wan2.1", "model_type": "t2v", "patch_size": (1, 2, 2), "text_len": 512,
                  "in_dim": 16, "dim": 1536, "ffn_dim": 8960, "freq_dim": 256, "text_dim": 4096, "out_dim": 16,
                  "num_heads": 12, "window_size": (-1, -1), "eps": 1e-6, "qk_norm": True, "cross_attn_norm": True}
# per model: config, block-count key, text width, width x height x frames, cfg, what the table calls it
MODELS = {
    "cosmos": {"config": COSMOS_PREDICT2_2B, "blocks_key": "num_blocks", "text": 1024, "size": (1024, 1024, 1),
               "cfg": 4.0, "name": "Cosmos-Predict2-2B-shaped", "width_key": "model_channels"},
    "wan": {"config": WAN21_T2V_1_3B, "blocks_key": "num_layers", "text": 4096, "size": (832, 480, 17),
            "cfg": 6.0, "name": "Wan-2.1-T2V-1.3B-shaped", "width_key": "dim"},
}
TOKENS, PROMPT_LENGTH, LOCAL_LENGTH, EMPTY_LENGTH = 512, 24, 12, 1
CSM_REGIONS = 4     # ConditioningSetMask costs a model pass per region: measured beside the patch at R = 4 only


def text(width: int, length: int, gen: torch.Generator) -> torch.Tensor:
    """A T5-shaped embedding: `length` real tokens, zero padding to 512 (as ComfyUI's T5/UMT5 encoders give it)."""
    e = torch.zeros(1, TOKENS, width)
    e[:, :length] = torch.randn(1, length, width, generator=gen) * 0.2
    return e


def build(model_name: str, blocks: int):
    """Host, patch helpers, the model's ModelPatcher and the prompt/negative conditioning (random, fixed seed)."""
    from support.comfy_host import boot

    host = boot()
    import comfy.supported_models as sm
    import comfy.utils

    comfy.utils.PROGRESS_BAR_ENABLED = False
    from support import patch_support as ps
    from support.models import _patcher, init_random

    spec = MODELS[model_name]
    config = dict(spec["config"], **{spec["blocks_key"]: blocks})
    model_config = sm.CosmosT2IPredict2(config) if model_name == "cosmos" else sm.WAN21_T2V(config)
    model_config.set_inference_dtype(torch.float32, None)
    model = model_config.get_model({})
    init_random(model.diffusion_model, 0, scale=0.02)
    gen = torch.Generator().manual_seed(0)
    positive = [[text(spec["text"], PROMPT_LENGTH, gen), {}]]
    negative = [[text(spec["text"], PROMPT_LENGTH // 2, gen), {}]]
    return host, ps, _patcher(model), positive, negative, gen


def regions(host, model_name: str, r: int, gen):
    """R local prompts shaped as Region Prompt Encode hands over the model's T5's (512 tokens, padding zeroed)."""
    Regions = host.pack_module("spacetime.regions").Regions
    width = MODELS[model_name]["text"]
    boxes = torch.tensor(BOXES[:r])
    return Regions(embeddings=[text(width, LOCAL_LENGTH, gen) for _ in range(r)], pooled=[None] * r, boxes=boxes,
                   centers=(boxes[:, :2] + boxes[:, 2:]) / 2, names=[f"object {i}" for i in range(r)],
                   prompts=[f"object {i}" for i in range(r)], empty=text(width, EMPTY_LENGTH, gen),
                   lengths=[LOCAL_LENGTH] * r, empty_length=EMPTY_LENGTH)


def latent_shape(width: int, height: int, frames: int) -> tuple[int, ...]:
    """[1, 16, T, H/8, W/8]: Wan 2.1's VAE (Cosmos-Predict2 uses it too) maps 4 frames to one after the first."""
    return (1, 16, (frames - 1) // 4 + 1, height // 8, width // 8)


def methods_for(host, ps, model, model_name, positive, regions_counts, shape, gen):
    """{name: (model, positive)} for the patch at each R and ConditioningSetMask at R = 4."""
    import nodes

    methods = {}
    for r in regions_counts:
        methods[f"patch R={r}"] = (ps.patch(host, model, regions(host, model_name, r, gen)), positive)
    if CSM_REGIONS in regions_counts:
        t, h, w = shape[2:]
        cond = positive
        with torch.inference_mode():
            for box in BOXES[:CSM_REGIONS]:
                mask = torch.zeros(1, t, h, w)
                x0, y0, x1, y1 = box
                mask[:, :, int(round(y0 * h)):int(round(y1 * h)), int(round(x0 * w)):int(round(x1 * w))] = 1.0
                local = [[text(MODELS[model_name]["text"], LOCAL_LENGTH, gen), {}]]
                local = nodes.ConditioningSetMask().append(local, mask, "default", 1.0)[0]
                cond = nodes.ConditioningCombine().combine(cond, local)[0]
        methods[f"ConditioningSetMask R={CSM_REGIONS}"] = (model, cond)
    return methods


clock = CLOCKS["wall"]


def sample(model, positive, negative, shape, cfg: float, steps: int) -> torch.Tensor:
    import nodes

    with torch.inference_mode():
        return nodes.common_ksampler(model, 0, steps, cfg, "euler", "simple", positive, negative,
                                     {"samples": torch.zeros(shape)})[0]["samples"]


def step_time(model, positive, negative, shape, cfg: float, steps: int) -> float:
    t0 = clock()
    sample(model, positive, negative, shape, cfg, steps)
    return (clock() - t0) / steps


def check_applied(host, ps, methods, negative, shape, cfg) -> None:
    """Each patched model's first (warm-up) run must combine in every block: a benchmark of a patch that silently
    skips would measure nothing."""
    for name, (m, p) in methods.items():
        if not name.startswith("patch"):
            sample(m, p, negative, shape, cfg, 1)
            continue
        rt = ps.runtime(host, m, trace=True)
        sample(m, p, negative, shape, cfg, 1)
        applied, rt.trace = len(rt.trace), None
        if applied == 0:
            raise RuntimeError(f"{name}: the patch did not act in its warm-up run")


CHILD = """
import sys, torch
sys.argv = ["bench_cross_attention_dits"]
from benchmarks import bench_cross_attention_dits as b
from benchmarks.bracketing import report_peak
torch.set_num_threads({threads})
host, ps, model, positive, negative, gen = b.build("{model}", {blocks})
methods = b.methods_for(host, ps, model, "{model}", positive, [{r}], {shape}, gen)
m, p = (model, positive) if "{method}" == "vanilla" else methods["{method}"]
report_peak(lambda: b.sample(m, p, negative, {shape}, {cfg}, 1))
"""


def child_peak(method: str, model_name: str, blocks: int, r: int, shape, cfg: float, threads: int) -> dict:
    code = CHILD.format(method=method, model=model_name, blocks=blocks, r=r, shape=tuple(shape), cfg=cfg,
                        threads=threads)
    return bracketing.child_peak(code, method)


def profile(model, patched, positive, negative, shape, cfg: float, top: int = 20) -> None:
    """torch.profiler on one vanilla and one patched step (each after a warm-up run): the ops whose self CPU time
    grew most, i.e. where the patch's time goes."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    totals = []
    for m in (model, patched):
        sample(m, positive, negative, shape, cfg, 1)
        with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            sample(m, positive, negative, shape, cfg, 1)
        totals.append({e.key: (e.self_cpu_time_total / 1e3, e.count) for e in prof.key_averages()})
    vanilla, patch = totals
    print(f"\nprofile: self CPU ms, vanilla {sum(v for v, _ in vanilla.values()):.0f}, patched "
          f"{sum(v for v, _ in patch.values()):.0f}; the {top} ops that grew most")
    grew = sorted(patch, key=lambda k: patch[k][0] - vanilla.get(k, (0.0, 0))[0], reverse=True)[:top]
    for key in grew:
        (pt, pc), (vt, vc) = patch[key], vanilla.get(key, (0.0, 0))
        print(f"  {key:42s} {vt:10.1f} ({vc:5d}) -> {pt:10.1f} ({pc:5d})  +{pt - vt:.1f}")


def flops(model, positive, negative, shape, cfg: float, patched: dict) -> None:
    """FLOPs of one step (torch's FlopCounterMode: matmuls, attention, convolutions), vanilla and each patched model:
    what the patch adds, independent of the machine's load (the per-run work, e.g. the local keys and values, counts
    in full, as in a one-step run)."""
    from torch.utils.flop_counter import FlopCounterMode

    def count(m) -> int:
        with FlopCounterMode(display=False) as counter:
            sample(m, positive, negative, shape, cfg, 1)
        return counter.get_total_flops()

    base = count(model)
    print(f"\nflops: vanilla {base / 1e12:.3f} TFLOP per step")
    for name, m in patched.items():
        n = count(m)
        print(f"  {name:26s} {n / base:.4f}x  (+{(n - base) / 1e9:.1f} GFLOP)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), required=True)
    parser.add_argument("--width", type=int, help="pixels (default: cosmos 1024, wan 832)")
    parser.add_argument("--height", type=int, help="pixels (default: cosmos 1024, wan 480)")
    parser.add_argument("--frames", type=int, help="pixel frames, 4k+1 (default: cosmos 1, wan 17)")
    parser.add_argument("--regions", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--steps", type=int, default=1, help="euler steps per timed run (times are per step)")
    parser.add_argument("--cfg", type=float, help="default: the family's usual (cosmos 4, wan 6)")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--memory-regions", type=int, nargs="+", help="R measured by --memory (default: --regions)")
    parser.add_argument("--profile", type=int, metavar="R",
                        help="instead of timing: profile one vanilla and one patched step at R regions")
    parser.add_argument("--flops", action="store_true",
                        help="instead of timing: count one step's FLOPs, vanilla and patched at each R")
    add_timing_arguments(parser)
    args = parser.parse_args()
    global clock
    clock = CLOCKS[args.clock]
    torch.set_num_threads(args.threads)
    spec = MODELS[args.model]
    width, height, frames = (a if a is not None else d for a, d in zip((args.width, args.height, args.frames),
                                                                         spec["size"]))
    cfg = spec["cfg"] if args.cfg is None else args.cfg
    shape = latent_shape(width, height, frames)
    host, ps, model, positive, negative, gen = build(args.model, args.blocks)
    tokens = shape[2] * (shape[3] // 2) * (shape[4] // 2)
    print(f"# {platform.machine()} {platform.system()}, torch {torch.__version__}, {args.threads} threads, "
          f"{args.clock} clock, {spec['name']}: {args.blocks} blocks at width {spec['config'][spec['width_key']]}, "
          f"{width} x {height} x {frames} frames (latent {list(shape)}, {tokens} image tokens), cfg {cfg}, "
          f"{args.steps} euler step(s) per run", flush=True)
    if args.profile:
        patched = ps.patch(host, model, regions(host, args.model, args.profile, gen))
        profile(model, patched, positive, negative, shape, cfg)
        return
    if args.flops:
        flops(model, positive, negative, shape, cfg,
              {f"patch R={r}": ps.patch(host, model, regions(host, args.model, r, gen)) for r in args.regions})
        return
    methods = methods_for(host, ps, model, args.model, positive, args.regions, shape, gen)
    t0 = time.perf_counter()
    sample(model, positive, negative, shape, cfg, 1)                            # warm-up
    check_applied(host, ps, methods, negative, shape, cfg)
    print(f"# warm-up: {time.perf_counter() - t0:.0f} s wall", flush=True)
    ratios = bracketed(lambda: step_time(model, positive, negative, shape, cfg, args.steps),
                       {name: functools.partial(step_time, m, p, negative, shape, cfg, args.steps)
                        for name, (m, p) in methods.items()}, args.repeats)
    vanilla = step_time(model, positive, negative, shape, cfg, args.steps)
    print(f"\nvanilla {vanilla:.2f} s/step ({args.clock})")
    for name, values in ratios.items():
        print(ratio_line(name, values), flush=True)
    if args.memory:
        base = child_peak("vanilla", args.model, args.blocks, args.regions[0], shape, cfg, args.threads)
        grown = base["peak_kib"] - base["before_kib"]
        print(f"  memory: vanilla peak {base['peak_kib'] / 2**20:.2f} GiB (+{grown / 2**20:.2f} GiB sampling)",
              flush=True)
        for r in args.memory_regions or args.regions:
            for method in (f"patch R={r}",) + ((f"ConditioningSetMask R={r}",) if r == CSM_REGIONS else ()):
                peak = child_peak(method, args.model, args.blocks, r, shape, cfg, args.threads)
                print(f"  memory {method:26s} peak {peak['peak_kib'] / base['peak_kib']:.3f}x", flush=True)


if __name__ == "__main__":
    main()
