"""Load SpaceTime Lab Checkpoint: the lab's own loader node, so the lab models need no entry in ComfyUI's model
registry (which `CheckpointLoaderSimple` would need to recognise them) and no other extension sees them. One node
for both lab models (the UNet and the Flux-class DiT), told apart by the file's weights, as ComfyUI's own
checkpoint loader tells models apart."""
from __future__ import annotations

import folder_paths
from comfy_api.latest import ComfyExtension, io

from .checkpoint import load_lab_checkpoint
from .dit_checkpoint import is_dit_lab_checkpoint, load_dit_lab_checkpoint

NODE_ID = "SpaceTimeLabCheckpointLoader"


class LoadLabCheckpoint(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id=NODE_ID,
            display_name="Load SpaceTime Lab Checkpoint",
            category="spacetime/lab",
            description="Loads one of the fidelity lab's tiny text-to-image models trained on coloured shapes from "
                        "the checkpoints folder: the SD1.x-class UNet (lab/fixtures/spacetime_lab.safetensors) or "
                        "the Flux.1-class DiT (lab/fixtures/spacetime_lab_dit.safetensors), with their small CLIP.",
            inputs=[io.Combo.Input("ckpt_name", options=folder_paths.get_filename_list("checkpoints"),
                                   tooltip="A lab checkpoint in models/checkpoints, e.g. spacetime_lab.safetensors or "
                                           "spacetime_lab_dit.safetensors (tools/run.sh links the committed "
                                           "ones there).")],
            outputs=[io.Model.Output(display_name="MODEL", tooltip="The lab UNet or DiT, for KSampler or the patch."),
                     io.Clip.Output(display_name="CLIP", tooltip="The lab's SD1 text encoder (width 48)."),
                     io.Vae.Output(display_name="VAE", tooltip="The lab's hand-set TAESD (latents are the image).")],
        )

    @classmethod
    def execute(cls, ckpt_name: str) -> io.NodeOutput:
        path = folder_paths.get_full_path_or_raise("checkpoints", ckpt_name)
        load = load_dit_lab_checkpoint if is_dit_lab_checkpoint(path) else load_lab_checkpoint
        return io.NodeOutput(*load(path, folder_paths.get_folder_paths("embeddings")))


class LabExtension(ComfyExtension):
    """The lab as a ComfyUI extension of its own: its loader node and its example workflow."""

    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return [LoadLabCheckpoint]
