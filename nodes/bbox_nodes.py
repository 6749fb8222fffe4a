"""Interop with ComfyUI's own box type, BOUNDING_BOXES (2026 cores: `io.BoundingBoxes`, "Create Bounding Boxes").

The conversions live in `layout_model.pixel_boxes`. On cores without `io.BoundingBoxes` (0.3.75) `NODES` is
empty and nothing else changes: the type is feature-detected, never assumed. Sockets use the type's name through `io.Custom` so that no core-specific
widget options (socketless editor inputs) are involved.
"""
from __future__ import annotations

from comfy_api.latest import io

from ..layout_model import LayoutError
from ..layout_model.pixel_boxes import layout_to_pixel_boxes, pixel_boxes_to_layout
from ..layout_model.schema import MAX_SIDE_PX, MIN_SIDE_PX
from . import types

CATEGORY = "conditioning/spacetime"
_BOUNDING_BOXES = getattr(io, "BoundingBoxes", None)
BOXES_TYPE = getattr(_BOUNDING_BOXES, "io_type", None)


if BOXES_TYPE:
    _Boxes = io.Custom(BOXES_TYPE)

    class LayoutToBoundingBoxes(io.ComfyNode):
        """Our layout as the core's BOUNDING_BOXES, e.g. to edit or draw it with core nodes."""

        @classmethod
        def define_schema(cls) -> io.Schema:
            return io.Schema(
                node_id="SpaceTimeLayoutToBoundingBoxes",
                display_name="Layout to Bounding Boxes",
                category=CATEGORY,
                description="Converts a SpaceTime layout to ComfyUI's BOUNDING_BOXES (pixels of the layout's "
                            "width and height; the phrase and local prompt go into each box's metadata).",
                inputs=[types.Layout.Input("layout", tooltip="The layout from Predict Layout.")],
                outputs=[_Boxes.Output(display_name="bboxes", tooltip="One pixel box per object.")],
            )

        @classmethod
        def execute(cls, layout) -> io.NodeOutput:
            return io.NodeOutput(layout_to_pixel_boxes(layout))

    class BoxesToLayout(io.ComfyNode):
        """Seeds a layout from BOUNDING_BOXES (e.g. drawn in Create Bounding Boxes or detected)."""

        @classmethod
        def define_schema(cls) -> io.Schema:
            return io.Schema(
                node_id="SpaceTimeBoxesToLayout",
                display_name="Bounding Boxes to Layout",
                category=CATEGORY,
                description="Makes a SpaceTime layout from ComfyUI's BOUNDING_BOXES: one object per box, named "
                            "by its metadata text, with its description as the local prompt.",
                inputs=[
                    _Boxes.Input("bboxes", tooltip="Pixel boxes, e.g. from Create Bounding Boxes."),
                    io.Int.Input("width", default=512, min=MIN_SIDE_PX, max=MAX_SIDE_PX, step=8,
                                 tooltip="Width in pixels of the image the boxes were drawn on."),
                    io.Int.Input("height", default=512, min=MIN_SIDE_PX, max=MAX_SIDE_PX, step=8,
                                 tooltip="Height in pixels of the image the boxes were drawn on."),
                    io.String.Input("text", multiline=True, default="",
                                    tooltip="The main prompt, kept with the layout for reference."),
                ],
                outputs=[types.Layout.Output(display_name="layout", tooltip="One object per box.")],
            )

        @classmethod
        def execute(cls, bboxes, width: int, height: int, text: str = "") -> io.NodeOutput:
            try:
                return io.NodeOutput(pixel_boxes_to_layout(bboxes, width, height, text))
            except LayoutError as err:
                raise ValueError(f"Bounding Boxes to Layout: {err}") from None

    NODES: list = [LayoutToBoundingBoxes, BoxesToLayout]
else:
    NODES = []
