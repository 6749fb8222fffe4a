"""The running ComfyUI server, for the pack's HTTP route."""
from __future__ import annotations

from typing import Any


def running_server() -> Any | None:
    """ComfyUI's PromptServer instance, or None in a process without one (scripts, the unit tier)."""
    try:
        from server import PromptServer
    except ImportError:
        return None
    return getattr(PromptServer, "instance", None)
