"""ComfyUI API prompts for the lab: the standard graph, with or without the pack's nodes, as plain dicts.

Load SpaceTime Lab Checkpoint -> CLIPTextEncode (prompt, and "" as negative) -> [Predict Layout -> Region Prompt Encode
-> Step Weights Schedule -> Attention Patch] -> KSampler (DDIM, 20 steps, cfg 4) -> VAEDecode -> PreviewImage;
optimised variants replace Patch + KSampler by Optimize Step Weights (its latent output is the final sample).
One prompt holds every variant of one caption, so the checkpoint and text encodings are computed once.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .scenes import PACK_RELATIONS, Scene

CHECKPOINT = "spacetime_lab.safetensors"
LOADER = "SpaceTimeLabCheckpointLoader"  # the lab extension's node (lab/loader_node.py)
IMAGE_SIZE = 256
SAMPLER = {"steps": 20, "cfg": 4.0, "sampler_name": "ddim", "scheduler": "ddim_uniform", "denoise": 1.0}
# The DiT lab model is a flow model: Euler on the `simple` schedule, the sampler Flux.1 workflows use.
DIT_CHECKPOINT = "spacetime_lab_dit.safetensors"
DIT_SAMPLER = {**SAMPLER, "sampler_name": "euler", "scheduler": "simple"}
LOCAL_TEMPLATE = "{phrase}"  # the lab model knows "a red circle", not the paper's "a photo of ..."
BOXES: tuple[str | None, ...] = (None, "predicted", "gold", "swapped")  # None: vanilla, no layout


@dataclass(frozen=True)
class Variant:
    """One way of sampling a caption: `boxes` is None (vanilla), "predicted", "gold" or "swapped"; `optimise`
    samples through Optimize Step Weights (attention objective) starting from the schedule; `weight_end` makes the
    schedule a linear ramp from `weight` (first step) to `weight_end` (last step), the paper's temporal control;
    `blocks`, `region_attention` and `modulation` are the patch's DiT controls (the lab measures them to choose their defaults;
    a UNet ignores them, so `dit_only` variants run on the DiT lab model only); `mask_shape`, `radius`,
    `feather` and `end_percent` are the patch's own inputs of those names."""

    name: str
    boxes: str | None = None
    mode: str = "guidance"
    weight: float = 1.0
    optimise: bool = False
    weight_end: float | None = None
    blocks: str = "all"
    region_attention: str = "open"
    modulation: str = "regional"
    mask_shape: str = "box"
    radius: float = 0.2
    feather: float = 0.0
    end_percent: float = 1.0

    @property
    def dit_only(self) -> bool:
        """True when the variant differs from another only by DiT controls, which a UNet ignores."""
        return self.blocks != "all" or self.region_attention != "open" or self.modulation != "regional"

    def __post_init__(self) -> None:
        if self.boxes not in BOXES:
            raise ValueError(f"Variant {self.name!r}: boxes must be one of {BOXES}, got {self.boxes!r}")
        if self.optimise and self.boxes is None:
            raise ValueError(f"Variant {self.name!r}: optimise=True needs a layout (boxes is None, vanilla): "
                             "Optimize Step Weights samples through the layout's regions")


def gold_layout(scene: Scene, caption: str, swap: bool = False) -> dict[str, Any]:
    """The scene's own boxes as a layout dict (the pack's JSON schema); swap=True exchanges the boxes of
    object 0 (the anchor) and object 1, a control in which the boxes contradict the text."""
    boxes = [[round(v / scene.size, 4) for v in o.box] for o in scene.objects]
    if swap:
        boxes[0], boxes[1] = boxes[1], boxes[0]
    objects = [{"phrase": o.phrase, "noun": o.shape, "attributes": [o.colour], "box": box}
               for o, box in zip(scene.objects, boxes)]
    relations = [[r.subject, PACK_RELATIONS[r.relation], r.anchor] for r in scene.relations]
    return {"schema": "spacetime-layout", "version": 1, "width": IMAGE_SIZE, "height": IMAGE_SIZE,
            "text": caption, "predictor": "gold", "objects": objects, "relations": relations}


def caption_prompt(scene: Scene, caption: str, variants: list[Variant], seed: int, batch: int,
                   checkpoint: str = CHECKPOINT, sampler: dict[str, Any] = SAMPLER
                   ) -> tuple[dict[str, Any], dict[str, str]]:
    """The API prompt and, per variant name, the id of its PreviewImage node (`sampler`: KSampler's settings)."""
    p: dict[str, Any] = {
        "ckpt": {"class_type": LOADER, "inputs": {"ckpt_name": checkpoint}},
        "pos": {"class_type": "CLIPTextEncode", "inputs": {"text": caption, "clip": ["ckpt", 1]}},
        "neg": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["ckpt", 1]}},
        "latent": {"class_type": "EmptyLatentImage",
                   "inputs": {"width": IMAGE_SIZE, "height": IMAGE_SIZE, "batch_size": batch}},
    }
    outputs = {}
    for k, v in enumerate(variants):
        model: list[Any] = ["ckpt", 0]
        if v.boxes is not None:
            layout_json = "" if v.boxes == "predicted" else json.dumps(gold_layout(scene, caption, v.boxes == "swapped"))
            p[f"layout{k}"] = {"class_type": "SpaceTimePredictLayout", "inputs": {
                "text": caption, "width": IMAGE_SIZE, "height": IMAGE_SIZE, "seed": 0, "layout_json": layout_json}}
            p[f"regions{k}"] = {"class_type": "SpaceTimeRegionPromptEncode", "inputs": {
                "clip": ["ckpt", 1], "layout": [f"layout{k}", 0], "template": LOCAL_TEMPLATE}}
            p[f"weights{k}"] = {"class_type": "SpaceTimeStepWeightsSchedule", "inputs": {
                "shape": "constant" if v.weight_end is None else "linear", "unit": "absolute", "start": v.weight,
                "end": v.weight if v.weight_end is None else v.weight_end, "grid": 50}}
        if v.boxes is not None and not v.optimise:
            p[f"patch{k}"] = {"class_type": "SpaceTimeAttentionPatch", "inputs": {
                "model": ["ckpt", 0], "regions": [f"regions{k}", 0], "step_weights": [f"weights{k}", 0],
                "mode": v.mode, "mask_shape": v.mask_shape, "radius": v.radius, "feather": v.feather,
                "strength": 1.0, "start_percent": 0.0, "end_percent": v.end_percent, "blocks": v.blocks,
                "region_attention": v.region_attention, "modulation": v.modulation}}
            model = [f"patch{k}", 0]
        if v.optimise:
            p[f"sample{k}"] = {"class_type": "SpaceTimeOptimizeStepWeights", "inputs": {
                **{key: sampler[key] for key in ("steps", "cfg", "sampler_name", "scheduler")}, "seed": seed,
                "model": ["ckpt", 0], "regions": [f"regions{k}", 0], "positive": ["pos", 0], "negative": ["neg", 0],
                "latent": ["latent", 0], "step_weights": [f"weights{k}", 0], "objective": "attention",
                "iterations": 2, "learning_rate": 0.0, "mode": v.mode, "mask_shape": "box", "clip_model": "none"}}
            samples = [f"sample{k}", 1]
        else:
            p[f"sample{k}"] = {"class_type": "KSampler", "inputs": {
                **sampler, "seed": seed, "model": model, "positive": ["pos", 0], "negative": ["neg", 0],
                "latent_image": ["latent", 0]}}
            samples = [f"sample{k}", 0]
        p[f"decode{k}"] = {"class_type": "VAEDecode", "inputs": {"samples": samples, "vae": ["ckpt", 2]}}
        p[f"preview{k}"] = {"class_type": "PreviewImage", "inputs": {"images": [f"decode{k}", 0]}}
        outputs[v.name] = f"preview{k}"
    return p, outputs
