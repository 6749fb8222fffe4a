"""Thumbnails for the example workflows: a card with the layout the pack puts on the template's prompt (what
Predict Layout's preview shows) and one line on what the template does, readable at the Templates dialog's card
size. ComfyUI lists a pack's templates by file name only, so the file name is the title.

usage (the host's Python, from the repository root): python tools/example_thumbnails.py [FILE.json ...]
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from layout_model import Layout, predict
from layout_model.render import PALETTE, render_preview

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "example_workflows"
CARD = 640
MARGIN = 24
BACKGROUND = (24, 26, 32)
TEXT = (235, 235, 240)
DIM = (160, 165, 180)

# what each example does, in one line (the card's second line)
DESCRIPTIONS = {
    "Layout-guided SD1.5": "Each object of the prompt drawn in its own box.",
    "Patched vs vanilla SD1.5": "The same seed with and without the patch.",
    "Optimized weights SD1.5": "Step weights tuned for this prompt and seed.",
    "Layout-guided SDXL": "The same graph on SDXL at 1024 px.",
    "Layout-guided Flux.1-dev": "Flux's joint attention, guidance 4->0 step weights, cfg 1.",
    "Layout-guided Flux.2-dev": "Flux.2 dev: guidance 4->0 step weights, FluxGuidance 4, cfg 1.",
    "Layout-guided Flux.2-klein": "Flux.2 Klein 4B: guidance 4->0, 4 steps; needs ComfyUI 0.33.",
    "Layout-guided Qwen-Image": "Qwen-Image, guidance 4->0 step weights, 20 steps at cfg 4.",
    "Layout-guided Z-Image": "Z-Image-Turbo, guidance 4->0, 8 steps; needs ComfyUI 0.33.",
    "Layout-guided Anima": "Anima's cross-attention DiT, 30 steps; needs ComfyUI 0.33.",
    "Layout-guided Wan 2.1 moving box": "Wan 2.1 video: the box moves from Start to End.",
}


def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def prompt_of(workflow: dict) -> tuple[str, int, int]:
    """The text and size Predict Layout gets: the linked Prompt node's text, else its own widget."""
    nodes = {n["id"]: n for n in workflow["nodes"]}
    layout_node = next(n for n in workflow["nodes"] if n["type"] == "SpaceTimePredictLayout")
    text, width, height = layout_node["widgets_values"][:3]
    for slot in layout_node.get("inputs", []):
        if slot["name"] == "text" and slot.get("link") is not None:
            link = next(link for link in workflow["links"] if link[0] == slot["link"])
            text = nodes[link[1]]["widgets_values"][0]
    return text, int(width), int(height)


def layout_of(workflow: dict, text: str, width: int, height: int) -> Layout:
    """What Predict Layout uses: the box editor's edit (its layout_json widget, after the seed's control value)
    when the template stores one, else the prediction."""
    layout_node = next(n for n in workflow["nodes"] if n["type"] == "SpaceTimePredictLayout")
    values = layout_node["widgets_values"]
    edited = values[5] if len(values) > 5 else ""
    return Layout.from_json(edited) if edited else predict(text, width=width, height=height)


def draw_motion(preview: Image.Image, layout: Layout) -> None:
    """The End keyframe as the box editor draws it: each moving object's end box dashed, an arrow from its Start
    box's centre to its end box's."""
    draw = ImageDraw.Draw(preview)
    w, h = preview.width - 1, preview.height - 1
    for k, obj in enumerate(layout.objects):
        if obj.end_box is None:
            continue
        colour = PALETTE[k % len(PALETTE)]
        x0, y0, x1, y1 = (round(v * s) for v, s in zip(obj.end_box, (w, h, w, h)))
        for edge in ((x0, y0, x1, y0), (x1, y0, x1, y1), (x1, y1, x0, y1), (x0, y1, x0, y0)):
            _dashed(draw, edge, colour)
        start = ((obj.box[0] + obj.box[2]) / 2 * w, (obj.box[1] + obj.box[3]) / 2 * h)
        end = ((x0 + x1) / 2, (y0 + y1) / 2)
        draw.line([start, end], fill=TEXT, width=2)
        angle = math.atan2(end[1] - start[1], end[0] - start[0])
        draw.polygon([end, *((end[0] + 14 * math.cos(angle + turn), end[1] + 14 * math.sin(angle + turn))
                             for turn in (2.7, -2.7))], fill=TEXT)


def _dashed(draw: ImageDraw.ImageDraw, edge: tuple[int, int, int, int], colour: tuple[int, int, int]) -> None:
    x0, y0, x1, y1 = edge
    length = max(abs(x1 - x0), abs(y1 - y0), 1)
    for a in range(0, length, 12):
        b = min(a + 7, length)
        draw.line([(x0 + (x1 - x0) * a / length, y0 + (y1 - y0) * a / length),
                   (x0 + (x1 - x0) * b / length, y0 + (y1 - y0) * b / length)], fill=colour, width=2)


def card(description: str, workflow: dict) -> Image.Image:
    """The layout on top (the Templates dialog puts badges over the top-left corner), then one line on what
    the template does and the prompt; the file name above the card is the title."""
    text, width, height = prompt_of(workflow)
    image = Image.new("RGB", (CARD, CARD), BACKGROUND)
    draw = ImageDraw.Draw(image)
    scale = 440 / max(width, height)
    layout = layout_of(workflow, text, width, height)
    preview = render_preview(layout, round(width * scale), round(height * scale))
    draw_motion(preview, layout)
    left, top = (CARD - preview.width) // 2, 64
    image.paste(preview, (left, top))
    draw.rectangle([left - 1, top - 1, left + preview.width, top + preview.height], outline=DIM, width=1)
    below = top + preview.height + 22
    draw.text((MARGIN, below), description, fill=TEXT, font=_font(22))
    draw.text((MARGIN, below + 36), f'"{text}"', fill=DIM, font=_font(18))
    return image


def main(paths: list[str]) -> int:
    files = [Path(p) for p in paths] or sorted(EXAMPLES / f"{name}.json" for name in DESCRIPTIONS)
    for path in files:
        title = path.stem
        if title not in DESCRIPTIONS:
            print(f"{path.name}: no description in tools/example_thumbnails.py", file=sys.stderr)
            return 2
        image = card(DESCRIPTIONS[title], json.loads(path.read_text()))
        image.save(path.with_suffix(".jpg"), quality=88)
        print(path.with_suffix(".jpg"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
