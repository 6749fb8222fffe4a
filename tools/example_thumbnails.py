"""Thumbnails for the example workflows: a card with the template's title, one line on what it does, and the
layout the pack puts on that prompt (what Predict Layout's preview shows), in a size the Templates dialog shows
readably. ComfyUI lists a pack's templates by file name only, so the file name is the title.

usage (the host's Python, from the repository root): python tools/example_thumbnails.py [FILE.json ...]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from layout_model import predict
from layout_model.render import render_preview

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "example_workflows"
CARD = 640
MARGIN = 24
BACKGROUND = (24, 26, 32)
TEXT = (235, 235, 240)
DIM = (160, 165, 180)

# what each example does, in one line (the card's second line)
DESCRIPTIONS = {
    "SpaceTime 1 - objects in their boxes, SD1.5": "Predict Layout boxes each object; the patch keeps it there.",
    "SpaceTime 2 - patched and vanilla, same seed, SD1.5": "The same seed with and without the patch, side by side.",
    "SpaceTime 3 - optimized step weights, SD1.5": "Optimize Step Weights tunes the weights for this prompt and seed.",
    "SpaceTime 4 - objects in their boxes, SDXL": "The same graph on SDXL at 1024 px.",
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


def card(title: str, description: str, workflow: dict) -> Image.Image:
    text, width, height = prompt_of(workflow)
    image = Image.new("RGB", (CARD, CARD), BACKGROUND)
    draw = ImageDraw.Draw(image)
    name, _, rest = title.partition(" - ")
    draw.text((MARGIN, MARGIN), rest or name, fill=TEXT, font=_font(30))
    draw.text((MARGIN, MARGIN + 44), description, fill=DIM, font=_font(18))
    layout = predict(text, width=width, height=height)
    scale = 448 / max(width, height)
    preview = render_preview(layout, round(width * scale), round(height * scale))
    left, top = (CARD - preview.width) // 2, MARGIN + 92
    image.paste(preview, (left, top))
    draw.rectangle([left - 1, top - 1, left + preview.width, top + preview.height], outline=DIM, width=1)
    draw.text((MARGIN, top + preview.height + 14), f'"{text}"', fill=DIM, font=_font(17))
    return image


def main(paths: list[str]) -> int:
    files = [Path(p) for p in paths] or sorted(EXAMPLES.glob("SpaceTime *.json"))
    for path in files:
        title = path.stem
        if title not in DESCRIPTIONS:
            print(f"{path.name}: no description in tools/example_thumbnails.py", file=sys.stderr)
            return 2
        image = card(title, DESCRIPTIONS[title], json.loads(path.read_text()))
        image.save(path.with_suffix(".jpg"), quality=88)
        print(path.with_suffix(".jpg"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
