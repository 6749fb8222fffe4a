"""Command line: `python -m layout_model "TEXT"` prints layout JSON; `... eval SET FILE` scores.

Run it from the pack's folder (the repository root, e.g. ComfyUI/custom_nodes/spacetime_attention), where
`layout_model` is importable, with ComfyUI's Python, which has torch and Pillow (for --png).

    python3 -m layout_model "The silver bed was situated to the right of the white couch."
    python3 -m layout_model "a cat left of a dog" --png preview.png --width 768 --height 512
    python3 -m layout_model eval gpt ../shared/seed-datasets/gpt.txt --failures 20
    python -m layout_model --paper models/spacetime_layout/checkpoint_90_0.0.pth "a cat left of a dog"
    python -m layout_model --trained models/spacetime_layout/coco "a cat left of a dog"
    python -m layout_model convert-paper checkpoint_90_0.0.pth paper_layout.safetensors
    python -m layout_model train-coco --instances ... --captions ... --out DIR
    python -m layout_model from-llm answer.txt --width 512 --height 512 [--ideogram]

Errors print one line to stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from .evaluate import READERS, evaluate
from .predictor import predict
from .schema import LayoutError

PROG = "python3 -m layout_model"


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) instead of a usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(message)


class _UsageError(Exception):
    pass


def _predict_parser() -> _Parser:
    parser = _Parser(prog=PROG, description="Predict a layout (JSON on stdout) for a prompt. "
                     f"Use `{PROG} eval {{gpt,vsr,mscoco}} FILE` to score a prompt set.")
    parser.add_argument("text", help='the prompt ("-" reads it from stdin)')
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--height", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--png", metavar="PATH", help="also write a preview image")
    parser.add_argument("--indent", type=int, default=2, help="JSON indent (default 2)")
    neural = parser.add_mutually_exclusive_group()
    neural.add_argument("--paper", metavar="CHECKPOINT",
                        help="use the paper's checkpoint (roberta-base vocab.json + merges.txt beside it)")
    neural.add_argument("--trained", metavar="DIR", help="use a model trained by `train-coco`")
    parser.add_argument("--vocab", metavar="DIR", help="folder with vocab.json + merges.txt for --paper")
    parser.add_argument("--boxes", choices=["paper", "prior", "learned"],
                        help="box size around neural centres (default: paper for --paper, learned for --trained)")
    parser.add_argument("--sample", action="store_true", help="draw the mixture component (seeded), like the paper")
    return parser


def _convert_parser() -> _Parser:
    parser = _Parser(prog=f"{PROG} convert-paper",
                     description="Convert the paper's .pth checkpoint to a safetensors file of the used tensors.")
    parser.add_argument("src")
    parser.add_argument("dst")
    return parser


def _eval_parser() -> _Parser:
    parser = _Parser(prog=f"{PROG} eval", description="Score the predictor on a prompt set.")
    parser.add_argument("dataset", choices=sorted(READERS))
    parser.add_argument("file")
    parser.add_argument("--failures", type=int, default=10, metavar="N",
                        help="print up to N failures (default 10)")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    return parser


def _llm_parser() -> _Parser:
    parser = _Parser(prog=f"{PROG} from-llm", description="Read the layout a language model wrote (LMD, LayoutGPT, "
                     "Ideogram 4 JSON or JSON {label, box} lists) and print it as layout JSON.")
    parser.add_argument("file", help='the model\'s answer ("-" reads stdin)')
    parser.add_argument("--width", type=int, default=512, help="image width the boxes refer to (default 512)")
    parser.add_argument("--height", type=int, default=512, help="image height the boxes refer to (default 512)")
    parser.add_argument("--box-format", choices=["auto", "xyxy", "xywh"], default="auto",
                        help="for JSON 'box' lists: corners or corner and size (default: auto)")
    parser.add_argument("--ideogram", action="store_true", help="print an Ideogram 4 JSON prompt instead")
    return parser


def _run_from_llm(args: argparse.Namespace) -> int:
    from .llm_layouts import layout_from_llm_text, layout_to_ideogram

    if args.file == "-":
        text = sys.stdin.read()
    else:
        with open(args.file, encoding="utf-8") as fh:
            text = fh.read()
    layout = layout_from_llm_text(text, args.width, args.height, args.box_format)
    print(json.dumps(layout_to_ideogram(layout), indent=2) if args.ideogram else layout.to_json(indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv[:1] == ["eval"]:
            return _run_eval(_eval_parser().parse_args(argv[1:]))
        if argv[:1] == ["convert-paper"]:
            from .paper_checkpoint import convert_paper_checkpoint

            args = _convert_parser().parse_args(argv[1:])
            print(convert_paper_checkpoint(args.src, args.dst))
            return 0
        if argv[:1] == ["from-llm"]:
            return _run_from_llm(_llm_parser().parse_args(argv[1:]))
        if argv[:1] == ["train-coco"]:
            from .train_coco import main as train_coco

            return train_coco(argv[1:]) or 0
        return _run_predict(_predict_parser().parse_args(argv))
    except (_UsageError, LayoutError, OSError, ValueError, ImportError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2


def _run_predict(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.text == "-" else args.text
    layout = _predictor(args)(text, width=args.width, height=args.height, seed=args.seed)
    if args.png:
        from .render import render_preview
        try:
            render_preview(layout).save(args.png)
        except ImportError:
            raise ImportError("--png needs Pillow: run with ComfyUI's Python (it ships Pillow) or pip install "
                              "pillow") from None
    print(layout.to_json(indent=args.indent if args.indent > 0 else None))
    return 0


def _predictor(args: argparse.Namespace):
    """The rule predictor, or a neural one when --paper / --trained names a model."""
    if args.paper:
        from .paper_checkpoint import load_paper_predictor

        boxes = args.boxes if args.boxes in ("paper", "prior") else "paper"
        return load_paper_predictor(args.paper, args.vocab, boxes=boxes, sample=args.sample).predict
    if args.trained:
        from .trained import load_trained_predictor

        return load_trained_predictor(args.trained, boxes=args.boxes or "learned", sample=args.sample).predict
    return predict


def _run_eval(args: argparse.Namespace) -> int:
    report = evaluate(args.dataset, READERS[args.dataset](args.file),
                      max_failures=max(0, args.failures))
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
        return 0
    print(report.summary())
    for failure in report.failures:
        print("  " + failure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
