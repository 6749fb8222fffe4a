"""Layouts from boxes, masks and text made elsewhere, and layouts as ComfyUI's own boxes.

ComfyUI's box types are feature-detected, never assumed: 2026 cores have BOUNDING_BOX (Create Bounding Boxes'
`bboxes`, detectors, Draw BBoxes), BOUNDING_BOXES (the canvas' own state) and ARRAY (its `elements`); every core
gets KJNodes' BBOX and MASK. The conversions live in `layout_model.pixel_boxes`.
"""
from __future__ import annotations

import json

from comfy_api.latest import io

from ..layout_model import LayoutError
from ..layout_model.llm_layouts import BOX_FORMATS as LLM_BOX_FORMATS, layout_from_llm_text, layout_to_ideogram
from ..layout_model.pixel_boxes import NUMBER_FORMATS, boxes_to_layout, layout_to_pixel_boxes, masks_to_layout
from ..layout_model.schema import MAX_SIDE_PX, MIN_SIDE_PX
from . import types

CATEGORY = "conditioning/spacetime"
KJ_BBOX = io.Custom("BBOX")
CORE_BOX = getattr(io, "BoundingBox", None)


def core_box_types() -> list:
    """ComfyUI's own box types on this core (none on 0.3.75)."""
    return [t for t in (getattr(io, name, None) for name in ("BoundingBox", "BoundingBoxes", "Array")) if t]


def _names(text: str) -> list[str]:
    return (text or "").splitlines()


def _prompt_input() -> io.String.Input:
    return io.String.Input("text", multiline=True, default="",
                           tooltip="The main prompt, kept with the layout for reference.")


def _field_error(node: str, err: LayoutError) -> ValueError:
    return ValueError(f"{node}: {err}")


class BoxesToLayout(io.ComfyNode):
    """Seeds a layout from boxes drawn in Create Bounding Boxes, found by a detector, or made by KJNodes."""

    NAME = "Boxes to Layout"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SpaceTimeBoxesToLayout",
            display_name=cls.NAME,
            category=CATEGORY,
            description="Makes a SpaceTime layout with one object per box. Takes ComfyUI's BOUNDING_BOX (Create "
                        "Bounding Boxes, detectors), its canvas' elements (which carry each box's description "
                        "as its name) and KJNodes' BBOX.",
            inputs=[
                io.MultiType.Input("bboxes", types=[*core_box_types(), KJ_BBOX],
                                   tooltip="Boxes in pixels. From Create Bounding Boxes connect 'elements' to keep "
                                           "each box's description as its name ('bboxes' gives boxes only)."),
                io.Int.Input("width", default=1024, min=MIN_SIDE_PX, max=MAX_SIDE_PX, step=8,
                             tooltip="Width in pixels of the image the boxes were drawn on (Create Bounding "
                                     "Boxes' width)."),
                io.Int.Input("height", default=1024, min=MIN_SIDE_PX, max=MAX_SIDE_PX, step=8,
                             tooltip="Height in pixels of the image the boxes were drawn on."),
                io.Combo.Input("number_format", options=list(NUMBER_FORMATS), default="xywh",
                               tooltip="Only for boxes of four numbers (KJNodes' BBOX): xywh = x, y, width, "
                                       "height (its crop nodes); xyxy = corners (its points editor in xyxy)."),
                io.String.Input("names", multiline=True, default="",
                                tooltip="Optional: one name per line, in box order (e.g. 'a red cat'); a blank "
                                        "line keeps the box's own description or label."),
                _prompt_input(),
            ],
            outputs=[types.Layout.Output(display_name="layout", tooltip="One object per box, no relations.")],
        )

    @classmethod
    def execute(cls, bboxes, width: int, height: int, number_format: str = "xywh", names: str = "",
                text: str = "") -> io.NodeOutput:
        try:
            return io.NodeOutput(boxes_to_layout(bboxes, width, height, text, _names(names), number_format))
        except LayoutError as err:
            raise _field_error(cls.NAME, err) from None


class MasksToLayout(io.ComfyNode):
    """One object per mask, boxed by the mask's extent (e.g. masks from SAM or a segmentation node)."""

    NAME = "Masks to Layout"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SpaceTimeMasksToLayout",
            display_name=cls.NAME,
            category=CATEGORY,
            description="Makes a SpaceTime layout from a mask batch, one object per mask: each box is the extent "
                        "of its mask. The layout has the masks' size.",
            inputs=[
                io.Mask.Input("masks", tooltip="A batch with one mask per object."),
                io.String.Input("names", multiline=True, default="",
                                tooltip="One name per line, in mask order (e.g. 'a red cat'); unnamed masks are "
                                        "'object 1', 'object 2', ..."),
                _prompt_input(),
            ],
            outputs=[types.Layout.Output(display_name="layout", tooltip="One object per non-empty mask.")],
        )

    @classmethod
    def execute(cls, masks, names: str = "", text: str = "") -> io.NodeOutput:
        try:
            return io.NodeOutput(masks_to_layout(masks, _names(names), text))
        except LayoutError as err:
            raise _field_error(cls.NAME, err) from None


class LayoutFromText(io.ComfyNode):
    """A layout that a language model wrote (LMD, LayoutGPT, Ideogram 4 JSON, plain JSON), pasted or wired in."""

    NAME = "Layout from LLM Text"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SpaceTimeLayoutFromText",
            display_name=cls.NAME,
            category=CATEGORY,
            description="Reads the boxes a language model wrote: LMD's [('a red cat', [x, y, w, h]), ...] with "
                        "'Background prompt:', LayoutGPT's 'a red cat {left: 30px; top: 200px; width: 120px; "
                        "height: 80px}', Ideogram 4's JSON prompt (bbox in 0..1000) or a JSON list of {label, box} "
                        "in pixels or fractions. Code fences and prose around it are ignored.",
            inputs=[
                io.String.Input("text", multiline=True, default="",
                                tooltip="The model's answer, as it came (code fences and prose are fine)."),
                io.Int.Input("width", default=512, min=MIN_SIDE_PX, max=MAX_SIDE_PX, step=8,
                             tooltip="Width in pixels of the image the boxes refer to (LMD and LayoutGPT: 512)."),
                io.Int.Input("height", default=512, min=MIN_SIDE_PX, max=MAX_SIDE_PX, step=8,
                             tooltip="Height in pixels of the image the boxes refer to."),
                io.Combo.Input("box_format", options=list(LLM_BOX_FORMATS), default="auto",
                               tooltip="Only for JSON 'box' lists: xyxy = corners, xywh = corner and size; auto "
                                       "reads corners unless some box cannot be corners."),
            ],
            outputs=[types.Layout.Output(display_name="layout", tooltip="One object per box, no relations."),
                     io.String.Output(display_name="ideogram_json",
                                      tooltip="The same layout as an Ideogram 4 JSON prompt (bbox in 0..1000).")],
        )

    @classmethod
    def execute(cls, text: str, width: int = 512, height: int = 512, box_format: str = "auto") -> io.NodeOutput:
        try:
            layout = layout_from_llm_text(text, width, height, box_format)
        except LayoutError as err:
            raise _field_error(cls.NAME, err) from None
        return io.NodeOutput(layout, json.dumps(layout_to_ideogram(layout), indent=2))


NODES: list = [BoxesToLayout, MasksToLayout, LayoutFromText]

if CORE_BOX is not None:
    class LayoutToBoundingBoxes(io.ComfyNode):
        """Our layout as ComfyUI's BOUNDING_BOX: draw it, crop with it, or edit it on the core canvas."""

        @classmethod
        def define_schema(cls) -> io.Schema:
            return io.Schema(
                node_id="SpaceTimeLayoutToBoundingBoxes",
                display_name="Layout to Bounding Boxes",
                category=CATEGORY,
                description="Converts a SpaceTime layout to ComfyUI's BOUNDING_BOX (pixels of the layout's width "
                            "and height): each box is labelled with its phrase. Into Create Bounding Boxes' "
                            "bboxes input it starts the canvas with these boxes. A moving object gives its start "
                            "(first-frame) box.",
                inputs=[types.Layout.Input("layout", tooltip="The layout from Predict Layout.")],
                outputs=[CORE_BOX.Output(display_name="bboxes", tooltip="One pixel box per object.")],
            )

        @classmethod
        def execute(cls, layout) -> io.NodeOutput:
            return io.NodeOutput(layout_to_pixel_boxes(layout))

    NODES.insert(0, LayoutToBoundingBoxes)
