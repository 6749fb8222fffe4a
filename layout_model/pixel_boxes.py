"""Layouts from the box values other nodes pass around, and back to ComfyUI's own.

Forms read by `boxes_to_layout` (pixels of a `width` x `height` image unless said otherwise):

* ComfyUI's BOUNDING_BOX and BOUNDING_BOXES (2026 cores): a dict ``{x, y, width, height}`` with an optional
  ``label`` (detectors) and ``metadata`` ``{type, text, desc}`` (Create Bounding Boxes' canvas), a list of them,
  or one list per image (the first image's boxes are used);
* Create Bounding Boxes' ``elements`` (Ideogram prompt elements): ``{bbox: [ymin, xmin, ymax, xmax], desc}`` with
  coordinates in 0..1000 of the image;
* KJNodes' BBOX: four numbers per box, ``(x, y, w, h)`` from its crop nodes or ``(x0, y0, x1, y1)`` from its
  points editor's xyxy format; `number_format` says which (the numbers alone cannot).

Names: a name given per box wins, then the box's own (its description, text or label), then "object k".
A layout keeps normalised boxes, so any image size converts.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .object_masks import crop_to_box, encode_mask
from .schema import SCHEMA, VERSION, Layout, LayoutError, check_side

NUMBER_FORMATS = ("xywh", "xyxy")
ELEMENT_SCALE = 1000.0


def layout_to_pixel_boxes(layout: Layout) -> list[dict]:
    """One BOUNDING_BOX dict per object in the layout's own size. The phrase is the label (what detectors and
    Draw BBoxes use); the description (local prompt, else phrase) goes where Create Bounding Boxes' canvas shows
    and returns it, so a round trip through the canvas keeps each object's name."""
    boxes = []
    for obj in layout.objects:
        x0, y0, x1, y1 = obj.box
        left, top = round(x0 * layout.width), round(y0 * layout.height)
        boxes.append({"x": left, "y": top, "width": round(x1 * layout.width) - left,
                      "height": round(y1 * layout.height) - top, "label": obj.phrase,
                      "metadata": {"type": "obj", "text": "", "desc": obj.prompt or obj.phrase}})
    return boxes


def boxes_to_layout(value: Any, width: int, height: int, text: str = "", names: Sequence[str] = (),
                    number_format: str = "xywh") -> Layout:
    """A layout with one object per non-empty box (clipped to the image), no relations.

    Errors name the offending box as ``bboxes[k]``."""
    check_side(width, "width")
    check_side(height, "height")
    if number_format not in NUMBER_FORMATS:
        raise LayoutError("number_format", f"must be one of {list(NUMBER_FORMATS)}, got {number_format!r}")
    objects = []
    for k, item in enumerate(_first_image(value)):
        box, own_name = _read_box(item, k, width, height, number_format)
        x0, y0 = max(box[0], 0.0), max(box[1], 0.0)
        x1, y1 = min(box[2], 1.0), min(box[3], 1.0)
        if x1 <= x0 or y1 <= y0:
            continue
        name = names[k].strip() if k < len(names) and names[k].strip() else own_name or f"object {k + 1}"
        objects.append({"phrase": name, "category": None, "box": [round(v, 4) for v in (x0, y0, x1, y1)]})
    return _layout(objects, width, height, text, "bounding_boxes")


def masks_to_layout(masks: Any, names: Sequence[str] = (), text: str = "", threshold: float = 0.5) -> Layout:
    """A layout from a mask batch ``[N, H, W]`` (one mask per object, e.g. from a segmentation node): each
    object's box is the extent of its mask above `threshold` and keeps the mask's shape inside it (for the
    patch's mask_shape "mask"); empty masks are dropped. The layout's size is the masks'."""
    array = np.asarray(masks.detach().cpu() if hasattr(masks, "detach") else masks, dtype=np.float32)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3:
        raise LayoutError("masks", f"expected a batch [N, H, W] of masks, got shape {list(array.shape)}")
    count, height, width = array.shape
    check_side(width, "masks width")
    check_side(height, "masks height")
    objects = []
    for k in range(count):
        cropped = crop_to_box(array[k], threshold)
        if cropped is None:
            continue
        (x0, y0, x1, y1), grid = cropped
        box = [x0 / width, y0 / height, x1 / width, y1 / height]
        name = names[k].strip() if k < len(names) and names[k].strip() else f"object {k + 1}"
        objects.append({"phrase": name, "category": None, "box": [round(float(v), 4) for v in box],
                        "mask": encode_mask(grid)})
    if not objects:
        raise LayoutError("masks", f"all {count} masks are empty (nothing above {threshold})")
    return _layout(objects, width, height, text, "masks")


def _layout(objects: list[dict], width: int, height: int, text: str, source: str) -> Layout:
    return Layout.from_dict({"schema": SCHEMA, "version": VERSION, "width": width, "height": height, "text": text,
                             "predictor": source, "objects": objects, "relations": []})


def _is_number_box(item: Any) -> bool:
    return isinstance(item, (list, tuple)) and len(item) == 4 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in item)


def _first_image(value: Any) -> list:
    """The boxes of one image from any of the accepted forms."""
    if isinstance(value, dict) or _is_number_box(value):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise LayoutError("bboxes", f"expected boxes, got {type(value).__name__}")
    items = list(value)
    if items and isinstance(items[0], (list, tuple)) and not _is_number_box(items[0]):
        items = list(items[0])          # one list of boxes per image: the first image
    return items


def _read_box(item: Any, k: int, width: int, height: int, number_format: str) -> tuple[list[float], str | None]:
    """``([x0, y0, x1, y1] normalised, the box's own name or None)``."""
    field = f"bboxes[{k}]"
    if _is_number_box(item):
        a, b, c, d = (float(v) for v in item)
        x1, y1 = (a + c, b + d) if number_format == "xywh" else (c, d)
        return [a / width, b / height, x1 / width, y1 / height], None
    if not isinstance(item, dict):
        raise LayoutError(field, "expected {x, y, width, height}, an element with 'bbox', or four numbers")
    if "bbox" in item:
        try:
            ymin, xmin, ymax, xmax = (float(v) / ELEMENT_SCALE for v in item["bbox"])
        except (TypeError, ValueError):
            raise LayoutError(field, "an element's bbox must be four numbers [ymin, xmin, ymax, xmax]") from None
        box = [min(xmin, xmax), min(ymin, ymax), max(xmin, xmax), max(ymin, ymax)]
        return box, first_text(item, ("desc", "text"))
    try:
        x, y, w, h = (float(item[key]) for key in ("x", "y", "width", "height"))
    except (KeyError, TypeError, ValueError):
        raise LayoutError(field, "expected numbers x, y, width, height") from None
    meta = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
    return [x / width, y / height, (x + w) / width, (y + h) / height], (
        first_text(meta, ("desc", "text", "label", "name")) or first_text(item, ("label",)))


def first_text(source: dict, keys: tuple[str, ...]) -> str | None:
    """The first non-blank string among `source`'s `keys`, stripped (the name a box gives itself)."""
    for key in keys:
        value = source.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None
