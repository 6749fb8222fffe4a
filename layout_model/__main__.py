"""Command line: `python3 -m layout_model "TEXT"` prints layout JSON; `... eval SET FILE` scores.

    python3 -m layout_model "The silver bed was situated to the right of the white couch."
    python3 -m layout_model "a cat left of a dog" --png preview.png --width 768 --height 512
    python3 -m layout_model eval gpt ../shared/seed-datasets/gpt.txt --failures 20

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
    return parser


def _eval_parser() -> _Parser:
    parser = _Parser(prog=f"{PROG} eval", description="Score the predictor on a prompt set.")
    parser.add_argument("dataset", choices=sorted(READERS))
    parser.add_argument("file")
    parser.add_argument("--failures", type=int, default=10, metavar="N",
                        help="print up to N failures (default 10)")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv[:1] == ["eval"]:
            return _run_eval(_eval_parser().parse_args(argv[1:]))
        return _run_predict(_predict_parser().parse_args(argv))
    except (_UsageError, LayoutError, OSError, ValueError, ImportError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2


def _run_predict(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.text == "-" else args.text
    layout = predict(text, width=args.width, height=args.height, seed=args.seed)
    if args.png:
        from .render import render_preview
        try:
            render_preview(layout).save(args.png)
        except ImportError:
            raise ImportError("--png needs Pillow (pip install pillow)") from None
    print(layout.to_json(indent=args.indent if args.indent > 0 else None))
    return 0


def _run_eval(args: argparse.Namespace) -> int:
    report = evaluate(args.dataset, READERS[args.dataset](args.file),
                      max_failures=max(0, args.failures))
    if args.json:
        print(json.dumps({
            "dataset": report.dataset, "prompts": report.prompts,
            "object_recall": report.object_recall, "relation_accuracy": report.relation_accuracy,
            "relations": report.relations, "relations_correct": report.relations_correct,
            "failure_categories": report.categories, "median_ms": report.median_ms,
            "p95_ms": report.p95_ms, "failures": report.failures}, indent=2))
        return 0
    print(report.summary())
    for failure in report.failures:
        print("  " + failure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
