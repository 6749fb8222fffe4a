"""Starting a local ComfyUI for a batch run (`--start-server COMFYUI_DIR`) and stopping it afterwards."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

from . import ReproduceError
from .client import ComfyClient


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def local_server(comfy_dir: str | Path, extra_args: list[str], log_path: Path,
                 timeout: float = 300) -> Iterator[str]:
    """Run `main.py` of `comfy_dir` with this interpreter on a free loopback port; yields its URL."""
    main = Path(comfy_dir) / "main.py"
    if not main.is_file():
        raise ReproduceError(f"{comfy_dir} is not a ComfyUI folder (no main.py)")
    port = _free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "main.py", "--listen", "127.0.0.1", "--port", str(port),
                                    *extra_args], cwd=main.parent, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise ReproduceError(f"ComfyUI exited with code {process.returncode} while starting; see {log_path}")
            try:
                ComfyClient(url, timeout=5).get_json("/system_stats")
                break
            except ReproduceError:
                if time.monotonic() > deadline:
                    raise ReproduceError(f"ComfyUI did not answer within {timeout:.0f}s; see {log_path}") from None
                time.sleep(0.5)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
