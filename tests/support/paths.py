"""Where the repository, the provisioned ComfyUI host and the model cache are."""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
CACHE = Path(os.environ.get("SPACETIME_CACHE", Path.home() / ".cache" / "spacetime-attention"))
PACK_DIR_NAME = "spacetime_attention"


def comfy_dir() -> Path:
    """The ComfyUI tree under test; tools/test.sh exports COMFYUI_DIR after provisioning the host."""
    value = os.environ.get("COMFYUI_DIR")
    if not value:
        raise RuntimeError("COMFYUI_DIR is not set: run the tests through tools/test.sh")
    return Path(value)


def host_python() -> str:
    """The host's interpreter (the one running the tests when started by tools/test.sh)."""
    return os.environ.get("SPACETIME_HOST_PYTHON", "python")


def test_models_dir() -> Path:
    """Model files the tests generate (the full-size random checkpoint): in the cache, never in the host's own
    models folder, which tools/run.sh serves to the user."""
    path = CACHE / "test-models"
    (path / "checkpoints").mkdir(parents=True, exist_ok=True)
    return path


def sandbox_args(root: Path) -> list[str]:
    """ComfyUI arguments that give one test host its own user, input, output and temp folders under `root`, so a
    test run leaves the host's own folders (settings, outputs) as the user left them."""
    args = []
    for name in ("user", "input", "output", "temp"):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        args += [f"--{name}-directory", str(folder)]
    return args


def artifacts_dir() -> Path:
    path = Path(os.environ.get("SPACETIME_ARTIFACTS", REPO / "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path
