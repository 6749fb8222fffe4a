"""The fidelity lab: a tiny shapes world in which the pack's effect can be measured on a CPU.

Everything here imports without ComfyUI; modules that need it (`model`, `checkpoint`, `train`, `experiment`, and
the DiT twins `dit_model`, `dit_checkpoint`, `dit_train`) import it lazily. Linked into ComfyUI's custom_nodes
(as `spacetime_lab`), the folder is also a small extension of its own: the loader node of both lab checkpoints and
the `lab_shapes` (UNet) and `lab_shapes_dit` (DiT) example workflows, for hosts that want the lab.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .loader_node import LabExtension


async def comfy_entrypoint() -> LabExtension:
    """ComfyUI's V3 entry point; the node module is imported here, so importing `lab` stays ComfyUI-free."""
    from .loader_node import LabExtension

    return LabExtension()
