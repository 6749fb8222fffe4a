"""Layouts that a language model wrote, in the formats people paste.

* LMD (LLM-grounded Diffusion): ``[('a red cat', [x, y, w, h]), ...]`` in pixels of the image, optionally
  followed by ``Background prompt: ...``;
* LayoutGPT's CSS-like lines: ``a red cat {width: 120px; height: 80px; left: 30px; top: 200px; }``;
* Ideogram 4's JSON prompt: ``{"prompt": ..., "elements": [{"bbox": [ymin, xmin, ymax, xmax], "desc": ...}]}``
  with coordinates in 0..1000;
* plain JSON lists of ``{label, box}`` (also ``name``/``phrase``, ``bbox``), or of ``{label, x, y, width,
  height}``, in pixels or in fractions of the image.

What models emit around the layout is tolerated: code fences, prose before and after, trailing commas, Python
tuples. What cannot be read is an error naming the field. Nothing is ever evaluated as code: tuples are read with
`ast.literal_eval`, which accepts literals only.
"""
from __future__ import annotations

import ast
import json
import re
from typing import Any

from .pixel_boxes import ELEMENT_SCALE, boxes_to_layout, first_text
from .schema import Layout, LayoutError, check_side, check_text

BOX_FORMATS = ("auto", "xyxy", "xywh")
_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n(.*?)```", re.S)
_CSS = re.compile(r"^\s*[-*\d.)\s]*(?P<name>[^{}\n]+?)\s*\{(?P<body>[^{}]*)\}", re.M)
_CSS_FIELD = re.compile(r"(width|height|left|top)\s*:\s*(-?\d+(?:\.\d+)?)\s*(?:px)?", re.I)
_BACKGROUND = re.compile(r"background(?: prompt)?\s*:\s*(.+)", re.I)
_NAME_KEYS = ("label", "name", "phrase", "object", "desc", "description", "caption", "text")
_BOX_KEYS = ("box", "bbox", "bounding_box", "coordinates")
_TEXT_KEYS = ("prompt", "caption", "global_caption", "background", "background_prompt", "text")


def layout_from_llm_text(text: str, width: int = 512, height: int = 512, box_format: str = "auto") -> Layout:
    """The layout in `text`, in a `width` x `height` image (the size pixel boxes refer to)."""
    check_text(text)
    check_side(width, "width")
    check_side(height, "height")
    if box_format not in BOX_FORMATS:
        raise LayoutError("box_format", f"must be one of {list(BOX_FORMATS)}, got {box_format!r}")
    body = _unfenced(text)
    value = _literal(body)
    if value is None:
        css = _css_boxes(body)
        if not css:
            raise LayoutError("text", "found no layout: expected a JSON list or object of boxes, LMD's "
                                      "[('name', [x, y, w, h]), ...] or LayoutGPT's 'name {left: ..px; ...}' lines")
        return boxes_to_layout(css, width, height, _background(body) or "")
    if isinstance(value, dict):
        return _from_object(value, width, height, box_format, _background(body))
    if isinstance(value, (list, tuple)):
        return _from_list(list(value), width, height, box_format, _background(body) or "")
    raise LayoutError("text", f"expected a list or an object of boxes, got {type(value).__name__}")


def layout_to_ideogram(layout: Layout) -> dict:
    """The layout as an Ideogram 4 JSON prompt: the prompt and one element per object, bbox in 0..1000."""
    def grid(v: float) -> int:
        return max(0, min(int(ELEMENT_SCALE), round(v * ELEMENT_SCALE)))

    elements = [{"type": "obj", "bbox": [grid(o.box[1]), grid(o.box[0]), grid(o.box[3]), grid(o.box[2])],
                 "desc": o.prompt or o.phrase} for o in layout.objects]
    return {"prompt": layout.text, "elements": elements}


def _unfenced(text: str) -> str:
    fenced = _FENCE.search(text)
    return fenced.group(1) if fenced else text


def _literal(text: str) -> Any:
    """The first JSON value or Python literal in `text` (prose around it ignored), or None when there is none."""
    for start, char in enumerate(text):
        if char not in "[{":
            continue
        end = _matching(text, start)
        if end is None:
            continue
        chunk = re.sub(r",\s*([\]}])", r"\1", text[start:end + 1])
        for read in (json.loads, ast.literal_eval):
            try:
                return read(chunk)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                continue
    return None


def _matching(text: str, start: int) -> int | None:
    """Index of the bracket closing the one at `start` (quotes respected), or None."""
    depth, quote = 0, None
    for i in range(start, len(text)):
        char = text[i]
        if quote:
            if char == quote and text[i - 1] != "\\":
                quote = None
        elif char in "\"'":
            quote = char
        elif char in "[{(":
            depth += 1
        elif char in "]})":
            depth -= 1
            if depth == 0:
                return i
    return None


def _background(text: str) -> str | None:
    found = _BACKGROUND.search(text)
    return found.group(1).strip().strip("\"'") if found else None


def _css_boxes(text: str) -> list[dict]:
    boxes = []
    for match in _CSS.finditer(text):
        fields = {k.lower(): float(v) for k, v in _CSS_FIELD.findall(match.group("body"))}
        if {"width", "height", "left", "top"} <= fields.keys():
            boxes.append({"x": fields["left"], "y": fields["top"], "width": fields["width"],
                          "height": fields["height"], "label": match.group("name").strip()})
    return boxes


def _from_object(value: dict, width: int, height: int, box_format: str, background: str | None) -> Layout:
    text = next((value[k] for k in _TEXT_KEYS if isinstance(value.get(k), str)), background or "")
    for key in ("elements", "objects", "boxes", "layout", "regions"):
        if isinstance(value.get(key), list):
            return _from_list(value[key], width, height, box_format, text, field=key)
    raise LayoutError("text", "the JSON object has no list of boxes ('elements', 'objects', 'boxes' or 'layout')")


def _from_list(items: list, width: int, height: int, box_format: str, text: str, field: str = "boxes") -> Layout:
    entries = [_entry(item, k, field) for k, item in enumerate(items)]
    if not entries:
        raise LayoutError(field, "has no boxes")
    fmt = box_format if box_format != "auto" else _guess_format(entries)
    boxes = [_pixel_box(name, kind, numbers, fmt, width, height) for name, kind, numbers in entries]
    return boxes_to_layout(boxes, width, height, text)


def _entry(item: Any, k: int, field: str) -> tuple[str, str, list[float]]:
    """``(name, kind, numbers)``: kind is "lmd" (x, y, w, h pixels), "element" (ymin, xmin, ymax, xmax in 0..1000),
    "xywh" (named x/y/width/height) or "box" (four numbers in the model's convention)."""
    where = f"{field}[{k}]"
    if isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str):
        return item[0], "lmd", _four(item[1], f"{where}[1]")
    if not isinstance(item, dict):
        raise LayoutError(where, "expected {label, box} or ('name', [x, y, w, h])")
    name = first_text(item, _NAME_KEYS) or ""
    if "bbox" in item and ("desc" in item or item.get("type") in ("obj", "text")):
        return name, "element", _four(item["bbox"], f"{where}.bbox")
    for key in _BOX_KEYS:
        if key in item:
            return name, "box", _four(item[key], f"{where}.{key}")
    if all(key in item for key in ("x", "y", "width", "height")):
        return name, "xywh", _four([item[key] for key in ("x", "y", "width", "height")], where)
    raise LayoutError(where, "has no box (expected 'box' or 'bbox' with four numbers, or x, y, width, height)")


def _four(value: Any, where: str) -> list[float]:
    if isinstance(value, dict):
        value = [value.get(k) for k in ("x", "y", "width", "height")]
    if not (isinstance(value, (list, tuple)) and len(value) == 4):
        raise LayoutError(where, "expected four numbers")
    try:
        return [float(v) for v in value]
    except (TypeError, ValueError):
        raise LayoutError(where, "expected four numbers") from None


def _guess_format(entries: list[tuple[str, str, list[float]]]) -> str:
    """xyxy unless some box cannot be corners (its third number is not right of its first, or its fourth not below
    its second): then the model wrote x, y, width, height."""
    boxes = [n for _, kind, n in entries if kind == "box"]
    return "xywh" if any(b[2] <= b[0] or b[3] <= b[1] for b in boxes) else "xyxy"


def _pixel_box(name: str, kind: str, n: list[float], fmt: str, width: int, height: int) -> dict:
    if kind == "element":
        return {"bbox": n, "desc": name}
    if kind in ("lmd", "xywh"):
        x, y, w, h = n
    else:
        x, y = n[0], n[1]
        w, h = (n[2] - n[0], n[3] - n[1]) if fmt == "xyxy" else (n[2], n[3])
    if max(abs(v) for v in n) <= 1.0:       # fractions of the image
        x, y, w, h = x * width, y * height, w * width, h * height
    return {"x": x, "y": y, "width": w, "height": h, "label": name}
