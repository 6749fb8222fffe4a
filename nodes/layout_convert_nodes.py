"""Layouts for ComfyUI's own regional tools: a MASK batch, area conditioning, and GLIGEN boxes."""
from __future__ import annotations

import torch
from comfy_api.latest import io

from ..bridge.core_nodes import with_area, with_gligen_box
from ..spacetime.masks import SHAPES, region_masks
from ..spacetime.regions import DEFAULT_TEMPLATE, object_description
from . import types

CATEGORY = "conditioning/spacetime/convert"


def _objects(node: str, layout) -> list:
    objects = list(getattr(layout, "objects", None) or [])
    if not objects:
        raise ValueError(f"{node}: layout has no objects; write objects into the prompt or add boxes in the editor.")
    return objects


def _object_text(obj, template: str) -> str:
    return object_description(template, obj.phrase, obj.noun or "", obj.category or "", obj.prompt)


def _size(layout, width: int, height: int) -> tuple[int, int]:
    return (width or int(getattr(layout, "width", 512))), (height or int(getattr(layout, "height", 512)))


class LayoutToMasks(io.ComfyNode):
    """One mask per object, in layout order, for ConditioningSetMask, inpainting or any mask-based node."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SpaceTimeLayoutToMasks",
            display_name="Layout to Masks",
            category=CATEGORY,
            description="Draws each object's region as a mask (a batch with one mask per object, in layout order).",
            inputs=[
                types.Layout.Input("layout", tooltip="Objects with boxes, e.g. from Predict Layout."),
                io.Int.Input("width", default=0, min=0, max=8192, step=8,
                             tooltip="Mask width in pixels; 0 uses the layout's width."),
                io.Int.Input("height", default=0, min=0, max=8192, step=8,
                             tooltip="Mask height in pixels; 0 uses the layout's height."),
                io.Combo.Input("shape", options=list(SHAPES), default="box",
                               tooltip="box: the object's box. disc: the paper's fixed-radius disc at its centre."),
                io.Float.Input("radius", default=0.2, min=0.01, max=1.0, step=0.01,
                               tooltip="Disc radius as a fraction of the shorter side (the paper uses 0.2)."),
                io.Float.Input("feather", default=0.0, min=0.0, max=0.5, step=0.01,
                               tooltip="Soft edge width as a fraction of the shorter side; 0 gives hard masks."),
            ],
            outputs=[io.Mask.Output(display_name="masks", tooltip="[objects, height, width] masks in [0, 1].")],
        )

    @classmethod
    def execute(cls, layout, width: int, height: int, shape: str, radius: float, feather: float) -> io.NodeOutput:
        objects = _objects("Layout to Masks", layout)
        width, height = _size(layout, width, height)
        boxes = torch.tensor([o.box for o in objects], dtype=torch.float32)
        centers = torch.tensor([o.center for o in objects], dtype=torch.float32)
        masks = region_masks(boxes, centers, height, width, shape, radius, feather)
        return io.NodeOutput(masks.reshape(len(objects), height, width).float())


class LayoutToAreaConditioning(io.ComfyNode):
    """Core regional prompting from a layout: the base prompt plus one area-limited local prompt per object."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SpaceTimeLayoutToAreaConditioning",
            display_name="Layout to Area Conditioning",
            category=CATEGORY,
            description="ComfyUI's own regional prompting without the patch: encodes each object's local prompt and "
                        "limits it to its box (like ConditioningSetAreaPercentage), combined with the base prompt. "
                        "Costs about one extra UNet pass per object and step.",
            inputs=[
                io.Conditioning.Input("conditioning", tooltip="The base (whole-image) positive conditioning."),
                io.Clip.Input("clip", tooltip="The text encoder used for the base prompt."),
                types.Layout.Input("layout", tooltip="Objects with boxes, e.g. from Predict Layout."),
                io.String.Input("template", default=DEFAULT_TEMPLATE,
                                tooltip="Local prompt of each object; {phrase}, {noun}, {category} are replaced. "
                                        "An object's own prompt from the editor takes precedence."),
                io.Float.Input("strength", default=1.0, min=0.0, max=10.0, step=0.01,
                               tooltip="Weight of each local prompt inside its area."),
            ],
            outputs=[io.Conditioning.Output(display_name="conditioning",
                                            tooltip="Base conditioning plus one area conditioning per object.")],
        )

    @classmethod
    def execute(cls, conditioning, clip, layout, template: str, strength: float) -> io.NodeOutput:
        out = list(conditioning)
        for obj in _objects("Layout to Area Conditioning", layout):
            local = clip.encode_from_tokens_scheduled(clip.tokenize(_object_text(obj, template)))
            out += with_area(local, obj.box, strength)
        return io.NodeOutput(out)


class LayoutToGLIGEN(io.ComfyNode):
    """GLIGEN from a layout: applies GLIGENTextBoxApply once per object with its box in pixels."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SpaceTimeLayoutToGLIGEN",
            display_name="Layout to GLIGEN",
            category=CATEGORY,
            description="Feeds the layout's boxes and local prompts to a GLIGEN textbox model (SD1.x), the same as "
                        "chaining one GLIGENTextBoxApply per object.",
            inputs=[
                io.Conditioning.Input("conditioning_to", tooltip="The positive conditioning to add the boxes to."),
                io.Clip.Input("clip", tooltip="The text encoder used for the base prompt."),
                io.Custom("GLIGEN").Input("gligen_textbox_model", tooltip="From GLIGENLoader (models/gligen)."),
                types.Layout.Input("layout", tooltip="Objects with boxes, e.g. from Predict Layout."),
                io.Int.Input("width", default=0, min=0, max=8192, step=8,
                             tooltip="Image width in pixels; 0 uses the layout's width."),
                io.Int.Input("height", default=0, min=0, max=8192, step=8,
                             tooltip="Image height in pixels; 0 uses the layout's height."),
                io.String.Input("template", default="{phrase}",
                                tooltip="Text of each box; GLIGEN expects the object's phrase. An object's own "
                                        "prompt from the editor takes precedence."),
            ],
            outputs=[io.Conditioning.Output(display_name="conditioning", tooltip="Conditioning with GLIGEN boxes.")],
        )

    @classmethod
    def execute(cls, conditioning_to, clip, gligen_textbox_model, layout, width: int, height: int,
                template: str) -> io.NodeOutput:
        width, height = _size(layout, width, height)
        out = conditioning_to
        for obj in _objects("Layout to GLIGEN", layout):
            x0, y0, x1, y1 = obj.box
            px, py = int(round(x0 * width / 8)) * 8, int(round(y0 * height / 8)) * 8
            pw = max(8, int(round((x1 - x0) * width / 8)) * 8)
            ph = max(8, int(round((y1 - y0) * height / 8)) * 8)
            out = with_gligen_box(out, clip, gligen_textbox_model, _object_text(obj, template), pw, ph, px, py)
        return io.NodeOutput(out)


NODES = [LayoutToMasks, LayoutToAreaConditioning, LayoutToGLIGEN]
