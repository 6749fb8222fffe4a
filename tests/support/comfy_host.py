"""Boot the real ComfyUI in this process (once) and run API prompts through its executor.

Mirrors what main.py does: argument parsing, extra config before `import nodes`, a PromptServer instance
(never started) so packs with routes load, then init_extra_nodes with custom nodes on.
"""
from __future__ import annotations

import asyncio
import importlib
import importlib.util
import logging
import os
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import cores
from .paths import PACK_DIR_NAME, comfy_dir, sandbox_args


@dataclass
class ComfyHost:
    loop: asyncio.AbstractEventLoop
    server: Any
    nodes: Any
    execution: Any
    import_failures: list[str]
    core: str = ""  # ComfyUI's version, from comfyui_version.py
    executor_cache_args: dict = field(default_factory=dict)  # the core's adapter says what PromptExecutor takes

    def node_class(self, node_id: str) -> type:
        return self.nodes.NODE_CLASS_MAPPINGS[node_id]

    @property
    def pack_name(self) -> str:
        """The module name ComfyUI gave the pack (derived from its path; a plain `import` makes a second copy)."""
        return self.node_class("SpaceTimePredictLayout").__module__.split(".nodes")[0]

    def pack_module(self, submodule: str):
        """A submodule of the pack as ComfyUI imported it, imported under that name if nothing loaded it yet."""
        name = f"{self.pack_name}.{submodule}"
        return sys.modules[name] if name in sys.modules else importlib.import_module(name)

    def sibling_module(self, node_id: str, submodule: str):
        """A module beside the one defining `node_id`, as ComfyUI imported it (e.g. the lab extension's `model`
        next to its loader node), so tests compare with the classes the host really uses."""
        package = self.node_class(node_id).__module__.rpartition(".")[0]
        return importlib.import_module(f"{package}.{submodule}")

    def validate(self, prompt: dict) -> tuple[bool, Any, list, dict]:
        pid = str(uuid.uuid4())
        return self.loop.run_until_complete(self.execution.validate_prompt(pid, prompt, None))

    def run(self, prompt: dict) -> "PromptRun":
        """Validate and execute an API prompt; returns outputs and status messages (never raises on failure)."""
        ok, err, outputs, node_errors = self.validate(prompt)
        if not ok:
            return PromptRun(False, {}, [], {"validation": err, "node_errors": node_errors})
        executor = self.execution.PromptExecutor(
            self.server, cache_type=self.execution.CacheType.CLASSIC, cache_args=dict(self.executor_cache_args))
        executor.execute(prompt, str(uuid.uuid4()), {"client_id": None}, outputs)
        # Outputs whose branch failed validation are dropped while the rest runs: keep their errors visible.
        return PromptRun(executor.success, executor.history_result.get("outputs", {}),
                         executor.status_messages, {"node_errors": node_errors} if node_errors else {})


@dataclass
class PromptRun:
    success: bool
    outputs: dict
    messages: list
    errors: dict

    def error_text(self) -> str:
        """Everything the user would be told about a failure, flattened for assertions."""
        return repr(self.errors) + repr([m for m in self.messages if m[0] == "execution_error"])


_HOST: ComfyHost | None = None


def host_args(env: dict | None = None) -> list[str]:
    """ComfyUI's device arguments: ``--cpu`` unless ``SPACETIME_HOST_DEVICE=cuda`` (GPU benchmarks and checks; CI
    never sets it), plus the whitespace-separated ``SPACETIME_HOST_ARGS`` (e.g. ``--bf16-unet``)."""
    env = os.environ if env is None else env
    device = env.get("SPACETIME_HOST_DEVICE", "cpu").strip().lower() or "cpu"
    if device not in ("cpu", "cuda"):
        raise ValueError(f"SPACETIME_HOST_DEVICE must be 'cpu' or 'cuda', got {device!r}")
    return (["--cpu"] if device == "cpu" else []) + env.get("SPACETIME_HOST_ARGS", "").split()


def boot() -> ComfyHost:
    global _HOST
    if _HOST is not None:
        return _HOST
    root = str(comfy_dir())
    core = cores.core_version(root)
    adapter = cores.adapter(core)  # fails here, naming the version, on a core without an adapter
    _check_comfy_importable(Path(root))
    os.chdir(root)
    sandbox = Path(tempfile.mkdtemp(prefix="spacetime-host-"))
    sys.argv = [sys.argv[0], *host_args(), *sandbox_args(sandbox), "--disable-api-nodes"]
    import comfy.options

    comfy.options.enable_args_parsing()
    import utils.extra_config  # noqa: F401  (must precede `import nodes`)
    import comfy.model_management  # noqa: F401
    import execution
    import nodes
    import server

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    prompt_server = server.PromptServer(loop)
    log = _LogCapture()
    logging.getLogger().addHandler(log)
    try:
        loop.run_until_complete(nodes.init_extra_nodes(init_custom_nodes=True, init_api_nodes=False))
    finally:
        logging.getLogger().removeHandler(log)
    failures = [line for line in log.lines if "IMPORT FAILED" in line and PACK_DIR_NAME in line]
    _HOST = ComfyHost(loop, prompt_server, nodes, execution, failures, core, adapter.executor_cache_args())
    return _HOST


def _check_comfy_importable(root: Path) -> None:
    """ComfyUI comes from PYTHONPATH (tools/provision.sh), ahead of the repository, whose nodes/ package would
    otherwise shadow ComfyUI's nodes.py; say so plainly instead of failing deep inside ComfyUI's imports."""
    spec = importlib.util.find_spec("nodes")
    found = None if spec is None else spec.origin
    if found is None or Path(found).resolve() != (root / "nodes.py").resolve():
        raise RuntimeError(f"`import nodes` finds {found}, not {root / 'nodes.py'}: put ComfyUI on PYTHONPATH ahead "
                           'of the repository and set PYTHONSAFEPATH=1 (eval "$(tools/provision.sh)" does both)')


class _LogCapture(logging.Handler):
    """Keeps ComfyUI's start-up log lines so tests can look for the pack's import failures."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
