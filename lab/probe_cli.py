"""What the lab's one-object probes (`lab.shape_test`, `lab.pooled_probe`) share on the command line: the checkpoint,
images per latent batch, the seed, and where the markdown table goes besides the terminal."""
from __future__ import annotations

import argparse
from pathlib import Path

from .experiment import FIXTURES


def probe_parser(doc: str, samples_help: str, seed_help: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=FIXTURES / "spacetime_lab_dit.safetensors")
    parser.add_argument("--samples", type=int, default=4, help=samples_help)
    parser.add_argument("--seed", type=int, default=50, help=seed_help)
    parser.add_argument("--table", type=Path, help="also write the markdown table here")
    return parser


def parse_probe_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """The arguments with their paths resolved (booting ComfyUI changes the working directory)."""
    args = parser.parse_args(argv)
    args.checkpoint = args.checkpoint.resolve()
    args.table = args.table.resolve() if args.table else None
    if args.samples < 1:
        parser.error(f"--samples: must be 1 or more, got {args.samples}")
    return args


def publish(table: str, path: Path | None) -> None:
    """Prints the table and writes it to `path` when one was given."""
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(table)
    print(table)
