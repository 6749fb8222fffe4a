"""Use ComfyUI's classes on a CPU-only machine from a plain script (training), without booting its server."""
from __future__ import annotations

import importlib.util


def use_comfy_on_cpu() -> None:
    """Force ComfyUI's device selection to the CPU before it first runs; ComfyUI itself comes from PYTHONPATH."""
    if importlib.util.find_spec("comfy") is None:
        raise RuntimeError('ComfyUI is not importable: run `eval "$(tools/provision.sh)"` first')
    from comfy.cli_args import args

    args.cpu = True
