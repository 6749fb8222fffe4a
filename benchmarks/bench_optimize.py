"""Optimize Step Weights vs plain sampling: wall time and peak memory, side by side in one process.

Full-size random-weight SD1.5 (tests/support/models.py), small image, few steps, two regions. Phases, in order:
plain KSampler on the unpatched model, plain KSampler on the SpaceTime-patched model (initial weights), the
optimiser with objective ``attention`` (node defaults), with objective ``clip`` (a tiny random CLIPModel unless
``--clip-folder`` names a real one), and the patched plain sample again (drift check on a shared machine).

Memory: peak resident set size sampled every 5 ms during the phase (CPU), or ``torch.cuda.max_memory_allocated``
on CUDA; ``malloc_trim`` between phases so freed heap does not inflate the next one. Ratios are against the patched
plain sample (what the optimiser replaces) and the unpatched one.

usage: eval "$(tools/provision.sh)"; $SPACETIME_HOST_PYTHON benchmarks/bench_optimize.py [--size 256] [--steps 4]
       [--threads N] [--skip-clip] [--clip-folder PATH] [--device cpu|cuda]

--device cuda boots the host without --cpu (SPACETIME_HOST_DEVICE=cuda); every phase is bracketed by
torch.cuda.synchronize() (in PeakMemory).
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path


class PeakMemory:
    """Peak RSS (CPU) or peak allocated CUDA memory over a `with` block, in GiB."""

    def __init__(self, cuda: bool):
        self.cuda, self.peak, self._stop = cuda, 0.0, threading.Event()

    def __enter__(self):
        import psutil
        import torch

        gc.collect()
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            return self
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except OSError:
            pass
        proc = psutil.Process()
        self.peak = proc.memory_info().rss

        def sample():
            while not self._stop.wait(0.005):
                self.peak = max(self.peak, proc.memory_info().rss)
        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        import psutil
        import torch

        if self.cuda:
            torch.cuda.synchronize()
            self.peak = torch.cuda.max_memory_allocated()
        else:
            self._stop.set()
            self._thread.join()
            self.peak = max(self.peak, psutil.Process().memory_info().rss)
        self.peak /= 2 ** 30


def tiny_clip_folder(root: Path, comfy_dir: Path) -> Path:
    import torch
    from transformers import CLIPConfig, CLIPModel

    torch.manual_seed(0)
    folder = root / "tiny-random-clip"
    cfg = CLIPConfig(text_config=dict(hidden_size=64, intermediate_size=128, num_attention_heads=2,
                                      num_hidden_layers=2, max_position_embeddings=77),
                     vision_config=dict(hidden_size=64, intermediate_size=128, num_attention_heads=2,
                                        num_hidden_layers=2, image_size=224, patch_size=32), projection_dim=32)
    CLIPModel(cfg).save_pretrained(folder)
    for name in ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"]:
        shutil.copy(comfy_dir / "comfy" / "sd1_tokenizer" / name, folder / name)
    return folder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--clip-folder", default="", help="a real transformers CLIP folder (default: tiny random)")
    ap.add_argument("--skip-clip", action="store_true")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--again", action="store_true",
                    help="run both optimisations a second time (warm: one-time costs such as first-use kernel "
                         "loading, tokenizer and plot set-up are then paid)")
    ap.add_argument("--profile", type=int, default=0,
                    help="cProfile the warm attention run and print its N most expensive functions (needs --again)")
    args = ap.parse_args()
    os.environ["SPACETIME_HOST_DEVICE"] = args.device
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    from support.comfy_host import boot
    from support.models import ensure_full_sd15_checkpoint
    from support.paths import comfy_dir

    host = boot()
    import comfy.model_management as mm
    import folder_paths
    import nodes
    import torch

    opt = host.pack_module("nodes.optimize_nodes")
    regions_cls = host.pack_module("spacetime.regions").Regions
    patch_node = host.node_class("SpaceTimeAttentionPatch")
    cuda = mm.get_torch_device().type == "cuda"
    ckpt = ensure_full_sd15_checkpoint(Path(folder_paths.get_folder_paths("checkpoints")[0]))

    tmp = Path(tempfile.mkdtemp(prefix="bench-opt-"))
    if args.clip_folder:
        clip_folder, clip_note = Path(args.clip_folder), f"real CLIP `{Path(args.clip_folder).name}`"
    else:
        clip_folder, clip_note = tiny_clip_folder(tmp, comfy_dir()), "tiny random CLIPModel (no real one present)"
    folder_paths.add_model_folder_path("spacetime_clip", str(clip_folder.parent))

    rows = []
    with torch.inference_mode():
        model, clip, vae = nodes.CheckpointLoaderSimple().load_checkpoint(ckpt.name)[:3]

        def enc(text):
            return clip.encode_from_tokens(clip.tokenize(text), return_pooled=True)

        names = ["cat", "dog"]
        local = [enc(f"a photo of a {n}") for n in names]
        empty = enc("")
        regions = regions_cls(embeddings=[c for c, _ in local], pooled=[p for _, p in local],
                              boxes=torch.tensor([[0.05, 0.2, 0.45, 0.8], [0.55, 0.2, 0.95, 0.8]]),
                              centers=torch.tensor([[0.25, 0.5], [0.75, 0.5]]), names=names,
                              prompts=[f"a photo of a {n}" for n in names], empty=empty[0],
                              empty_pooled=empty[1])
        pc, pp = enc("a photo of a cat and a dog")
        positive, negative = [[pc, {"pooled_output": pp}]], [[empty[0], {"pooled_output": empty[1]}]]
        latent = {"samples": torch.zeros(1, 4, args.size // 8, args.size // 8)}
        patched = patch_node.execute(model, regions).result[0]
        common = (args.seed, args.steps, 7.5, "euler", "normal", positive, negative, latent)
        nodes.common_ksampler(model, *common)                   # warm-up: load, first-call overheads

        def phase(name, fn):
            with PeakMemory(cuda) as mem:
                t0 = time.perf_counter()
                out = fn()
                if cuda:
                    torch.cuda.synchronize()
                dt = time.perf_counter() - t0
            rows.append((name, dt, mem.peak))
            print(f"{name:40s} {dt:8.1f} s {mem.peak:7.2f} GiB", flush=True)
            return out

        def optimise(**kw):
            return opt.SpaceTimeOptimizeStepWeights.execute(model, regions, positive, negative, latent, args.seed,
                                                            args.steps, 7.5, "euler", "normal", **kw)

        phase("plain KSampler (unpatched)", lambda: nodes.common_ksampler(model, *common))
        phase("plain KSampler (patched, initial w)", lambda: nodes.common_ksampler(patched, *common))
        att = phase("optimize attention (defaults)", lambda: optimise())
        if not args.skip_clip:
            phase("optimize clip (paper: 2 updates)", lambda: optimise(objective="clip", vae=vae,
                                                                      clip_model=clip_folder.name))
        if args.again:
            if args.profile:
                import cProfile
                import pstats

                prof = cProfile.Profile()
                phase("optimize attention (again, warm)", lambda: prof.runcall(optimise))
                stats = pstats.Stats(prof)
                for key in ("tottime", "cumulative"):
                    print(f"-- cProfile of the warm attention run, top {args.profile} by {key}")
                    stats.sort_stats(key).print_stats(args.profile)
            else:
                phase("optimize attention (again, warm)", lambda: optimise())
            if not args.skip_clip:
                phase("optimize clip (again, warm)", lambda: optimise(objective="clip", vae=vae,
                                                                      clip_model=clip_folder.name))
        phase("plain KSampler (patched, again)", lambda: nodes.common_ksampler(patched, *common))

    base = {r[0]: r for r in rows}
    plain = [r for r in rows if r[0].startswith("plain KSampler (patched")]
    p_time = min(r[1] for r in plain)
    p_mem = max(r[2] for r in plain)
    u_time, u_mem = base["plain KSampler (unpatched)"][1:]
    report = att.ui["spacetime_optimize"][0]
    print()
    print(f"device: {mm.get_torch_device()}, torch threads {torch.get_num_threads()}, {args.size} px, "
          f"{args.steps} steps, euler/normal, cfg 7.5, 2 regions; clip objective uses {clip_note}")
    print(f"attention objective: loss per pass {report['losses']}, final weights {report['final_loss']}")
    print("| phase | time s | peak GiB | time / plain | peak / plain | time / unpatched | peak / unpatched |")
    print("|---|---|---|---|---|---|---|")
    for name, dt, mem in rows:
        print(f"| {name} | {dt:.1f} | {mem:.2f} | {dt / p_time:.2f} | {mem / p_mem:.2f} | {dt / u_time:.2f} | "
              f"{mem / u_mem:.2f} |")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
