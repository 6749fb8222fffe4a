"""One small adapter per ComfyUI core version, for the few private entry points the in-process harness needs.

The harness drives ComfyUI the way main.py does (validate_prompt, PromptExecutor, PromptServer,
init_extra_nodes); none of these has a public API, and their arguments change between cores. Each core the
tests run on gets a module here named after its version (v0_3_75, v0_33_0), chosen by the version the core
states in comfyui_version.py. A core without a module fails at boot with a message naming it, instead of deep
inside the executor.
"""
from __future__ import annotations

import importlib
import os
import re
from pathlib import Path
from types import ModuleType

KNOWN = ("0.3.75", "0.33.0")


def core_version(comfy_dir: Path | str) -> str:
    """The version in <ComfyUI>/comfyui_version.py, read as text so nothing of ComfyUI is imported."""
    text = (Path(comfy_dir) / "comfyui_version.py").read_text()
    match = re.search(r"""__version__\s*=\s*["']([^"']+)["']""", text)
    if not match:
        raise ValueError(f"no __version__ in {comfy_dir}/comfyui_version.py")
    return match.group(1)


def adapter(version: str) -> ModuleType:
    """The adapter module of one core version; a ValueError naming it and the known ones otherwise."""
    if version not in KNOWN:
        raise ValueError(f"ComfyUI {version} has no adapter in tests/support/cores (known: {', '.join(KNOWN)}); "
                         f"add v{version.replace('.', '_')}.py and list it in KNOWN")
    return importlib.import_module(f"{__name__}.v{version.replace('.', '_')}")


def running_core_label() -> str:
    """'ComfyUI <version>' of the tree tools/test.sh provisioned (COMFYUI_DIR), for failure messages."""
    comfy_dir = os.environ.get("COMFYUI_DIR")
    try:
        return f"ComfyUI {core_version(comfy_dir)}" if comfy_dir else "ComfyUI (COMFYUI_DIR unset)"
    except (OSError, ValueError):
        return f"ComfyUI (unknown core at {comfy_dir})"
