"""A minimal ComfyUI HTTP client (stdlib only): queue a prompt, poll its history, fetch its images.

Polling `/history/<id>` instead of following the websocket keeps the runner free of dependencies and
robust to reconnects; one poll every half second is nothing next to a diffusion run.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

from . import ReproduceError


class ExecutionFailed(Exception):
    """The server accepted the prompt but could not run it (node error, interrupted): this item only."""


class ComfyClient:
    def __init__(self, url: str, timeout: float = 60):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.client_id = str(uuid.uuid4())
        self._object_info: dict | None = None

    def _request(self, path: str, body: Any = None) -> bytes:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.read()
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")
            if path == "/prompt" and err.code == 400:
                raise ExecutionFailed(_prompt_error(detail)) from None
            raise ReproduceError(f"ComfyUI at {self.url} answered {err.code} to {path}: {detail[:200]}") from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise ReproduceError(f"cannot reach ComfyUI at {self.url}: {reason}") from None

    def get_json(self, path: str) -> Any:
        return json.loads(self._request(path))

    def object_info(self) -> dict:
        """All node classes the server knows (cached: it does not change while the server runs)."""
        if self._object_info is None:
            self._object_info = self.get_json("/object_info")
        return self._object_info

    def run(self, workflow: dict, timeout: float = 3600, poll: float = 0.5) -> dict:
        """Queue `workflow`, wait until it finished, return its history entry."""
        answer = json.loads(self._request("/prompt", {"prompt": workflow, "client_id": self.client_id}))
        prompt_id = answer["prompt_id"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            entry = self.get_json(f"/history/{prompt_id}").get(prompt_id)
            status = (entry or {}).get("status", {})
            if status.get("status_str") == "error":
                raise ExecutionFailed(_execution_error(status))
            if entry and status.get("completed", True):
                return {"prompt_id": prompt_id, **entry}
            time.sleep(poll)
        raise ExecutionFailed(f"prompt {prompt_id} did not finish within {timeout:.0f}s")

    def view(self, image: dict) -> bytes:
        """Bytes of an image listed in a history entry's outputs."""
        query = urllib.parse.urlencode({k: image.get(k, "") for k in ("filename", "subfolder", "type")})
        return self._request(f"/view?{query}")


def _prompt_error(detail: str) -> str:
    try:
        body = json.loads(detail)
    except ValueError:
        return detail[:300]
    parts = [body.get("error", {}).get("message", "prompt rejected")]
    for node_id, info in (body.get("node_errors") or {}).items():
        for error in info.get("errors", [])[:1]:
            parts.append(f"node {node_id} ({info.get('class_type')}): {error.get('details') or error.get('message')}")
    return "; ".join(parts)


def _execution_error(status: dict) -> str:
    for kind, data in status.get("messages", []):
        if kind == "execution_error":
            return f"{data.get('node_type')} failed: {data.get('exception_message', '').strip()}"
    return "execution failed"
