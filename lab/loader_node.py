"""Load SpaceTime Lab Checkpoint: the lab's own loader node, so the lab model needs no entry in ComfyUI's model
registry (which `CheckpointLoaderSimple` would need to recognise it) and no other extension sees it."""
from __future__ import annotations

import folder_paths
from comfy_api.latest import ComfyExtension, io

from .checkpoint import load_lab_checkpoint

NODE_ID = "SpaceTimeLabCheckpointLoader"


class LoadLabCheckpoint(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id=NODE_ID,
            display_name="Load SpaceTime Lab Checkpoint",
            category="spacetime/lab",
            description="Loads the fidelity lab's tiny text-to-image model (a small SD1.x UNet and CLIP trained on "
                        "coloured shapes, lab/fixtures/spacetime_lab.safetensors) from the checkpoints folder.",
            inputs=[io.Combo.Input("ckpt_name", options=folder_paths.get_filename_list("checkpoints"),
                                   tooltip="A lab checkpoint in models/checkpoints, e.g. spacetime_lab.safetensors "
                                           "(tools/run.sh links the committed one there).")],
            outputs=[io.Model.Output(display_name="MODEL", tooltip="The lab UNet, for KSampler or the patch."),
                     io.Clip.Output(display_name="CLIP", tooltip="The lab's SD1 text encoder (width 48)."),
                     io.Vae.Output(display_name="VAE", tooltip="The lab's hand-set TAESD (latents are the image).")],
        )

    @classmethod
    def execute(cls, ckpt_name: str) -> io.NodeOutput:
        path = folder_paths.get_full_path_or_raise("checkpoints", ckpt_name)
        return io.NodeOutput(*load_lab_checkpoint(path, folder_paths.get_folder_paths("embeddings")))


class LabExtension(ComfyExtension):
    """The lab as a ComfyUI extension of its own: its loader node and its example workflow."""

    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return [LoadLabCheckpoint]
