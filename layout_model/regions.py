"""A layout's objects as regions: the geometry and the local description of each object.

Every consumer of a layout reads the same thing from it (Region Prompt Encode, Layout to Masks, Layout to
Area Conditioning, Layout to GLIGEN), so the boxes are checked and the texts filled here, once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .object_masks import decode_mask
from .schema import Layout, LayoutError, LayoutObject, box_center, check_box, check_text

DEFAULT_TEMPLATE = "a photo of {phrase}"  # the paper's local description


@dataclass(frozen=True)
class Region:
    """One object as a region.

    box:    normalised `[x0, y0, x1, y1]` (y down), checked and clamped to [0, 1].
    center: the box centre (the paper's disc centre).
    name:   a short name (noun, else category, else phrase) for plots and logs.
    text:   the local description to encode.
    mask:   the object's shape as a boolean grid spanning the box, or None (the whole box).
    end_box: where the box is at a video's last frame (checked like `box`), or None: it does not move.
    """

    box: list[float]
    center: list[float]
    name: str
    text: str
    mask: np.ndarray | None = None
    end_box: list[float] | None = None


def local_description(obj: LayoutObject, template: str = DEFAULT_TEMPLATE) -> str:
    """The object's own prompt (set in the box editor) if it has one, else the template filled in.

    Placeholders: `{phrase}`, `{noun}` (falls back to the phrase) and `{category}` (falls back to the noun);
    an empty template means the default.
    """
    own = (obj.prompt or "").strip()
    if own:
        return own
    noun = obj.noun or obj.phrase
    text = template or DEFAULT_TEMPLATE
    for key, value in (("phrase", obj.phrase), ("noun", noun), ("category", obj.category or noun)):
        text = text.replace("{" + key + "}", value)
    return text.strip()


def layout_regions(layout: Layout, template: str = DEFAULT_TEMPLATE, overrides: str = "",
                   background: str = "") -> list[Region]:
    """One `Region` per object, in layout order, then the background's (the whole image; its consumers give it
    what the other regions leave) when `background` has text.

    `overrides` holds one line per object (blank keeps the object's own prompt or the template), so a
    user can replace a description without editing the layout. Raises `LayoutError` naming the field
    (`overrides`, `layout.objects[i].box`, `layout.objects[i].end_box`).
    """
    lines = _override_lines(overrides, len(layout.objects))
    regions = []
    for i, obj in enumerate(layout.objects):
        box = check_box(obj.box, f"layout.objects[{i}].box")
        text = lines[i] if i < len(lines) else ""
        end_box = None if obj.end_box is None else check_box(obj.end_box, f"layout.objects[{i}].end_box")
        regions.append(Region(box=box, center=box_center(box), name=obj.noun or obj.category or obj.phrase,
                              text=text or local_description(obj, template),
                              mask=None if obj.mask is None else decode_mask(obj.mask), end_box=end_box))
    text = (background or "").strip()
    if text:
        check_text(text, "background")
        regions.append(Region(box=[0.0, 0.0, 1.0, 1.0], center=[0.5, 0.5], name="background", text=text))
    return regions


def end_boxes(regions: list[Region]) -> list[list[float]] | None:
    """Every region's box at a video's last frame, or None when no region moves (then every frame gets the
    boxes). A region without an end box, the background's among them, stays where it is."""
    if all(r.end_box is None for r in regions):
        return None
    return [r.box if r.end_box is None else r.end_box for r in regions]


def _override_lines(overrides: str, count: int) -> list[str]:
    lines = [line.strip() for line in (overrides or "").splitlines()]
    if any(lines) and len(lines) > count:
        raise LayoutError("overrides", f"{len(lines)} lines but the layout has {count} objects; give one line "
                                       "per object (blank = template)")
    return lines


def gligen_box(box: list[float], width: int, height: int) -> tuple[int, int, int, int]:
    """`(w, h, x, y)` in pixels as GLIGENTextBoxApply takes them: multiples of 8 (its latent grid), each side
    at least 8 so that a thin box still reaches the model."""
    x0, y0, x1, y1 = box
    w = max(8, round((x1 - x0) * width / 8) * 8)
    h = max(8, round((y1 - y0) * height / 8) * 8)
    return w, h, round(x0 * width / 8) * 8, round(y0 * height / 8) * 8
