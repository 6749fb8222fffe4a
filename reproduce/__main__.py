"""`python -m reproduce run ...` and `python -m reproduce score ...` (see docs/reproducing.md).

User errors (bad files, unreachable servers, missing nodes) end with one line on stderr and exit code 2;
items that fail on the server are reported and leave exit code 1; finished outputs are never removed.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import re
import shlex
import sys
from contextlib import ExitStack
from pathlib import Path

from . import ReproduceError
from .prompts import load_prompt_set
from .workflow import MODES, check_api_format


def _seeds(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not match:
            raise ReproduceError(f"--seeds {text!r}: use numbers and ranges such as 1 or 1,2 or 1-4")
        low, high = int(match[1]), int(match[2] or match[1])
        seeds.extend(range(low, high + 1))
    return list(dict.fromkeys(seeds))


def _modes(text: str) -> list[str]:
    modes = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise ReproduceError(f"--modes {text!r}: choose from {', '.join(MODES)}")
    return modes


def _load_workflow(path: Path) -> dict:
    try:
        return check_api_format(json.loads(path.read_text(encoding="utf-8")), str(path))
    except OSError as err:
        raise ReproduceError(f"cannot read workflow {path}: {err.strerror}") from None
    except ValueError as err:
        raise ReproduceError(f"workflow {path} is not valid JSON: {err}") from None


def cmd_run(args: argparse.Namespace) -> int:
    from .runner import run_batch
    from .server import local_server

    prompts = load_prompt_set(args.prompts)
    template = _load_workflow(Path(args.workflow))
    modes, seeds, out = _modes(args.modes), _seeds(args.seeds), Path(args.out)
    if args.limit:
        prompts = dataclasses.replace(prompts, prompts=prompts.prompts[:args.limit])
    with ExitStack() as stack:
        if args.start_server:
            servers = [stack.enter_context(local_server(args.start_server, shlex.split(args.comfy_args),
                                                        out / "comfyui-server.log"))]
        else:
            servers = [u.strip() for u in args.server.split(",") if u.strip()]
        summary = run_batch(prompts, template, modes, seeds, servers, out)
    print(f"done: {summary.done} rendered, {summary.skipped} already there, {summary.failed} failed; outputs in {out}")
    return 1 if summary.failed else 0


def cmd_score(args: argparse.Namespace) -> int:
    from .detectors import load_detector
    from .scoring import markdown_table, score_run, write_reports

    run = Path(args.run)
    if not run.is_dir():
        raise ReproduceError(f"run folder not found: {run}")
    prompts = load_prompt_set(args.prompts)
    detector = load_detector(args.detector)
    cache = "det-" + re.sub(r"[^A-Za-z0-9]+", "_", args.detector)[-60:]
    scores = score_run(run, prompts, detector, cache)
    paths = write_reports(scores, run)
    print(markdown_table(scores), end="")
    print(f"written: {', '.join(str(p) for p in paths.values())}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m reproduce", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="render a prompt set in several modes through ComfyUI")
    run.add_argument("--prompts", required=True, help="gpt, mscoco, vsr, or a prompt file")
    where = run.add_mutually_exclusive_group(required=True)
    where.add_argument("--server", help="ComfyUI URL(s), comma-separated: one worker per server")
    where.add_argument("--start-server", metavar="COMFYUI_DIR", help="start ComfyUI from this folder for the run")
    run.add_argument("--comfy-args", default="", help="extra main.py arguments with --start-server, e.g. '--cpu'")
    run.add_argument("--workflow", required=True, help="API-format workflow JSON (Export (API))")
    run.add_argument("--modes", default="vanilla,patched,optimised", help="comma-separated: " + ", ".join(MODES))
    run.add_argument("--seeds", default="1", help="e.g. 1 (the paper), 1,2,3 or 1-4")
    run.add_argument("--limit", type=int, default=0, help="only the first N prompts")
    run.add_argument("--out", required=True, help="output folder (rerun the same command to resume)")
    run.set_defaults(func=cmd_run)
    score = sub.add_parser("score", help="object and relation accuracy of a run's images")
    score.add_argument("--run", required=True, help="the --out folder of a run")
    score.add_argument("--prompts", required=True, help="the prompt set the run used (gold objects/relations)")
    score.add_argument("--detector", required=True, help="transformers:FOLDER or module:callable")
    score.set_defaults(func=cmd_score)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ReproduceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished images are kept; rerun the same command to continue", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
