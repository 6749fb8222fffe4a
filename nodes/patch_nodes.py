"""SpaceTime Attention Patch: adds the spatial-temporal cross-attention control to a cloned MODEL."""
from __future__ import annotations

import logging

import torch
from comfy_api.latest import io

from ..spacetime.combine import MODES
from ..spacetime.masks import SHAPES
from ..spacetime.step_weights import DEFAULT_GRID, StepWeights
from ..bridge.patch import apply_patch
from ..bridge.runtime import MODULATION, REGION_ATTENTION, PatchConfig
from .types import Regions as RegionsType, StepWeights as StepWeightsType

NAME = "SpaceTime Attention Patch"


class SpaceTimeAttentionPatch(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SpaceTimeAttentionPatch",
            display_name=NAME,
            category="conditioning/spacetime",
            description="Steers each object into its region in every cross-attention layer (Wu, Liu et al., "
                        "ICCV 2023). Returns a patched copy of the model; the input model is unchanged.",
            inputs=[
                io.Model.Input("model", tooltip="An SD1.x / SD2.x / SDXL UNet, or a Flux.1 (dev, schnell, "
                                                "Kontext), Flux.2 (dev, Klein), Chroma, SD3 / SD3.5, Qwen-Image "
                                                "(and Edit), Z-Image, "
                                                "Cosmos-Predict2, Anima, PixArt (Alpha, Sigma) or Wan 2.1 / 2.2 "
                                                "(text- and image-to-video) DiT (Z-Image and Anima on ComfyUI "
                                                "0.33.0 or newer cores). Other models are refused with their "
                                                "class named."),
                RegionsType.Input("regions", tooltip="Local prompts and boxes from Region Prompt Encode, encoded "
                                                     "with this model's CLIP."),
                StepWeightsType.Input("step_weights", optional=True,
                                      tooltip="Per-region weights over denoising progress (Step Weights Schedule "
                                              "or an optimiser). Default: constant 'auto' (5 / N in guidance "
                                              "mode, as the paper initialises them; 0.5 in mix mode)."),
                io.Combo.Input("mode", options=list(MODES), default="guidance",
                               tooltip="guidance (official code): inside region i the cond output gets "
                                       "+ w·(A(cond, local_i) - A(uncond, negative)). mix (paper text, first "
                                       "commit): a mixture (1 - w)·A(cond, prompt) + w·A(cond, local_i). "
                                       "Both change only the cond rows. On joint-attention DiTs (Flux.1, Flux.2, "
                                       "SD3.5, Qwen-Image, Z-Image) A reads the local prompt beside the image."),
                io.Combo.Input("mask_shape", options=list(SHAPES), default="box",
                               tooltip="box: the object's box. disc: the paper's disc of 'radius' around the "
                                       "object's centre. mask: the object's own shape where its layout has one "
                                       "(Masks to Layout from a segmentation), else its box; never feathered."),
                io.Float.Input("radius", default=0.2, min=0.01, max=1.0, step=0.01,
                               tooltip="Disc radius as a fraction of the image's shorter side (paper: 0.2). "
                                       "Only for mask_shape 'disc'."),
                io.Float.Input("feather", default=0.0, min=0.0, max=1.0, step=0.01,
                               tooltip="Soft edges: width of the fade across the border as a fraction of the "
                                       "box's shorter side (or the disc's diameter); 0 = hard masks as the paper."),
                io.Float.Input("strength", default=1.0, min=0.0, max=10.0, step=0.01,
                               tooltip="Global multiplier on all weights (0 = the unpatched model)."),
                io.Float.Input("start_percent", default=0.0, min=0.0, max=1.0, step=0.001,
                               tooltip="Denoising progress where the control starts (0 = first step)."),
                io.Float.Input("end_percent", default=1.0, min=0.0, max=1.0, step=0.001,
                               tooltip="Denoising progress where the control ends (1 = last step)."),
                io.String.Input("blocks", default="all", optional=True,
                                tooltip="DiTs only: the transformer blocks that act. all, double, single, every "
                                        "other (blocks 0, 2, 4, ... of each kind) or a list like 'd0-d9, s0, s4' "
                                        "(d = double-stream, s = single-stream block). UNets use every "
                                        "cross-attention layer."),
                io.Combo.Input("region_attention", options=list(REGION_ATTENTION), default="open", optional=True,
                               tooltip="DiTs only: open lets every image token read every other, as the model "
                                       "does; restricted keeps a region's image tokens from reading the tokens of "
                                       "other regions (less leaking between objects, a little more compute). "
                                       "The prompt and the background always read everything."),
                io.Combo.Input("modulation", options=list(MODULATION), default="regional", optional=True,
                               tooltip="Flux.1 only (its pooled CLIP-L text sets the shift, scale and gate of "
                                       "every image token alike): regional modulates the image inside each box "
                                       "as the model would for that object's local prompt, in proportion to its "
                                       "weight up to 1 (the objects' shapes follow it); global keeps the "
                                       "prompt's modulation everywhere, as the model does. Other models have no "
                                       "pooled-text modulation and ignore it."),
            ],
            outputs=[io.Model.Output(display_name="model", tooltip="A patched clone of the input model.")],
        )

    @classmethod
    def execute(cls, model, regions, step_weights=None, mode="guidance", mask_shape="box", radius=0.2,
                feather=0.0, strength=1.0, start_percent=0.0, end_percent=1.0, blocks="all",
                region_attention="open", modulation="regional") -> io.NodeOutput:
        if start_percent > end_percent:
            raise ValueError(f"{NAME}: start_percent ({start_percent}) is after end_percent ({end_percent})")
        try:
            config = PatchConfig(mode=mode, mask_shape=mask_shape, radius=radius, feather=feather,
                                 strength=strength, start_percent=start_percent, end_percent=end_percent,
                                 blocks=blocks, region_attention=region_attention, modulation=modulation)
        except ValueError as exc:
            raise ValueError(f"{NAME}: {exc}") from None
        if step_weights is None:
            step_weights = StepWeights(torch.ones(1, DEFAULT_GRID), relative=True)
        try:
            weights = step_weights.resolve(len(regions), mode)
        except ValueError as exc:
            raise ValueError(f"{NAME}: step_weights {exc}") from None
        if mask_shape == "mask" and all(shape is None for shape in regions.shapes):
            logging.warning("%s: mask_shape is 'mask' but no object of the layout has a shape (they come from "
                            "Masks to Layout); every region is its box", NAME)
        patched, _ = apply_patch(model, regions, weights, config, node=NAME)
        return io.NodeOutput(patched)


NODES = [SpaceTimeAttentionPatch]
