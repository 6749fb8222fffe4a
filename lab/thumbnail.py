"""The thumbnails of the lab extension's example workflows (`example_workflows/lab_shapes` on the UNet lab model,
`lab_shapes_dit` on the DiT lab model): each workflow's own two outputs, vanilla above SpaceTime.

usage: eval "$(tools/provision.sh)"; $SPACETIME_HOST_PYTHON -m lab.thumbnail [NAME ...]
       (writes lab/example_workflows/NAME.jpg, by default for every example there; runs each workflow in ComfyUI
       in-process)
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from PIL import Image, ImageDraw

from .experiment import boot_host

EXAMPLES = Path(__file__).resolve().parent / "example_workflows"
CELL = 128


def example_names() -> list[str]:
    """The lab extension's example workflows (ComfyUI lists each .json of example_workflows/ as a template)."""
    return sorted(p.stem for p in EXAMPLES.glob("*.json"))


def example_prompt(host, name: str) -> tuple[dict, dict[str, str]]:
    """The workflow as an API prompt whose SaveImage nodes preview instead of writing into the user's output
    folder, and the ids of those two nodes by role ("vanilla", "spacetime")."""
    from support.workflow import specs_from_classes, ui_to_api

    workflow = json.loads((EXAMPLES / f"{name}.json").read_text())
    prompt = ui_to_api(workflow, specs_from_classes(host.nodes.NODE_CLASS_MAPPINGS))
    outputs: dict[str, str] = {}
    for node_id, node in prompt.items():
        if node["class_type"] == "SaveImage":
            outputs["vanilla" if "vanilla" in node["inputs"].pop("filename_prefix") else "spacetime"] = node_id
            node["class_type"] = "PreviewImage"
    return prompt, outputs


def main(names: list[str]) -> None:
    import torch

    torch.set_num_threads(1)
    host = boot_host()
    for name in names or example_names():
        write_thumbnail(host, name)


def write_thumbnail(host, name: str) -> None:
    """Runs the example at its own settings and writes NAME.jpg: four vanilla images above the four SpaceTime
    images of the same seeds, what a user sees when the template runs."""
    import folder_paths

    prompt, rows = example_prompt(host, name)
    run = host.run(prompt)
    if not run.success:
        raise SystemExit(f"{name} failed: {run.error_text()[:2000]}")
    temp = Path(folder_paths.get_temp_directory())
    caption = next(n["inputs"]["value"] for n in prompt.values() if n["class_type"] == "PrimitiveStringMultiline")
    sheet = Image.new("RGB", (CELL * 4, 24 + 2 * CELL), "white")
    ImageDraw.Draw(sheet).text((4, 6), f"{caption}  (top: vanilla, bottom: SpaceTime)", fill="black")
    for r, key in enumerate(["vanilla", "spacetime"]):
        for c, image in enumerate(run.outputs[rows[key]]["images"][:4]):
            tile = Image.open(temp / image["subfolder"] / image["filename"]).convert("RGB")
            sheet.paste(tile.resize((CELL, CELL)), (c * CELL, 24 + r * CELL))
    out = EXAMPLES / f"{name}.jpg"
    sheet.save(out, quality=90)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
