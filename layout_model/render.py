"""Preview image of a layout: boxes (and the silhouettes of objects with a mask), labels and relation arrows on a
dark canvas. An object that moves over a video (`end_box`) also gets its end box, faint and dashed in its colour,
and an arrow in its colour from the start box's centre to the end box's centre, as the box editor draws them
(js/spacetime/layout_canvas.js); objects without one are drawn exactly as before.

Pillow is imported inside the function so that the package imports without it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .object_masks import decode_mask
from .schema import Layout, check_side

if TYPE_CHECKING:
    from PIL import Image

BACKGROUND = (24, 26, 32)
ARROW = (200, 200, 210)
PALETTE = ((230, 25, 75), (60, 180, 75), (255, 225, 25), (67, 99, 216), (245, 130, 49),
           (145, 30, 180), (66, 212, 244), (240, 50, 230), (191, 239, 69), (250, 190, 212),
           (70, 153, 144), (220, 190, 255), (154, 99, 36), (255, 250, 200), (128, 0, 0),
           (170, 255, 195))
LABEL_CHARS = 40
GHOST_FILL, GHOST_LINE, MOTION_ARROW = 18, 191, 242  # alphas of the editor's 0.07 tint, 0.75 dashes, 0.95 arrow


def render_preview(layout: Layout, width: int | None = None,
                   height: int | None = None) -> "Image.Image":
    """Draw the layout at `width` x `height` (default: the layout's own size), RGB."""
    from PIL import Image, ImageDraw, ImageFont

    width = layout.width if width is None else width
    height = layout.height if height is None else height
    check_side(width, "width")
    check_side(height, "height")
    image = Image.new("RGBA", (width, height), BACKGROUND + (255,))
    fills = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw_fill = ImageDraw.Draw(fills)
    try:
        font = ImageFont.load_default(size=max(10, min(width, height) // 40))
    except TypeError:  # Pillow < 10.1 has no sized default font
        font = ImageFont.load_default()
    line = max(2, min(width, height) // 256)
    rects = [_pixels(obj.box, width, height) for obj in layout.objects]
    for k, rect in enumerate(rects):
        draw_fill.rectangle(rect, fill=PALETTE[k % len(PALETTE)] + (48,))
    for k, (obj, rect) in enumerate(zip(layout.objects, rects)):
        if obj.mask is not None:
            _silhouette(fills, decode_mask(obj.mask), rect, PALETTE[k % len(PALETTE)])
    image = Image.alpha_composite(image, fills)
    for k, (obj, rect) in enumerate(zip(layout.objects, rects)):
        if obj.end_box is not None:
            image = _motion(image, rect, _pixels(obj.end_box, width, height), PALETTE[k % len(PALETTE)], line)
    draw = ImageDraw.Draw(image)
    for k, rect in enumerate(rects):
        draw.rectangle(rect, outline=PALETTE[k % len(PALETTE)] + (255,), width=line)
    for i, rel, j in layout.relations:
        _arrow(draw, _centre(rects[i]), _centre(rects[j]), rel, font, line)
    for k, (obj, rect) in enumerate(zip(layout.objects, rects)):
        label = f"{k}: {obj.prompt or obj.phrase}"
        if len(label) > LABEL_CHARS:
            label = label[:LABEL_CHARS - 1] + "…"
        x, y = rect[0] + line + 2, rect[1] + line + 2
        box = draw.textbbox((x, y), label, font=font)
        draw.rectangle(box, fill=(0, 0, 0, 200))
        draw.text((x, y), label, fill=PALETTE[k % len(PALETTE)] + (255,), font=font)
    return image.convert("RGB")


def _silhouette(fills: "Image.Image", grid, rect: tuple[int, int, int, int], colour: tuple[int, int, int]) -> None:
    """Paints an object's mask grid, stretched over its box, more opaque than the box tint."""
    from PIL import Image

    size = (max(1, rect[2] - rect[0] + 1), max(1, rect[3] - rect[1] + 1))
    shape = Image.fromarray(grid.astype("uint8") * 255).resize(size, Image.NEAREST)
    fills.paste(Image.new("RGBA", size, colour + (150,)), rect[:2], shape)


def _motion(image: "Image.Image", start: tuple[int, int, int, int], end: tuple[int, int, int, int],
            colour: tuple[int, int, int], line: int) -> "Image.Image":
    """`image` with a moving object's end box (faint tint, dashed outline) and an arrow from its start centre to its
    end centre, on a layer of its own so that it blends over what lies beneath, under the solid start boxes."""
    from PIL import Image, ImageDraw

    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    draw.rectangle(end, fill=colour + (GHOST_FILL,))
    thin = max(1, line - 1)
    x0, y0, x1, y1 = end
    for a, b in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))):
        _dashed(draw, a, b, colour + (GHOST_LINE,), thin, dash=3 * line + 1, gap=2 * line + 1)
    tail, tip = _centre(start), _centre(end)
    length = math.dist(tail, tip)
    draw.line([tail, tip], fill=colour + (MOTION_ARROW,), width=line)
    if length > 4:
        angle, head = math.atan2(tip[1] - tail[1], tip[0] - tail[0]), min(6 + 4 * line, length / 2)
        barbs = [(tip[0] - head * math.cos(angle + turn), tip[1] - head * math.sin(angle + turn))
                 for turn in (-0.45, 0.45)]
        draw.polygon([tip] + barbs, fill=colour + (MOTION_ARROW,))
    return Image.alpha_composite(image, layer)


def _dashed(draw, start: tuple[float, float], end: tuple[float, float], fill: tuple[int, int, int, int],
            width: int, dash: int, gap: int) -> None:
    """A dashed line (Pillow draws only solid ones)."""
    length = math.dist(start, end)
    at = 0.0
    while at < length:
        stop = min(at + dash, length)
        draw.line([_along(start, end, at / length), _along(start, end, stop / length)], fill=fill, width=width)
        at = stop + gap


def _along(start: tuple[float, float], end: tuple[float, float], t: float) -> tuple[float, float]:
    return start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1])


def _pixels(box: list[float], width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    return (round(x0 * (width - 1)), round(y0 * (height - 1)),
            round(x1 * (width - 1)), round(y1 * (height - 1)))


def _centre(rect: tuple[int, int, int, int]) -> tuple[float, float]:
    return (rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2


def _arrow(draw, start: tuple[float, float], end: tuple[float, float], label: str, font,
           line: int) -> None:
    """A line from start to end with a head at end and the relation name at its middle."""
    draw.line([start, end], fill=ARROW + (255,), width=max(1, line - 1))
    angle = math.atan2(end[1] - start[1], end[0] - start[0])
    size = 6 + 2 * line
    for turn in (2.6, -2.6):
        tip = (end[0] + size * math.cos(angle + turn), end[1] + size * math.sin(angle + turn))
        draw.line([end, tip], fill=ARROW + (255,), width=max(1, line - 1))
    middle = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
    box = draw.textbbox(middle, label, font=font)
    draw.rectangle(box, fill=(0, 0, 0, 180))
    draw.text(middle, label, fill=ARROW + (255,), font=font)
