"""Which of a Flux-class lab model's two text paths carries what: sample with the context (the text tokens the
joint attention reads) of one prompt and the pooled text (``vector_in``, which modulates every image token alike)
of another, and see which prompt the drawn objects' colours and shapes follow.

usage: python -m lab.pooled_probe [--checkpoint lab/fixtures/spacetime_lab_dit.safetensors] [--samples 4]
                                  [--seed 50] [--table file.md]

Per pair of one-object prompts (A, B), four conditionings: A's context with A's pooled text (the model as
trained), A's context with B's pooled text, A's context with the empty prompt's pooled text, and the empty
context with A's pooled text; each sampled as a latent batch of `--samples` images from `--seed` (the lab's
sampler: Euler, `simple`, 20 steps, cfg 4 against the empty prompt). Per image, every detection as colour/shape,
largest first (`lab.detect`).
"""
from __future__ import annotations

import numpy as np
import torch

from .detect import detect
from .graphs import DIT_SAMPLER, IMAGE_SIZE

PAIRS = (("a blue circle", "a red triangle"), ("a green square", "a yellow circle"),
         ("a red triangle", "a green square"), ("a yellow circle", "a blue square"))


def detections(image: np.ndarray) -> str:
    found = sorted(detect(image), key=lambda d: -d.area)
    return ", ".join(f"{d.colour}/{d.shape}" for d in found) or "none"


def probe(model, clip, vae, samples: int, seed: int) -> list[tuple[str, str, list[str]]]:
    """``(context prompt, pooled prompt, detections per image)`` for every pair's four conditionings."""
    import nodes

    def encode(text: str) -> tuple[torch.Tensor, torch.Tensor]:
        out = clip.encode_from_tokens(clip.tokenize(text), return_pooled=True, return_dict=True)
        return out["cond"], out["pooled_output"]

    empty = encode("")
    negative = [[empty[0], {"pooled_output": empty[1]}]]
    latent = {"samples": torch.zeros(samples, 4, IMAGE_SIZE // 8, IMAGE_SIZE // 8)}
    rows = []
    for a, b in PAIRS:
        ea, eb = encode(a), encode(b)
        for context, pooled in ((a, a), (a, b), (a, ""), ("", a)):
            ctx = {a: ea, b: eb, "": empty}[context][0]
            pool = {a: ea, b: eb, "": empty}[pooled][1]
            out = nodes.common_ksampler(model, seed, DIT_SAMPLER["steps"], DIT_SAMPLER["cfg"],
                                        DIT_SAMPLER["sampler_name"], DIT_SAMPLER["scheduler"],
                                        [[ctx, {"pooled_output": pool}]], negative, latent)[0]
            with torch.no_grad():
                images = vae.decode(out["samples"]).float().cpu().numpy()
            rows.append((context, pooled, [detections(image) for image in images]))
    return rows


def markdown(rows: list[tuple[str, str, list[str]]]) -> str:
    lines = ["| context | pooled text | drawn (per image) |", "|---|---|---|"]
    lines += [f"| {c or '(empty)'} | {p or '(empty)'} | {' · '.join(found)} |" for c, p, found in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    from .dit_checkpoint import is_dit_lab_checkpoint, load_dit_lab_checkpoint
    from .experiment import boot_for_checkpoint
    from .probe_cli import parse_probe_args, probe_parser, publish

    parser = probe_parser(__doc__, "images per conditioning (one latent batch)", "KSampler seed of every conditioning")
    args = parse_probe_args(parser, argv)
    boot_for_checkpoint(parser, args.checkpoint)
    if not is_dit_lab_checkpoint(args.checkpoint):
        parser.error(f"--checkpoint: {args.checkpoint.name} is not a DiT lab checkpoint (the UNet has no pooled path)")
    publish(markdown(probe(*load_dit_lab_checkpoint(args.checkpoint), args.samples, args.seed)), args.table)


if __name__ == "__main__":
    main()
