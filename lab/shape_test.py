"""Does a lab model draw each shape when asked for one? Relation accuracy needs colour and shape both right, so a
model that draws every shape as a blob scores no relations whatever the patch does: this is the test to run on a
new lab model before the experiment.

usage: python -m lab.shape_test --checkpoint lab/fixtures/spacetime_lab_dit.safetensors
                                [--samples 4] [--seed 50] [--colours red green ...] [--table file.md]

One object per prompt ("a red square"), vanilla, in the middle of the canvas; per colour one latent batch of
`--samples` images from seed `--seed` + the colour's index, through the same ComfyUI graph and sampler as
`lab.experiment`; per image the shape of the largest detection (`lab.detect`), or "none".
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from .detect import detect
from .dit_checkpoint import is_dit_lab_checkpoint
from .graphs import DIT_SAMPLER, SAMPLER, Variant
from .scenes import COLOURS, SHAPES, Obj, Scene

NONE = "none"
CENTRE_BOX = (10.0, 10.0, 21.0, 21.0)  # an 11-pixel object in the middle of the 32-pixel canvas


def one_object_scene(colour: str, shape: str) -> Scene:
    return Scene((Obj(colour, shape, CENTRE_BOX),), (), 32)


def drawn_shape(image: np.ndarray) -> str:
    """The shape of the largest detection in `image`, or NONE when nothing is found."""
    found = detect(image)
    return max(found, key=lambda d: d.area).shape if found else NONE


def tally(shapes: list[str]) -> str:
    """'14 circle, 1 square, 1 none': the asked-for counts, most frequent first (ties in SHAPES order)."""
    order = {name: i for i, name in enumerate((*SHAPES, NONE))}
    counts = sorted(Counter(shapes).items(), key=lambda kv: (-kv[1], order[kv[0]]))
    return ", ".join(f"{n} {name}" for name, n in counts)


def markdown_row(label: str, drawn: dict[str, list[str]]) -> str:
    return f"| {label} | " + " | ".join(tally(drawn[shape]) for shape in SHAPES) + " |"


def markdown_header() -> str:
    return ("| model | " + " | ".join(f"asked {s}" for s in SHAPES) + " |\n|---|"
            + "---|" * len(SHAPES))


def draw_shapes(host, checkpoint: Path, colours: list[str], samples: int, seed: int) -> dict[str, list[str]]:
    """Per asked shape, the drawn shape of every image (colours in order, `samples` each)."""
    from .experiment import run_caption

    sampler = DIT_SAMPLER if is_dit_lab_checkpoint(checkpoint) else SAMPLER
    drawn: dict[str, list[str]] = {shape: [] for shape in SHAPES}
    for shape in SHAPES:
        for colour in colours:
            images = run_caption(host, one_object_scene(colour, shape), [Variant("vanilla")],
                                 seed=seed + list(COLOURS).index(colour), batch=samples,
                                 checkpoint=checkpoint.name, sampler=sampler)
            drawn[shape] += [drawn_shape(image) for image in images["vanilla"]]
    return drawn


def main(argv: list[str] | None = None) -> None:
    from .experiment import boot_for_checkpoint
    from .probe_cli import parse_probe_args, probe_parser, publish

    parser = probe_parser(__doc__, "images per colour and shape (one latent batch)",
                          "KSampler seed of the first colour (+1 per colour)")
    parser.add_argument("--colours", nargs="+", choices=list(COLOURS), default=list(COLOURS))
    args = parse_probe_args(parser, argv)
    host = boot_for_checkpoint(parser, args.checkpoint)
    drawn = draw_shapes(host, args.checkpoint, args.colours, args.samples, args.seed)
    publish(markdown_header() + "\n" + markdown_row(args.checkpoint.name, drawn) + "\n", args.table)


if __name__ == "__main__":
    main()
