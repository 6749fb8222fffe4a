"""Thin V3 adapters over `spacetime/` and `layout_model/`, one module per node family."""
from __future__ import annotations

from ..bridge.server import running_server
from .bbox_nodes import NODES as BBOX_NODES
from .layout_convert_nodes import NODES as LAYOUT_CONVERT_NODES
from .layout_nodes import NODES as LAYOUT_NODES
from .optimize_nodes import NODES as OPTIMIZE_NODES
from .patch_nodes import NODES as PATCH_NODES
from .predictor_nodes import NODES as PREDICTOR_NODES
from .region_nodes import NODES as REGION_NODES
from .schedule_nodes import NODES as SCHEDULE_NODES

NODES: list = [*LAYOUT_NODES, *LAYOUT_CONVERT_NODES, *PREDICTOR_NODES, *REGION_NODES, *PATCH_NODES, *SCHEDULE_NODES,
                 *OPTIMIZE_NODES, *BBOX_NODES]

_routes_registered = False


def register_routes() -> None:
    """Attach the pack's HTTP route to the running PromptServer, once (none when there is no server)."""
    global _routes_registered
    if _routes_registered:
        return
    server = running_server()
    if server is None:
        return
    from . import routes

    routes.register(server)
    _routes_registered = True
