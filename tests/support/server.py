"""Start the real ComfyUI `main.py` on a free loopback port and talk to it over HTTP and websocket."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .cores import running_core_label
from .paths import artifacts_dir, comfy_dir, sandbox_args


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ComfyServer:
    port: int
    process: subprocess.Popen
    log_path: Path
    client_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def get_json(self, path: str):
        with urllib.request.urlopen(self.url + urllib.parse.quote(path, safe="/?=&"), timeout=30) as resp:
            return json.loads(resp.read())

    def post_json(self, path: str, body) -> tuple[int, object]:
        data = json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            payload = err.read()
            try:
                return err.code, json.loads(payload)
            except ValueError:
                return err.code, payload.decode(errors="replace")

    def image(self, entry: dict):
        """An image the server saved or previewed (one entry of a node's history `images`), fetched over /view as
        a user's browser fetches it, as RGB floats in [0, 1] (H, W, 3)."""
        import io

        import numpy as np
        from PIL import Image

        query = urllib.parse.urlencode({k: entry[k] for k in ("filename", "subfolder", "type")})
        with urllib.request.urlopen(f"{self.url}/view?{query}", timeout=30) as resp:
            return np.asarray(Image.open(io.BytesIO(resp.read())).convert("RGB"), dtype=np.float32) / 255

    def run_prompt(self, prompt: dict, timeout: float = 300) -> tuple[dict, list[dict]]:
        """Queue an API prompt, follow it on the websocket, return (history entry, websocket messages)."""
        import websocket

        ws = websocket.create_connection(f"ws://127.0.0.1:{self.port}/ws?clientId={self.client_id}", timeout=timeout)
        try:
            status, body = self.post_json("/prompt", {"prompt": prompt, "client_id": self.client_id})
            if status != 200:
                raise AssertionError(f"/prompt on {running_core_label()} answered {status}: {body}")
            prompt_id = body["prompt_id"]
            messages: list[dict] = []
            deadline = time.time() + timeout
            while time.time() < deadline:
                raw = ws.recv()
                if not isinstance(raw, str):
                    continue
                msg = json.loads(raw)
                messages.append(msg)
                data = msg.get("data", {})
                if data.get("prompt_id") not in (None, prompt_id):
                    continue
                if msg["type"] in ("execution_error", "execution_interrupted"):
                    break
                if msg["type"] == "executing" and data.get("node") is None and data.get("prompt_id") == prompt_id:
                    break
            history = self.get_json(f"/history/{prompt_id}").get(prompt_id, {})
            return history, messages
        finally:
            ws.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def start_server(extra_args: list[str] | None = None, timeout: float = 120) -> ComfyServer:
    port = free_port()
    log_path = artifacts_dir() / f"comfyui-server-{port}.log"
    log = open(log_path, "w")
    sandbox = Path(tempfile.mkdtemp(prefix=f"spacetime-server-{port}-"))
    cmd = [sys.executable, "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(port),
           "--disable-api-nodes", *sandbox_args(sandbox), *(extra_args or [])]
    process = subprocess.Popen(cmd, cwd=comfy_dir(), stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True, env=os.environ.copy())
    server = ComfyServer(port, process, log_path)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{running_core_label()} exited with {process.returncode}:\n{server.log()[-3000:]}")
        try:
            server.get_json("/system_stats")
            return server
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"{running_core_label()} did not answer within {timeout}s:\n{server.log()[-3000:]}")
