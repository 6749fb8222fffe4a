"""Make ComfyUI importable on a CPU-only machine from a plain script (training), without booting its server."""
from __future__ import annotations

import os
import sys


def use_comfy_on_cpu() -> None:
    """Put $COMFYUI_DIR on sys.path and force ComfyUI's device selection to the CPU before it first runs."""
    root = os.environ.get("COMFYUI_DIR")
    if not root:
        raise RuntimeError('COMFYUI_DIR is not set: run `eval "$(tools/provision.sh)"` first')
    if root not in sys.path:
        sys.path.insert(0, root)
    from comfy.cli_args import args

    args.cpu = True
