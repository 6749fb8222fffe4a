"""Region Prompt Encode: a layout's objects → local text embeddings + geometry (`SPACETIME_REGIONS`)."""
from __future__ import annotations

import torch
from comfy_api.latest import io

from ..spacetime.regions import DEFAULT_TEMPLATE, Regions, object_description, validate_box, validate_center

from .types import Layout as LayoutType, Regions as RegionsType

NAME = "Region Prompt Encode"


def _encode(clip, text: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    tokens = clip.tokenize(text)
    cond, pooled = clip.encode_from_tokens(tokens, return_pooled=True)
    return cond, pooled


class SpaceTimeRegionPromptEncode(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SpaceTimeRegionPromptEncode",
            display_name=NAME,
            category="conditioning/spacetime",
            description="Encodes one local description per layout object with the graph's CLIP (plus the empty "
                        "prompt as the baseline ∅) and keeps each object's box and centre, for the SpaceTime "
                        "Attention Patch.",
            inputs=[
                io.Clip.Input("clip", tooltip="The text encoder of the model you sample with (SD1.x CLIP or SDXL "
                                              "dual CLIP); the same one that encodes the main prompt."),
                LayoutType.Input("layout", tooltip="Objects with normalised boxes [x0, y0, x1, y1] (y down) and "
                                                   "centres, e.g. from Predict Layout or the box editor."),
                io.String.Input("template", default=DEFAULT_TEMPLATE,
                                tooltip="Local description of each object; {phrase}, {noun} and {category} are "
                                        "replaced. The paper uses 'a photo of {phrase}'. An object's own prompt "
                                        "in the layout takes precedence."),
                io.String.Input("overrides", multiline=True, default="", optional=True,
                                tooltip="Optional: one line per object (in layout order) with its own local "
                                        "description; a blank line keeps the template / the layout's prompt."),
            ],
            outputs=[RegionsType.Output(display_name="regions",
                                        tooltip="Per-object local embeddings and geometry for the patch.")],
        )

    @classmethod
    def execute(cls, clip, layout, template=DEFAULT_TEMPLATE, overrides="") -> io.NodeOutput:
        if clip is None:
            raise ValueError(f"{NAME}: clip is missing; connect the checkpoint's CLIP output")
        objects = list(getattr(layout, "objects", None) or [])
        lines = (overrides or "").splitlines()
        if len([ln for ln in lines if ln.strip()]) and len(lines) > len(objects):
            raise ValueError(f"{NAME}: overrides has {len(lines)} lines but the layout has {len(objects)} "
                             "objects; give one line per object (blank = template)")
        embeddings, pooled, boxes, centers, names, prompts = [], [], [], [], [], []
        for i, obj in enumerate(objects):
            where = f"{NAME}: layout.objects[{i}]"
            box = validate_box(getattr(obj, "box", None), f"{where}.box")
            center = validate_center(getattr(obj, "center", None), box, f"{where}.center")
            phrase = str(getattr(obj, "phrase", "") or getattr(obj, "noun", "") or f"object {i}")
            noun = str(getattr(obj, "noun", "") or "")
            category = str(getattr(obj, "category", "") or "")
            text = lines[i].strip() if i < len(lines) else ""
            if not text:
                text = object_description(template, phrase, noun, category, getattr(obj, "prompt", None))
            cond, pool = _encode(clip, text)
            embeddings.append(cond)
            pooled.append(pool)
            boxes.append(box)
            centers.append(center)
            names.append(noun or category or phrase)
            prompts.append(text)
        empty, empty_pooled = _encode(clip, "")
        regions = Regions(
            embeddings=embeddings, pooled=pooled,
            boxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            centers=torch.tensor(centers, dtype=torch.float32).reshape(-1, 2),
            names=names, prompts=prompts, empty=empty, empty_pooled=empty_pooled,
            meta={"width": getattr(layout, "width", None), "height": getattr(layout, "height", None)})
        return io.NodeOutput(regions)


NODES = [SpaceTimeRegionPromptEncode]
