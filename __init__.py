"""SpaceTime Attention: layout-guided spatial-temporal cross-attention control for ComfyUI.

@nickname SpaceTime
"""
from comfy_api.latest import ComfyExtension, io

from .nodes import NODES, register_routes

WEB_DIRECTORY = "./js"


class SpaceTimeExtension(ComfyExtension):
    """Registers the pack's V3 nodes and its small server route for live layout prediction."""

    async def on_load(self) -> None:
        register_routes()

    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return list(NODES)


async def comfy_entrypoint() -> SpaceTimeExtension:
    return SpaceTimeExtension()
