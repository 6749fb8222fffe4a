"""Thin V3 adapters over `spacetime/` and `layout_model/`, one module per node family."""
from __future__ import annotations

NODES: list = []


def register_routes() -> None:
    """Attach the pack's HTTP routes to the running PromptServer (none when there is no server)."""
