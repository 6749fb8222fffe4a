"""Interop with ComfyUI's own box type, BOUNDING_BOXES (2026 cores: `io.BoundingBoxes`, "Create Bounding Boxes").

BOUNDING_BOXES is a list of `{"x", "y", "width", "height"}` in pixels with optional `metadata` (the core's
editor writes `text` / `desc` there). Our layout keeps normalised boxes, so the image size converts.
On cores without `io.BoundingBoxes` (0.3.75) `NODES` is empty and nothing else changes: the type is
feature-detected, never assumed. Sockets use the type's name through `io.Custom` so that no core-specific
widget options (socketless editor inputs) are involved.
"""
from __future__ import annotations

from comfy_api.latest import io

from ..layout_model import Layout, LayoutError, LayoutObject
from . import types

CATEGORY = "conditioning/spacetime"
_BOUNDING_BOXES = getattr(io, "BoundingBoxes", None)
BOXES_TYPE = getattr(_BOUNDING_BOXES, "io_type", None)


def layout_to_boxes(layout: Layout) -> list[dict]:
    """Pixel boxes in the layout's own size; phrase and local prompt ride along as metadata text / desc."""
    boxes = []
    for obj in layout.objects:
        x0, y0, x1, y1 = obj.box
        left, top = round(x0 * layout.width), round(y0 * layout.height)
        boxes.append({"x": left, "y": top, "width": round(x1 * layout.width) - left,
                      "height": round(y1 * layout.height) - top,
                      "metadata": {"text": obj.phrase, "desc": obj.prompt or ""}})
    return boxes


def _label(meta: dict, index: int) -> str:
    for key in ("text", "label", "name"):
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return f"object {index + 1}"


def boxes_to_layout(boxes, width: int, height: int, text: str = "") -> Layout:
    """A layout with one object per non-empty pixel box, no relations; validated like an edited layout.

    A batched value (a list of box lists, one per image) uses the first image's boxes.
    """
    if isinstance(boxes, list) and boxes and isinstance(boxes[0], list):
        boxes = boxes[0]
    if not isinstance(boxes, list):
        raise LayoutError("bboxes", f"expected a list of boxes, got {type(boxes).__name__}")
    objects = []
    for k, box in enumerate(boxes):
        if not isinstance(box, dict):
            raise LayoutError(f"bboxes[{k}]", "expected {x, y, width, height}")
        try:
            x, y, w, h = (float(box[key]) for key in ("x", "y", "width", "height"))
        except (KeyError, TypeError, ValueError):
            raise LayoutError(f"bboxes[{k}]", "expected numbers x, y, width, height") from None
        x0, y0 = max(x, 0.0) / width, max(y, 0.0) / height
        x1, y1 = min((x + w) / width, 1.0), min((y + h) / height, 1.0)
        if x1 <= x0 or y1 <= y0:
            continue  # empty or outside the image: nothing to steer
        meta = box.get("metadata") if isinstance(box.get("metadata"), dict) else {}
        phrase = _label(meta, k)
        desc = meta.get("desc")
        objects.append(LayoutObject(phrase=phrase, noun=phrase.split()[-1], category=None,
                                    box=[x0, y0, x1, y1], prompt=desc if isinstance(desc, str) and desc.strip()
                                    else None))
    layout = Layout(objects=objects, width=width, height=height, text=text, predictor="bounding_boxes")
    return Layout.from_dict(layout.to_dict())


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
            return io.NodeOutput(layout_to_boxes(layout))

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
                    io.Int.Input("width", default=512, min=64, max=8192, step=8,
                                 tooltip="Width in pixels of the image the boxes were drawn on."),
                    io.Int.Input("height", default=512, min=64, max=8192, step=8,
                                 tooltip="Height in pixels of the image the boxes were drawn on."),
                    io.String.Input("text", multiline=True, default="",
                                    tooltip="The main prompt, kept with the layout for reference."),
                ],
                outputs=[types.Layout.Output(display_name="layout", tooltip="One object per box.")],
            )

        @classmethod
        def execute(cls, bboxes, width: int, height: int, text: str = "") -> io.NodeOutput:
            try:
                return io.NodeOutput(boxes_to_layout(bboxes, width, height, text))
            except LayoutError as err:
                raise ValueError(f"Bounding Boxes to Layout: {err}") from None

    NODES: list = [LayoutToBoundingBoxes, BoxesToLayout]
else:
    NODES = []
