"""Speed (and optionally peak memory) of the SpaceTime Attention Patch vs vanilla and ConditioningSetMask.

usage: $SPACETIME_HOST_PYTHON benchmarks/bench_patch.py [--sizes 256 512] [--regions 1 2 4 8] [--steps 3]
                                                        [--repeats 2] [--memory | --host-proxy] [--threads N]
                                                        [--device cpu|cuda] [--dtype fp16|bf16|fp32]

Full-size random-weight SD1.5 (tests/support/models.py), CPU (default) or CUDA, in one process. Every method run
is bracketed by vanilla runs (V M1 V M2 V ...) and its ratio is its time over the mean of the two neighbouring
vanilla runs, so slow drifts of a shared machine cancel. A "run" is one KSampler call of `steps` euler steps at
cfg 7 (cond and uncond batched); times are per step. --memory measures the peak RSS of a fresh child process per method
(the peak is reset after the model is loaded, so it is the peak of sampling: weights + activations), as a ratio
to the vanilla child.

--device cuda boots the host without --cpu (SPACETIME_HOST_DEVICE=cuda; --dtype bf16/fp32 adds --bf16-unet /
--fp32-unet, fp16 is ComfyUI's own choice on CUDA). Every timed run is bracketed by torch.cuda.synchronize().
After the timings of each size, in the same process, every method is run once more for memory: peak
torch.cuda.max_memory_allocated over the run (absolute, and above the allocation before the run, i.e. the
activations), the allocation left after the run minus before (0 = nothing of the pack's kept across runs), and
whether the sampled latent is finite; at the first size the vanilla and patch R=max latents are also decoded by
the checkpoint's VAE and checked finite. first_run_left_bytes: the same difference over each method's first
(warm-up) run at that size, where the patch builds its mask cache for the new resolution. host_syncs_per_step:
synchronising CUDA calls per step of one more run (torch.cuda.set_sync_debug_mode("warn")). --memory (child
processes, RSS) is CPU only.

--host-proxy (issue 18): the patch's host cost per layer call at a size where the arithmetic is negligible
(`--sizes 64`, the tests' tiny SD1.5), the number CI can track between GPU visits (see `bench_host_proxy`).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import torch

BOXES = [[0.05, 0.08, 0.45, 0.48], [0.55, 0.08, 0.95, 0.48], [0.05, 0.55, 0.45, 0.95], [0.55, 0.55, 0.95, 0.95],
         [0.3, 0.3, 0.7, 0.7], [0.0, 0.0, 0.3, 1.0], [0.7, 0.0, 1.0, 1.0], [0.2, 0.7, 0.8, 1.0]]
NAMES = ["cat", "dog", "bird", "car", "tree", "lamp", "chair", "boat"]


def setup():
    from support.comfy_host import boot

    host = boot()
    import folder_paths
    import nodes
    from support import patch_support as ps
    from support.models import ensure_full_sd15_checkpoint

    name = ensure_full_sd15_checkpoint(folder_paths.get_folder_paths("checkpoints")[0]).name
    with torch.inference_mode():
        model, clip, vae = nodes.CheckpointLoaderSimple().load_checkpoint(name)[:3]
    return host, ps, nodes, model, clip, vae


def make_methods(host, ps, nodes, model, clip, regions_counts, size, eager=False):
    pos = ps.encode(clip, "a cat, a dog, a bird, a car, a tree, a lamp, a chair and a boat")
    neg = ps.encode(clip, "")
    methods = {}
    for r in regions_counts:
        regs = ps.regions(host, clip, boxes=BOXES[:r], phrases=[f"a {n}" for n in NAMES[:r]])
        methods[f"patch R={r}"] = (ps.patch(host, model, regs), pos)
        if eager:                   # the same patch with capture off: what the replayable units save
            m = ps.patch(host, model, regs)
            host.pack_module("bridge.patch").find_runtime(m).capture_for = lambda device: None
            methods[f"patch R={r} eager"] = (m, pos)
    for r in regions_counts:
        if r != 4:
            continue
        lat = size // 8
        cond = pos
        with torch.inference_mode():
            for box, n in zip(BOXES[:r], NAMES[:r]):
                mask = torch.zeros(1, lat, lat)
                x0, y0, x1, y1 = (int(round(v * lat)) for v in box)
                mask[:, y0:y1, x0:x1] = 1.0
                local = nodes.ConditioningSetMask().append(ps.encode(clip, f"a photo of a {n}"), mask, "default",
                                                            1.0)[0]
                cond = nodes.ConditioningCombine().combine(cond, local)[0]
        methods[f"ConditioningSetMask R={r}"] = (model, cond)
    return methods, pos, neg


def cuda() -> bool:
    return os.environ.get("SPACETIME_HOST_DEVICE", "cpu") == "cuda"


def sync() -> None:
    if cuda():
        torch.cuda.synchronize()


def timed(ps, model, pos, neg, size, steps):
    sync()
    t0 = time.perf_counter()
    ps.sample(model, pos, neg, size, size, steps=steps)
    sync()
    return (time.perf_counter() - t0) / steps


def run_seconds(ps, model, pos, neg, size, steps) -> float:
    """Wall seconds of one whole run (its per-run costs included)."""
    return timed(ps, model, pos, neg, size, steps) * steps


def allocated() -> int:
    """CUDA bytes allocated once garbage is collected (0 on CPU)."""
    if not cuda():
        return 0
    gc.collect()
    torch.cuda.synchronize()
    return torch.cuda.memory_allocated()


def host_syncs(ps, model, pos, neg, size, steps) -> int:
    """Synchronising CUDA calls during one run, as torch.cuda.set_sync_debug_mode("warn") reports them."""
    import warnings

    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ps.sample(model, pos, neg, size, size, steps=steps)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)


def cuda_memory(ps, nodes, vae, methods, model, pos, neg, size, steps, decode_names, first_left):
    """One more run of every method: peak allocation, what stays allocated afterwards, finiteness (CUDA)."""
    rows, base_peak, base_act = [], None, None
    for name, (m, p) in [("vanilla", (model, pos))] + list(methods.items()):
        before = allocated()
        torch.cuda.reset_peak_memory_stats()
        latent = ps.sample(m, p, neg, size, size, steps=steps)
        sync()
        peak = torch.cuda.max_memory_allocated()
        finite = bool(torch.isfinite(latent).all())
        image_finite = None
        if name in decode_names:
            with torch.inference_mode():
                image = nodes.VAEDecode().decode(vae, {"samples": latent})[0]
            image_finite = bool(torch.isfinite(image).all())
            del image
        del latent
        after = allocated()
        act = peak - before
        if name == "vanilla":
            base_peak, base_act = peak, act
        row = {"size": size, "method": name, "peak_mib": peak // 2**20, "peak_ratio": round(peak / base_peak, 3),
               "activation_peak_mib": act // 2**20, "activation_ratio": round(act / max(base_act, 1), 3),
               "left_allocated_bytes": after - before, "latent_finite": finite}
        if name in first_left:
            row["first_run_left_bytes"] = first_left[name]
        row["host_syncs_per_step"] = round(host_syncs(ps, m, p, neg, size, steps) / steps, 1)
        if image_finite is not None:
            row["image_finite"] = image_finite
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def bench_speed(args):
    host, ps, nodes, model, clip, vae = setup()
    if cuda():
        import comfy.model_management as mm

        print(json.dumps({"torch_device": str(mm.get_torch_device()), "unet_dtype": str(model.model.get_dtype()),
                          "manual_cast": str(model.model.manual_cast_dtype)}), flush=True)
    results = []
    for size in args.sizes:
        methods, pos, neg = make_methods(host, ps, nodes, model, clip, args.regions, size, args.eager)
        timed(ps, model, pos, neg, size, 1)                                   # warm-up: vanilla and
        first_left = {}                                                       # each method's caches
        for name, (m, p) in methods.items():
            before = allocated()
            timed(ps, m, p, neg, size, 1)
            first_left[name] = allocated() - before
        repeats = args.repeats if size <= 256 else max(1, args.repeats - 1)
        per = {k: [] for k in methods}
        for _ in range(repeats):
            v_prev = timed(ps, model, pos, neg, size, args.steps)
            for name, (m, p) in methods.items():
                t = timed(ps, m, p, neg, size, args.steps)
                v_next = timed(ps, model, pos, neg, size, args.steps)
                per[name].append((t, (v_prev + v_next) / 2))
                v_prev = v_next
        digits = 4 if cuda() else 3
        for name, runs in per.items():
            ratio = statistics.median(t / v for t, v in runs)
            row = {"size": size, "method": name, "ratio": round(ratio, 3),
                   "step_s": round(statistics.median(t for t, _ in runs), digits),
                   "vanilla_step_s": round(statistics.median(v for _, v in runs), digits)}
            results.append(row)
            print(json.dumps(row), flush=True)
        if cuda():
            decode = {"vanilla", f"patch R={max(args.regions)}"} if size == args.sizes[0] else set()
            results += cuda_memory(ps, nodes, vae, methods, model, pos, neg, size, args.steps, decode, first_left)
    return results


def child_peak(method: str, size: int, r: int) -> int:
    """Peak RSS (bytes) while sampling with `method`, in a fresh process (Linux: the peak is reset after loading)."""
    code = f"""
import sys, torch
sys.argv = [sys.argv[0]]
from benchmarks import bench_patch as b
host, ps, nodes, model, clip, _ = b.setup()
methods, pos, neg = b.make_methods(host, ps, nodes, model, clip, [{r}], {size})
m, p = (model, pos) if {method!r} == "vanilla" else methods[{method!r}]
ps.sample(m, p, neg, {size}, {size}, steps=1)                 # loads the model fully
open("/proc/self/clear_refs", "w").write("5")                 # reset the peak: measure sampling, not loading
ps.sample(m, p, neg, {size}, {size}, steps=2)
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print("PEAK", int(hwm) * 1024)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ)
    for line in out.stdout.splitlines():
        if line.startswith("PEAK"):
            return int(line.split()[1])
    raise RuntimeError(out.stderr[-2000:])


def bench_memory(args):
    size, r = args.sizes[0], 4
    rows = []
    base = child_peak("vanilla", size, r)
    for method in (f"patch R={r}", f"ConditioningSetMask R={r}"):
        peak = child_peak(method, size, r)
        row = {"size": size, "method": method, "peak_rss_ratio": round(peak / base, 3),
               "peak_rss_mb": peak // 2**20, "vanilla_peak_rss_mb": base // 2**20}
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def bench_host_proxy(args):
    """The patch's host cost per layer call where arithmetic is negligible: what a GPU step pays on the host for
    the patch, measured where CI can hold it. The model is the tests' tiny SD1.5 (SD1.5's 16 text-attention
    layers and call structure at small widths; at full width even a 64 px image spends its time reading the
    weights). Per method: the median wall time inside the patch's hook per layer call, the added step time per
    layer call (against interleaved vanilla runs), the launching ops per layer call and the extra host reads per
    step (each a sync on a GPU)."""
    from support.comfy_host import boot
    from support.models import tiny_sd15
    from support.op_counter import OpCounter

    host = boot()
    import nodes
    from support import patch_support as ps

    tiny = tiny_sd15()
    model, clip = tiny.model, tiny.clip
    size = args.sizes[0]
    methods, pos, neg = make_methods(host, ps, nodes, model, clip, args.regions, size)
    methods = {k: v for k, v in methods.items() if k.startswith("patch")}

    def reads(m, steps: int) -> int:
        with OpCounter() as counter:
            ps.sample(m, pos, neg, size, size, steps=steps)
        return counter.host_reads

    def reads_per_step(m) -> float:
        """Host reads per step beyond a run's own (those grow with the steps; the per-run ones do not)."""
        return (reads(m, args.steps + 1) - reads(m, 1)) / args.steps

    vanilla_reads = reads_per_step(model)
    rows = []
    for name, (m, _) in methods.items():
        rt = host.pack_module("bridge.patch").find_runtime(m)
        apply, inside, ops, vanilla_steps = rt.apply, [], [], []

        def timed_apply(*a, _apply=apply, _inside=inside):
            t0 = time.perf_counter()
            res = _apply(*a)
            _inside.append(time.perf_counter() - t0)
            return res

        timed(ps, m, pos, neg, size, 1)                                       # warm-up: masks, plans
        rt.apply = timed_apply
        added = []                  # per step, net of each run's own costs (schedule, tables, projections)
        for _ in range(args.repeats):
            short = [run_seconds(ps, x, pos, neg, size, 1) for x in (model, m)]
            long = [run_seconds(ps, x, pos, neg, size, args.steps + 1) for x in (model, m)]
            added.append(((long[1] - long[0]) - (short[1] - short[0])) / args.steps)
            vanilla_steps.append((long[0] - short[0]) / args.steps)

        def counted_apply(*a, _apply=apply):
            with OpCounter() as counter:
                res = _apply(*a)
            ops.append(sum(counter.ops.values()))
            return res

        rt.apply = counted_apply
        ps.sample(m, pos, neg, size, size, steps=args.steps)
        rt.apply = apply
        calls = len(rt.layers)                                                 # layer calls per step (batched)
        row = {"size": size, "method": name, "hook_us_per_layer_call": round(statistics.median(inside) * 1e6),
               "added_us_per_layer_call": round(statistics.median(added) / calls * 1e6),
               "ops_per_layer_call": round(statistics.mean(ops), 1),
               "extra_host_reads_per_step": round(reads_per_step(m) - vanilla_reads, 2),
               "vanilla_step_ms": round(statistics.median(vanilla_steps) * 1e3, 1)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--regions", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--memory", action="store_true", help="peak RSS per method in child processes instead")
    ap.add_argument("--eager", action="store_true",
                    help="also time each patch with capture off (CUDA graphs are used on CUDA devices only)")
    ap.add_argument("--host-proxy", action="store_true",
                    help="the patch's host cost per layer call at a size where compute is negligible (use --sizes 64)")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch intra-op threads (0 = torch's default); 1 keeps a shared machine's noise out")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--dtype", choices=["fp16", "bf16", "fp32"], default="fp16",
                    help="CUDA UNet dtype: fp16 = ComfyUI's default there, bf16/fp32 force it")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ["SPACETIME_HOST_DEVICE"] = args.device
    if args.device == "cuda":
        if args.memory:
            ap.error("--memory measures CPU RSS; on CUDA the speed run reports GPU memory itself")
        flag = {"fp16": "", "bf16": "--bf16-unet", "fp32": "--fp32-unet"}[args.dtype]
        os.environ["SPACETIME_HOST_ARGS"] = " ".join(filter(None, [os.environ.get("SPACETIME_HOST_ARGS", ""), flag]))
    info = {"machine": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "device": args.device}
    if args.device == "cuda":
        info.update(gpu=torch.cuda.get_device_name(0), cuda=torch.version.cuda, dtype_flag=args.dtype)
    print(json.dumps(info), flush=True)
    if args.host_proxy:
        bench_host_proxy(args)
    else:
        bench_memory(args) if args.memory else bench_speed(args)


if __name__ == "__main__":
    main()
