"""Layouts for ComfyUI's own regional tools: a MASK batch, area conditioning, and GLIGEN boxes."""
from __future__ import annotations

import torch
from comfy_api.latest import io

from ..bridge.core_nodes import with_area, with_gligen_box
from ..layout_model import LayoutError
from ..layout_model.regions import DEFAULT_TEMPLATE, Region, gligen_box, layout_regions
from ..layout_model.schema import MAX_SIDE_PX
from ..spacetime.masks import SHAPES, region_masks
from . import types

CATEGORY = "conditioning/spacetime/convert"


def _regions(node: str, layout, template: str = DEFAULT_TEMPLATE) -> list[Region]:
    """The layout's regions; an empty layout is an error here, since these nodes would silently do nothing."""
    try:
        regions = layout_regions(layout, template)
    except LayoutError as err:
        raise ValueError(f"{node}: {err}") from None
    if not regions:
        raise ValueError(f"{node}: layout has no objects; write objects into the prompt or add boxes in the editor.")
    return regions


def _size(layout, width: int, height: int) -> tuple[int, int]:
    """The requested size, where 0 means the layout's own."""
    return width or layout.width, height or layout.height


def _side_input(name: str, what: str) -> io.Int.Input:
    return io.Int.Input(name, default=0, min=0, max=MAX_SIDE_PX, step=8,
                        tooltip=f"{what} in pixels; 0 uses the layout's {name}.")


class LayoutToMasks(io.ComfyNode):
    """One mask per object, in layout order, for ConditioningSetMask, inpainting or any mask-based node."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SpaceTimeLayoutToMasks",
            display_name="Layout to Masks",
            category=CATEGORY,
            description="Draws each object's region as a mask (a batch with one mask per object, in layout order). "
                        "A layout that moves over a video (end boxes) gives its start (first-frame) boxes.",
            inputs=[
                types.Layout.Input("layout", tooltip="Objects with boxes, e.g. from Predict Layout."),
                _side_input("width", "Mask width"),
                _side_input("height", "Mask height"),
                io.Combo.Input("shape", options=list(SHAPES), default="box",
                               tooltip="box: the object's box. disc: the paper's fixed-radius disc at its centre. "
                                       "mask: the object's own shape where the layout has one (Masks to Layout), "
                                       "else its box."),
                io.Float.Input("radius", default=0.2, min=0.01, max=1.0, step=0.01,
                               tooltip="Disc radius as a fraction of the shorter side (the paper uses 0.2)."),
                io.Float.Input("feather", default=0.0, min=0.0, max=0.5, step=0.01,
                               tooltip="Soft edge width as a fraction of the shorter side; 0 gives hard masks."),
            ],
            outputs=[io.Mask.Output(display_name="masks", tooltip="[objects, height, width] masks in [0, 1].")],
        )

    @classmethod
    def execute(cls, layout, width: int, height: int, shape: str, radius: float, feather: float) -> io.NodeOutput:
        regions = _regions("Layout to Masks", layout)
        width, height = _size(layout, width, height)
        boxes = torch.tensor([r.box for r in regions], dtype=torch.float32)
        centers = torch.tensor([r.center for r in regions], dtype=torch.float32)
        shapes = [None if r.mask is None else torch.from_numpy(r.mask) for r in regions]
        masks = region_masks(boxes, centers, height, width, shape, radius, feather, shapes)
        return io.NodeOutput(masks.reshape(len(regions), height, width).float())


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
                        "Costs about one extra UNet pass per object and step. Uses the start (first-frame) boxes of "
                        "a layout that moves over a video.",
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
        for region in _regions("Layout to Area Conditioning", layout, template):
            local = clip.encode_from_tokens_scheduled(clip.tokenize(region.text))
            out += with_area(local, region.box, strength)
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
                _side_input("width", "Image width"),
                _side_input("height", "Image height"),
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
        for region in _regions("Layout to GLIGEN", layout, template):
            out = with_gligen_box(out, clip, gligen_textbox_model, region.text, *gligen_box(region.box, width, height))
        return io.NodeOutput(out)


NODES = [LayoutToMasks, LayoutToAreaConditioning, LayoutToGLIGEN]
