"""The `Layout` type, its versioned JSON form and the validation of untrusted layout data.

Layouts travel through the box editor and saved workflows as JSON, so `from_dict` checks
every field and names the offending one in `LayoutError.field` (e.g. `objects[2].box`).

This module is the one place for the layout contract: the canvas, text and phrase limits, the
box tolerance and the checks that enforce them. The predictor, the nodes' widgets, the editor's
route (which passes the phrase limit on to the JS) and Region Prompt Encode all read them here.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from .lexicon import COCO80

SCHEMA = "spacetime-layout"
VERSION = 1
RELATIONS: tuple[str, ...] = ("left of", "right of", "above", "below", "on", "under", "next to",
                              "in front of", "behind", "between")
MAX_OBJECTS = 64
MAX_RELATIONS = 1024
MAX_PHRASE_CHARS = 500      # an object's phrase, noun or local prompt
MAX_TEXT_CHARS = 20000      # the prompt a layout is predicted from
MAX_JSON_CHARS = 2_000_000
MIN_SIDE_PX, MAX_SIDE_PX = 64, 8192  # canvas width and height
MAX_SEED = 2**31 - 1
MAX_MASK_SIDE = 256         # cells per side of an object's mask grid; finer than any attention grid
# Boxes may exceed [0, 1] by this much and are clamped: JSON keeps 4 decimals, so a box edited or
# computed at the border can land a rounding step outside. Anything further out is an error.
BOX_TOLERANCE = 1e-3

_COCO = frozenset(COCO80)


class LayoutError(ValueError):
    """Invalid layout data or predictor input; `field` names the offending field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass
class LayoutObject:
    """One region: the words naming it, what it is, and its box (normalised, y down).

    Instances of a counted mention ("two dogs") are separate objects sharing `group` and
    `count`. `prompt` overrides the local description (box editor); None means use `phrase`. `mask` is the
    object's exact shape inside its box (layout_model.object_masks), None for the whole box. `end_box` is where
    the object is at a video's last frame (the box editor's End keyframe; video models interpolate from `box`
    over the frames); None means the object does not move.
    """

    phrase: str
    noun: str
    category: str | None
    box: list[float]
    count: int = 1
    group: int | None = None
    attributes: list[str] = field(default_factory=list)
    prompt: str | None = None
    mask: dict[str, Any] | None = None
    end_box: list[float] | None = None

    @property
    def center(self) -> list[float]:
        return box_center(self.box)

    def to_dict(self) -> dict[str, Any]:
        data = {"phrase": self.phrase, "noun": self.noun, "category": self.category,
                "count": self.count, "group": self.group, "attributes": list(self.attributes),
                "box": [round(v, 4) for v in self.box], "center": self.center,
                "prompt": self.prompt}
        if self.mask is not None:
            data["mask"] = self.mask
        if self.end_box is not None:
            data["end_box"] = [round(v, 4) for v in self.end_box]
        return data


@dataclass
class Layout:
    """A predicted or edited layout for one prompt.

    `relations` holds `(i, relation, j)` object-index triples, read "object i <relation>
    object j"; "X between A and B" is the two triples (X, "between", A), (X, "between", B).
    """

    objects: list[LayoutObject] = field(default_factory=list)
    relations: list[tuple[int, str, int]] = field(default_factory=list)
    width: int = 512
    height: int = 512
    text: str = ""
    predictor: str = "rules"

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "version": VERSION, "width": self.width,
                "height": self.height, "text": self.text, "predictor": self.predictor,
                "objects": [o.to_dict() for o in self.objects],
                "relations": [[i, rel, j] for i, rel, j in self.relations]}

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "Layout":
        """Parse and validate JSON text (see `from_dict`)."""
        if not isinstance(text, str):
            raise LayoutError("json", f"expected a string, got {type(text).__name__}")
        if len(text) > MAX_JSON_CHARS:
            raise LayoutError("json", f"too large ({len(text)} characters)")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LayoutError("json", f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> "Layout":
        """Validate a dict in the versioned format; raise `LayoutError` naming the bad field."""
        if not isinstance(data, dict):
            raise LayoutError("layout", f"expected an object, got {type(data).__name__}")
        if data.get("schema") != SCHEMA:
            raise LayoutError("schema", f"expected {SCHEMA!r}, got {data.get('schema')!r}")
        version = data.get("version")
        if not _is_int(version) or version != VERSION:
            raise LayoutError("version", f"unsupported version {version!r} (this code reads "
                                         f"{VERSION})")
        width = check_side(data.get("width", 512), "width")
        height = check_side(data.get("height", 512), "height")
        text = check_text(data.get("text", ""))
        predictor = _string(data.get("predictor", "manual"), "predictor", 100)
        raw_objects = data.get("objects", [])
        if not isinstance(raw_objects, list):
            raise LayoutError("objects", "expected a list")
        if len(raw_objects) > MAX_OBJECTS:
            raise LayoutError("objects", f"{len(raw_objects)} objects, at most {MAX_OBJECTS}")
        objects = [_object(o, f"objects[{k}]") for k, o in enumerate(raw_objects)]
        relations = _relations(data.get("relations", []), len(objects))
        return cls(objects=objects, relations=relations, width=width, height=height, text=text,
                   predictor=predictor)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)


def check_side(value: Any, name: str) -> int:
    """A canvas width or height in pixels; `name` is the field a `LayoutError` names."""
    if not _is_int(value) or not MIN_SIDE_PX <= value <= MAX_SIDE_PX:
        raise LayoutError(name, f"expected an integer in {MIN_SIDE_PX}..{MAX_SIDE_PX}, got {value!r}"[:200])
    return value


def check_text(value: Any, name: str = "text") -> str:
    """The prompt of a layout: a string of at most MAX_TEXT_CHARS characters."""
    return _string(value, name, MAX_TEXT_CHARS)


def noun_of(phrase: str) -> str:
    """The noun of a phrase the user typed (a box added or renamed in the editor, a drawn bounding box):
    its last word, which `{noun}` templates read. Predicted objects carry the parser's head noun instead."""
    words = phrase.split()
    return words[-1] if words else ""


def box_center(box: list[float]) -> list[float]:
    """The centre of a normalised box, rounded like the boxes of the JSON form."""
    x0, y0, x1, y1 = box
    return [round((x0 + x1) / 2, 4), round((y0 + y1) / 2, 4)]


def _string(value: Any, name: str, limit: int, empty_ok: bool = True) -> str:
    if not isinstance(value, str):
        raise LayoutError(name, f"expected a string, got {type(value).__name__}")
    if len(value) > limit:
        raise LayoutError(name, f"too long ({len(value)} characters, at most {limit})")
    if not empty_ok and not value.strip():
        raise LayoutError(name, "must not be empty")
    return value


def _object(data: Any, name: str) -> LayoutObject:
    if not isinstance(data, dict):
        raise LayoutError(name, f"expected an object, got {type(data).__name__}")
    phrase = _string(data.get("phrase"), f"{name}.phrase", MAX_PHRASE_CHARS, empty_ok=False)
    noun = _string(data["noun"], f"{name}.noun", MAX_PHRASE_CHARS) if "noun" in data else noun_of(phrase)
    category = data.get("category")
    if category is not None and category not in _COCO:
        raise LayoutError(f"{name}.category", f"not a COCO-80 name: {category!r}")
    count = data.get("count", 1)
    if not _is_int(count) or not 1 <= count <= MAX_OBJECTS:
        raise LayoutError(f"{name}.count", f"expected an integer in 1..{MAX_OBJECTS}")
    group = data.get("group")
    if group is not None and (not _is_int(group) or group < 0):
        raise LayoutError(f"{name}.group", "expected a non-negative integer or null")
    attributes = data.get("attributes", [])
    if not isinstance(attributes, list) or not all(isinstance(a, str) for a in attributes):
        raise LayoutError(f"{name}.attributes", "expected a list of strings")
    prompt = data.get("prompt")
    if prompt is not None:
        _string(prompt, f"{name}.prompt", MAX_PHRASE_CHARS)
    if "center" in data:
        _numbers(data["center"], 2, f"{name}.center")  # derived from box; checked, not kept
    mask, end_box = data.get("mask"), data.get("end_box")
    return LayoutObject(phrase=phrase, noun=noun, category=category,
                        box=check_box(data.get("box"), f"{name}.box"), count=count, group=group,
                        attributes=list(attributes), prompt=prompt,
                        mask=None if mask is None else check_mask(mask, f"{name}.mask"),
                        end_box=None if end_box is None else check_box(end_box, f"{name}.end_box"))


def check_mask(data: Any, name: str) -> dict[str, Any]:
    """An object's mask in its JSON form: ``{"width", "height", "runs"}``, run lengths of a grid over the box,
    alternating outside and inside (layout_model.object_masks); `name` is the field a `LayoutError` names."""
    if not isinstance(data, dict):
        raise LayoutError(name, f"expected an object with width, height and runs, got {type(data).__name__}")
    width, height, runs = data.get("width"), data.get("height"), data.get("runs")
    for value, side in ((width, "width"), (height, "height")):
        if not _is_int(value) or not 1 <= value <= MAX_MASK_SIDE:
            raise LayoutError(f"{name}.{side}", f"expected an integer in 1..{MAX_MASK_SIDE}, got {value!r}"[:200])
    if not isinstance(runs, list) or not all(_is_int(r) and r >= 0 for r in runs):
        raise LayoutError(f"{name}.runs", "expected a list of non-negative integers (run lengths)")
    if sum(runs) != width * height:
        raise LayoutError(f"{name}.runs", f"the runs cover {sum(runs)} cells, but the grid has "
                                          f"{width} x {height} = {width * height}")
    if not any(runs[1::2]):
        raise LayoutError(name, "the mask is empty (no cell inside)")
    return {"width": width, "height": height, "runs": list(runs)}


def _numbers(value: Any, length: int, name: str) -> list[float]:
    if not isinstance(value, (list, tuple)) or len(value) != length \
            or not all(_is_number(v) for v in value):
        raise LayoutError(name, f"expected {length} finite numbers, got {value!r}"[:200])
    return [float(v) for v in value]


def check_box(value: Any, name: str) -> list[float]:
    """A normalised `[x0, y0, x1, y1]` box (y down) clamped to [0, 1]; `name` is the field an error names."""
    box = _numbers(value, 4, name)
    if min(box) < -BOX_TOLERANCE or max(box) > 1 + BOX_TOLERANCE:
        raise LayoutError(name, f"coordinates are fractions of the width and height and must lie in [0, 1], "
                                f"got {_fmt(box)}")
    x0, y0, x1, y1 = (min(max(v, 0.0), 1.0) for v in box)
    if x0 >= x1:
        raise LayoutError(name, f"need x0 < x1 (left edge before right edge), got {_fmt(box)}")
    if y0 >= y1:
        raise LayoutError(name, f"need y0 < y1 (top edge before bottom edge, y points down), got {_fmt(box)}")
    return [x0, y0, x1, y1]


def _fmt(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in values) + "]"


def _relations(value: Any, count: int) -> list[tuple[int, str, int]]:
    if not isinstance(value, list):
        raise LayoutError("relations", "expected a list")
    if len(value) > MAX_RELATIONS:
        raise LayoutError("relations", f"{len(value)} relations, at most {MAX_RELATIONS}")
    relations = []
    for k, item in enumerate(value):
        name = f"relations[{k}]"
        if not isinstance(item, (list, tuple)) or len(item) != 3:
            raise LayoutError(name, "expected [i, relation, j]")
        i, rel, j = item
        for index, part in ((i, f"{name}[0]"), (j, f"{name}[2]")):
            if not _is_int(index) or not 0 <= index < count:
                raise LayoutError(part, f"object index {index!r} out of range 0..{count - 1}")
        if rel not in RELATIONS:
            raise LayoutError(f"{name}[1]", f"unknown relation {rel!r}")
        if i == j:
            raise LayoutError(name, "an object cannot relate to itself")
        relations.append((i, rel, j))
    return relations
