"""SpaceTime Attention: layout-guided spatial-temporal cross-attention control for ComfyUI.

@nickname SpaceTime
"""
from comfy_api.latest import ComfyExtension, io

from .nodes import NODES, register_routes

WEB_DIRECTORY = "./js"


class SpaceTimeExtension(ComfyExtension):
    """Registers the pack's V3 nodes."""

    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return list(NODES)


async def comfy_entrypoint() -> SpaceTimeExtension:
    # ComfyUI 0.3.75 never calls on_load, and routes must exist before the server builds its app.
    register_routes()
    return SpaceTimeExtension()
