"""The fidelity experiment: held-out prompts through ComfyUI's real nodes, vanilla vs the pack, scored.

usage: python -m lab.experiment [--two 40] [--three 12] [--samples 3] [--split heldout|validation]
                                [--seed-set 0] [--variants NAME ...] [--table lab/runs/experiment.md]
                                [--grid docs/lab_grid.jpg] [--checkpoint lab/fixtures/spacetime_lab.safetensors]

The DiT lab checkpoint (lab/fixtures/spacetime_lab_dit.safetensors, recognised by its weights) is sampled with
Euler on the `simple` schedule (`graphs.DIT_SAMPLER`), without the optimised variants.

Run it after `eval "$(tools/provision.sh)"` (ComfyUI and the harness `support` on PYTHONPATH, the lab linked into
the host as an extension). Boots ComfyUI in this process with the pack and the lab extension
(tests/support/comfy_host.py), makes the lab checkpoint visible to the lab's loader node from lab/fixtures, and
for each held-out caption runs one API prompt holding every variant (`VARIANTS`), with `--samples` images per
variant (one latent batch from the caption's seed). Every image is decoded by the checkpoint's VAE, read back from
ComfyUI's PreviewImage output and scored by the detector (`lab.metrics`) with the pack's centre rule for relations.
`--seed-set K` runs the same captions on other sampler seeds and object placements (`lab.heldout`); 0 is the
original set.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .captions import canonical_caption
from .detect import detect
from .dit_checkpoint import is_dit_lab_checkpoint
from .graphs import CHECKPOINT, DIT_SAMPLER, LOADER, SAMPLER, Variant, caption_prompt
from .heldout import heldout_scenes, sampler_seed, validation_scenes
from .metrics import ImageScore, colour_leak, in_box_rate, score_image, summarise
from .scenes import CentreRule

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "lab" / "fixtures"
VARIANTS = [
    Variant("vanilla"),
    Variant("guidance w=1, predicted boxes", "predicted", "guidance", 1.0),
    Variant("guidance w=2, predicted boxes", "predicted", "guidance", 2.0),
    Variant("guidance w=3, predicted boxes", "predicted", "guidance", 3.0),
    Variant("guidance w=4->0, predicted boxes", "predicted", "guidance", 4.0, weight_end=0.0),
    Variant("guidance w=6->0, predicted boxes", "predicted", "guidance", 6.0, weight_end=0.0),
    Variant("mix 0.5, predicted boxes", "predicted", "mix", 0.5),
    Variant("mix 1->0, predicted boxes", "predicted", "mix", 1.0, weight_end=0.0),
    # The patch's DiT controls at the mode the width-128 DiT lab chose (names avoid "mix 1->0," so it selects one
    # variant), and at the width-256 lab's guidance w=4->0 (names avoid "w=4->0, predicted").
    Variant("mix 1->0 restricted, predicted boxes", "predicted", "mix", 1.0, weight_end=0.0,
            region_attention="restricted"),
    Variant("mix 1->0 double blocks, predicted boxes", "predicted", "mix", 1.0, weight_end=0.0, blocks="double"),
    Variant("mix 1->0 double blocks restricted, predicted boxes", "predicted", "mix", 1.0, weight_end=0.0,
            blocks="double", region_attention="restricted"),
    Variant("mix 1->0 every other block, predicted boxes", "predicted", "mix", 1.0, weight_end=0.0,
            blocks="every other"),
    Variant("mix 1->0 every other block restricted, predicted boxes", "predicted", "mix", 1.0, weight_end=0.0,
            blocks="every other", region_attention="restricted"),
    Variant("guidance w=4->0 restricted, predicted boxes", "predicted", "guidance", 4.0, weight_end=0.0,
            region_attention="restricted"),
    Variant("guidance w=4->0 double blocks, predicted boxes", "predicted", "guidance", 4.0, weight_end=0.0,
            blocks="double"),
    Variant("guidance w=4->0 every other block, predicted boxes", "predicted", "guidance", 4.0, weight_end=0.0,
            blocks="every other"),
    Variant("guidance w=4->0 single blocks, predicted boxes", "predicted", "guidance", 4.0, weight_end=0.0,
            blocks="single"),
    Variant("guidance w=4->0 global modulation, predicted boxes", "predicted", "guidance", 4.0, weight_end=0.0,
            modulation="global"),
    # Where and when the term acts (DiT lab probes against its square-filled boxes).
    Variant("guidance w=4->0 until 50%, predicted boxes", "predicted", "guidance", 4.0, weight_end=0.0,
            end_percent=0.5),
    Variant("guidance w=4->0 feathered, predicted boxes", "predicted", "guidance", 4.0, weight_end=0.0,
            feather=0.5),
    Variant("guidance w=4->0 disc, predicted boxes", "predicted", "guidance", 4.0, weight_end=0.0,
            mask_shape="disc"),
    Variant("guidance w=4->0 disc r=0.1, predicted boxes", "predicted", "guidance", 4.0, weight_end=0.0,
            mask_shape="disc", radius=0.1),
    Variant("guidance w=4->0 disc r=0.14, predicted boxes", "predicted", "guidance", 4.0, weight_end=0.0,
            mask_shape="disc", radius=0.14),
    Variant("guidance w=4->2, predicted boxes", "predicted", "guidance", 4.0, weight_end=2.0),
    Variant("guidance w=6->2, predicted boxes", "predicted", "guidance", 6.0, weight_end=2.0),
    Variant("guidance w=8->0 until 30%, predicted boxes", "predicted", "guidance", 8.0, weight_end=0.0,
            end_percent=0.3),
    Variant("optimised from w=2, predicted boxes", "predicted", "guidance", 2.0, optimise=True),
    Variant("optimised from w=4->0, predicted boxes", "predicted", "guidance", 4.0, optimise=True, weight_end=0.0),
    Variant("guidance w=4->0, gold boxes", "gold", "guidance", 4.0, weight_end=0.0),
    Variant("control: guidance w=4->0, swapped gold boxes", "swapped", "guidance", 4.0, weight_end=0.0),
]
METRICS = ("presence", "binding", "relation", "all_correct", "in_gold_box", "colour_leak")


def boot_host(checkpoint_dir: Path = FIXTURES):
    """ComfyUI in-process with the pack and the lab extension, and `checkpoint_dir` among the checkpoints."""
    from support.comfy_host import boot

    host = boot()
    if LOADER not in host.nodes.NODE_CLASS_MAPPINGS:
        raise RuntimeError(f"the lab extension is not loaded (no {LOADER} node): link lab/ into ComfyUI's "
                           'custom_nodes as spacetime_lab (eval "$(tools/provision.sh)" does)')
    import folder_paths

    folder_paths.add_model_folder_path("checkpoints", str(checkpoint_dir))
    # A private temp folder: another ComfyUI starting on this machine empties the shared one at start-up.
    temp = REPO / "lab" / "runs" / "comfy_temp"
    temp.mkdir(parents=True, exist_ok=True)
    folder_paths.set_temp_directory(str(temp))
    return host


def boot_for_checkpoint(parser: argparse.ArgumentParser, checkpoint: Path):
    """The lab host for a command's resolved `--checkpoint` (refused through `parser` when it is not a file),
    sampling on one thread as every lab measurement does."""
    if not checkpoint.is_file():
        parser.error(f"--checkpoint: no file at {checkpoint}")
    import torch

    torch.set_num_threads(1)
    return boot_host(checkpoint.parent)


def run_caption(host, scene, variants: list[Variant], seed: int, batch: int, checkpoint: str = CHECKPOINT,
                sampler: dict = SAMPLER) -> dict[str, list[np.ndarray]]:
    """Images (H, W, 3 float) per variant for one held-out scene."""
    import folder_paths

    prompt, previews = caption_prompt(scene, canonical_caption(scene), variants, seed, batch, checkpoint, sampler)
    result = host.run(prompt)
    if not result.success or not set(previews.values()) <= set(result.outputs):
        raise RuntimeError(f"prompt failed: {result.error_text()[:2000]}")
    images = {}
    for name, node in previews.items():
        files = result.outputs[node]["images"]
        images[name] = [np.asarray(Image.open(Path(folder_paths.get_temp_directory()) / f["subfolder"] / f["filename"])
                                   .convert("RGB"), np.float32) / 255 for f in files]
    return images


def pack_centre_rule(host) -> CentreRule:
    """layout_model's centre rule from the pack this host loaded: the lab scores relations as the pack evaluates
    them, and layout_model keeps the one module name ComfyUI gave it."""
    return host.pack_module("layout_model.evaluate").relation_holds


def image_scores(scene, image: np.ndarray, centre_rule: CentreRule) -> dict[str, float]:
    """The `lab.metrics` scores of one image, plus the share of objects (by colour) inside their gold box and the
    colour leak."""
    found = detect(image)
    score: ImageScore = score_image(scene, found, centre_rule)
    return {**vars(score), "in_gold_box": in_box_rate(scene, found, image.shape[0] / scene.size),
            "colour_leak": colour_leak(scene, image)}


def markdown_table(scores: dict[str, list[list[dict[str, float]]]], label: str) -> str:
    header = (f"| {label} | object presence | colour binding | relation accuracy | all correct | in gold box "
              "| colour leak | images |\n|---|---|---|---|---|---|---|---|\n")
    rows = []
    for name, per_prompt in scores.items():
        cells = [str(summarise([[s[m] for s in ss] for ss in per_prompt])) for m in METRICS]
        rows.append(f"| {name} | " + " | ".join(cells) + f" | {sum(len(ss) for ss in per_prompt)} |")
    return header + "\n".join(rows) + "\n"


def draw_column_labels(draw: ImageDraw.ImageDraw, names: list[str], cell: int) -> None:
    """Variant names above the columns, two lines each (ASCII names: PIL's default font has few symbols)."""
    for c, name in enumerate(names):
        draw.text((c * cell + 3, 2), name[:24], fill="black")
        draw.text((c * cell + 3, 14), name[24:48], fill="black")


def save_grid(rows: list[tuple[str, dict[str, np.ndarray]]], names: list[str], path: Path, cell: int = 128) -> None:
    """First sample of each variant (columns) for the first captions (rows), captions written above rows."""
    label_h, head_h = 14, 28
    grid = Image.new("RGB", (cell * len(names), head_h + len(rows) * (cell + label_h)), "white")
    draw = ImageDraw.Draw(grid)
    draw_column_labels(draw, names, cell)
    for r, (caption, images) in enumerate(rows):
        y = head_h + r * (cell + label_h)
        draw.text((3, y + 1), caption[:110], fill="black")
        for c, name in enumerate(names):
            tile = Image.fromarray((images[name] * 255).astype(np.uint8)).resize((cell, cell))
            grid.paste(tile, (c * cell, y + label_h))
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path, quality=92)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--two", type=int, default=40, help="first N of the 40 held-out two-object captions")
    parser.add_argument("--three", type=int, default=12,
                        help="first N of the 12 held-out three-object captions (validation: N three-object captions)")
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--split", choices=["heldout", "validation"], default="heldout",
                        help="validation: --two and --three captions of combinations seen in training, "
                             "to choose settings on")
    parser.add_argument("--seed-set", type=int, default=0,
                        help="K > 0: the same captions with other sampler seeds and gold placements (lab.heldout); "
                             "0: the original ones")
    parser.add_argument("--table", type=Path, default=REPO / "lab" / "runs" / "experiment.md")
    parser.add_argument("--grid", type=Path, default=REPO / "docs" / "lab_grid.jpg")
    parser.add_argument("--grid-rows", type=int, default=6)
    parser.add_argument("--checkpoint", type=Path, default=FIXTURES / CHECKPOINT,
                        help="the lab checkpoint to measure (default: the committed fixture)")
    parser.add_argument("--variants", nargs="+", metavar="NAME",
                        help="run only the variants whose names contain one of these strings (vanilla always runs)")
    args = parser.parse_args(argv)
    # Booting ComfyUI changes the working directory: fix relative paths to the caller's first.
    args.table, args.grid, args.checkpoint = args.table.resolve(), args.grid.resolve(), args.checkpoint.resolve()
    if args.seed_set < 0:
        parser.error(f"--seed-set: must be 0 or more, got {args.seed_set}")
    host = boot_for_checkpoint(parser, args.checkpoint)
    centre_rule = pack_centre_rule(host)
    dit = is_dit_lab_checkpoint(args.checkpoint)
    # Optimize Step Weights refuses DiTs (the pack says why), and a UNet ignores the DiT controls.
    variants = [v for v in VARIANTS if (v.name == "vanilla" or not args.variants
                                        or any(part in v.name for part in args.variants))
                and not (v.optimise if dit else v.dit_only)]
    scenes = (heldout_scenes(min(args.two, 40), min(args.three, 12), seed_set=args.seed_set)
              if args.split == "heldout" else validation_scenes(args.two, n_three=args.three, seed_set=args.seed_set))
    scores: dict[str, list[list[dict[str, float]]]] = {v.name: [] for v in variants}
    by_count: dict[str, list[list[dict[str, float]]]] = {}
    grid_rows = []
    start = time.time()
    for i, scene in enumerate(scenes):
        images = run_caption(host, scene, variants, seed=sampler_seed(i, args.seed_set), batch=args.samples,
                             checkpoint=args.checkpoint.name, sampler=DIT_SAMPLER if dit else SAMPLER)
        for name, batch in images.items():
            per_image = [image_scores(scene, img, centre_rule) for img in batch]
            scores[name].append(per_image)
            by_count.setdefault(f"{name} ({len(scene.objects)} objects)", []).append(per_image)
        if len(grid_rows) < args.grid_rows:
            grid_rows.append((canonical_caption(scene), {n: b[0] for n, b in images.items()}))
        rel = " ".join(f"{np.mean([s['relation'] for s in scores[v.name][-1]]):.2f}" for v in variants)
        print(f"[{i + 1}/{len(scenes)}] {time.time() - start:.0f}s  {canonical_caption(scene)}  relation per "
              f"variant: {rel}", flush=True)
    table = markdown_table(scores, "variant") + "\n" + markdown_table(dict(sorted(by_count.items())), "variant (subset)")
    args.table.parent.mkdir(parents=True, exist_ok=True)
    args.table.write_text(table)
    save_grid(grid_rows, [v.name for v in variants], args.grid)
    print(table)


if __name__ == "__main__":
    main()
