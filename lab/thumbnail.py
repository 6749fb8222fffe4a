"""The thumbnail of the lab extension's `example_workflows/lab_shapes`: the workflow's own two outputs, vanilla
above SpaceTime.

usage: eval "$(tools/provision.sh)"; $SPACETIME_HOST_PYTHON -m lab.thumbnail
       (writes lab/example_workflows/lab_shapes.jpg; runs the workflow in ComfyUI in-process)
"""
from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw

from .experiment import boot_host

WORKFLOW = Path(__file__).resolve().parent / "example_workflows" / "lab_shapes.json"
CELL = 128


def example_prompt(host) -> tuple[dict, dict[str, str]]:
    """The workflow as an API prompt whose SaveImage nodes preview instead of writing into the user's output
    folder, and the ids of those two nodes by role ("vanilla", "spacetime")."""
    from support.workflow import specs_from_classes, ui_to_api

    prompt = ui_to_api(json.loads(WORKFLOW.read_text()), specs_from_classes(host.nodes.NODE_CLASS_MAPPINGS))
    outputs: dict[str, str] = {}
    for node_id, node in prompt.items():
        if node["class_type"] == "SaveImage":
            outputs["vanilla" if "vanilla" in node["inputs"].pop("filename_prefix") else "spacetime"] = node_id
            node["class_type"] = "PreviewImage"
    return prompt, outputs


def main() -> None:
    import torch

    torch.set_num_threads(1)
    host = boot_host()
    import folder_paths

    prompt, rows = example_prompt(host)
    run = host.run(prompt)
    if not run.success:
        raise SystemExit(f"lab_shapes failed: {run.error_text()[:2000]}")
    temp = Path(folder_paths.get_temp_directory())
    caption = next(n["inputs"]["value"] for n in prompt.values() if n["class_type"] == "PrimitiveStringMultiline")
    sheet = Image.new("RGB", (CELL * 4, 24 + 2 * CELL), "white")
    ImageDraw.Draw(sheet).text((4, 6), f"{caption}  (top: vanilla, bottom: SpaceTime)", fill="black")
    for r, key in enumerate(["vanilla", "spacetime"]):
        for c, image in enumerate(run.outputs[rows[key]]["images"][:4]):
            tile = Image.open(temp / image["subfolder"] / image["filename"]).convert("RGB")
            sheet.paste(tile.resize((CELL, CELL)), (c * CELL, 24 + r * CELL))
    out = WORKFLOW.with_suffix(".jpg")
    sheet.save(out, quality=90)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
