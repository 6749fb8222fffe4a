"""Layouts as pixel boxes `{"x", "y", "width", "height", "metadata"}` and back.

This is the shape of ComfyUI's BOUNDING_BOXES (2026 cores; their "Create Bounding Boxes" editor writes the
label to `metadata.text` and a description to `metadata.desc`). A layout keeps normalised boxes, so the
image size converts.
"""

from __future__ import annotations

from typing import Any

from .schema import SCHEMA, VERSION, Layout, LayoutError, check_side


def layout_to_pixel_boxes(layout: Layout) -> list[dict]:
    """Pixel boxes in the layout's own size; phrase and local prompt ride along as metadata text / desc."""
    boxes = []
    for obj in layout.objects:
        x0, y0, x1, y1 = obj.box
        left, top = round(x0 * layout.width), round(y0 * layout.height)
        boxes.append({"x": left, "y": top, "width": round(x1 * layout.width) - left,
                      "height": round(y1 * layout.height) - top,
                      "metadata": {"text": obj.phrase, "desc": obj.prompt or ""}})
    return boxes


def pixel_boxes_to_layout(boxes: Any, width: int, height: int, text: str = "") -> Layout:
    """A layout with one object per non-empty pixel box, no relations; validated like an edited layout.

    A batched value (a list of box lists, one per image) uses the first image's boxes. Boxes are clipped
    to the image; those left empty are dropped, since they steer nothing. Errors name `bboxes[k]`.
    """
    check_side(width, "width")
    check_side(height, "height")
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
            continue
        meta = box.get("metadata") if isinstance(box.get("metadata"), dict) else {}
        desc = meta.get("desc")
        objects.append({"phrase": _label(meta, k), "category": None,
                        "box": [round(v, 4) for v in (x0, y0, x1, y1)],
                        "prompt": desc if isinstance(desc, str) and desc.strip() else None})
    return Layout.from_dict({"schema": SCHEMA, "version": VERSION, "width": width, "height": height,
                             "text": text, "predictor": "bounding_boxes", "objects": objects, "relations": []})


def _label(meta: dict, index: int) -> str:
    for key in ("text", "label", "name"):
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return f"object {index + 1}"
