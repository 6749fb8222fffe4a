"""Boxes from elsewhere into a layout, and a layout into ComfyUI's own boxes, through the real executor.

On a 2026 core (0.33) with the lab model: boxes drawn on the core canvas (Create Bounding Boxes) reach the patch,
and the layout goes back out as BOUNDING_BOX into Draw BBoxes and into the canvas, whose boxes give the same
layout again (the two paths sample the same image). On every core: KJNodes' BBOX and a MASK batch make layouts.
The conversions themselves are unit tests (tests/unit/test_layout_regions.py).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lab.graphs import CHECKPOINT, LOADER

SIZE = 256
CANVAS = [{"x": 32, "y": 64, "width": 96, "height": 96, "metadata": {"type": "obj", "desc": "a red circle"}},
          {"x": 160, "y": 64, "width": 64, "height": 128, "metadata": {"type": "obj", "desc": "a blue square"}}]
PROMPT = "a red circle to the left of a blue square"


@pytest.fixture(scope="module")
def lab_host(comfy):
    from lab.experiment import boot_host

    torch.set_num_threads(1)
    return boot_host()


def _core_has(comfy, node_id: str) -> bool:
    return node_id in comfy.nodes.NODE_CLASS_MAPPINGS


def test_box_nodes_on_this_core(comfy):
    from comfy_api.latest import io

    assert _core_has(comfy, "SpaceTimeBoxesToLayout") and _core_has(comfy, "SpaceTimeMasksToLayout")
    has_core_boxes = hasattr(io, "BoundingBox")
    assert _core_has(comfy, "SpaceTimeLayoutToBoundingBoxes") is has_core_boxes
    accepted = comfy.node_class("SpaceTimeBoxesToLayout").GET_SCHEMA().inputs[0].io_types
    names = {t.io_type for t in accepted}
    assert "BBOX" in names and ("BOUNDING_BOX" in names) is has_core_boxes


def _sample(prefix: str, layout_ref: list) -> dict:
    """Lab model: the layout -> Region Prompt Encode -> patch -> KSampler -> preview, nodes named prefix + n."""
    p = prefix
    return {
        f"{p}enc": {"class_type": "SpaceTimeRegionPromptEncode",
                    "inputs": {"clip": ["ckpt", 1], "layout": layout_ref, "template": "{phrase}"}},
        f"{p}patch": {"class_type": "SpaceTimeAttentionPatch",
                      "inputs": {"model": ["ckpt", 0], "regions": [f"{p}enc", 0], "mode": "guidance",
                                 "mask_shape": "box", "radius": 0.2, "feather": 0.0, "strength": 1.0,
                                 "start_percent": 0.0, "end_percent": 1.0}},
        f"{p}ks": {"class_type": "KSampler",
                   "inputs": {"model": [f"{p}patch", 0], "seed": 3, "steps": 4, "cfg": 4.0, "sampler_name": "euler",
                              "scheduler": "normal", "positive": ["pos", 0], "negative": ["neg", 0],
                              "latent_image": ["latent", 0], "denoise": 1.0}},
        f"{p}dec": {"class_type": "VAEDecode", "inputs": {"samples": [f"{p}ks", 0], "vae": ["ckpt", 2]}},
        f"{p}out": {"class_type": "PreviewImage", "inputs": {"images": [f"{p}dec", 0]}},
    }


def _drawn(layout_ref: list, width: int, height: int) -> dict:
    """Layout to Masks -> Mask to Image -> preview "out": a layout's boxes as an image (size 0: the layout's)."""
    return {
        "drawn": {"class_type": "SpaceTimeLayoutToMasks",
                  "inputs": {"layout": layout_ref, "width": width, "height": height, "shape": "box", "radius": 0.2,
                             "feather": 0.0}},
        "img": {"class_type": "MaskToImage", "inputs": {"mask": ["drawn", 0]}},
        "out": {"class_type": "PreviewImage", "inputs": {"images": ["img", 0]}},
    }


def _image(run, node: str) -> np.ndarray:
    """The first image a preview node of `run` saved."""
    import folder_paths
    from PIL import Image

    f = run.outputs[node]["images"][0]
    return np.asarray(Image.open(Path(folder_paths.get_temp_directory()) / f["subfolder"] / f["filename"]))


def test_core_canvas_boxes_reach_the_patch_and_a_layout_round_trips_through_the_canvas(lab_host):
    if not _core_has(lab_host, "CreateBoundingBoxes"):
        pytest.skip("this core has no Create Bounding Boxes (ComfyUI 0.3.75)")
    to_layout = {"width": SIZE, "height": SIZE, "number_format": "xywh", "names": "", "text": PROMPT}
    prompt = {
        "ckpt": {"class_type": LOADER, "inputs": {"ckpt_name": CHECKPOINT}},
        "pos": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["ckpt", 1], "text": PROMPT}},
        "neg": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["ckpt", 1], "text": ""}},
        "latent": {"class_type": "EmptyLatentImage", "inputs": {"width": SIZE, "height": SIZE, "batch_size": 1}},
        # the user's drawing on the core canvas (list widget values travel as {"__value__": ...} in API prompts);
        # its elements carry each box's description
        "canvas": {"class_type": "CreateBoundingBoxes",
                   "inputs": {"width": SIZE, "height": SIZE, "editor_state": {"__value__": CANVAS}}},
        "drawn": {"class_type": "SpaceTimeBoxesToLayout", "inputs": {"bboxes": ["canvas", 2], **to_layout}},
        **_sample("a_", ["drawn", 0]),
        # the layout back out as BOUNDING_BOX: drawn by a core node, and into the canvas, and back again
        "boxes": {"class_type": "SpaceTimeLayoutToBoundingBoxes", "inputs": {"layout": ["drawn", 0]}},
        "draw": {"class_type": "DrawBBoxes", "inputs": {"bboxes": ["boxes", 0]}},
        "drawn_out": {"class_type": "PreviewImage", "inputs": {"images": ["draw", 0]}},
        "canvas2": {"class_type": "CreateBoundingBoxes",
                    "inputs": {"bboxes": ["boxes", 0], "width": SIZE, "height": SIZE,
                               "editor_state": {"__value__": []}}},
        "again": {"class_type": "SpaceTimeBoxesToLayout", "inputs": {"bboxes": ["canvas2", 2], **to_layout}},
        **_sample("b_", ["again", 0]),
        "v_ks": {"class_type": "KSampler",
                 "inputs": {"model": ["ckpt", 0], "seed": 3, "steps": 4, "cfg": 4.0, "sampler_name": "euler",
                            "scheduler": "normal", "positive": ["pos", 0], "negative": ["neg", 0],
                            "latent_image": ["latent", 0], "denoise": 1.0}},
        "v_dec": {"class_type": "VAEDecode", "inputs": {"samples": ["v_ks", 0], "vae": ["ckpt", 2]}},
        "v_out": {"class_type": "PreviewImage", "inputs": {"images": ["v_dec", 0]}},
    }
    run = lab_host.run(prompt)
    assert run.success, run.error_text()
    patched, round_trip, vanilla = (_image(run, n) for n in ("a_out", "b_out", "v_out"))
    assert np.array_equal(patched, round_trip), "the layout changed on its way through the canvas"
    assert not np.array_equal(patched, vanilla), "the canvas boxes did not reach the patch"
    assert [b["metadata"]["desc"] for b in run.outputs["canvas2"]["input_bboxes"]] == ["a red circle",
                                                                                     "a blue square"]
    assert _image(run, "drawn_out").any(), "Draw BBoxes drew nothing"


def test_kjnodes_bbox_and_masks_become_layouts_in_the_executor(comfy):
    """A MASK batch into a layout through the executor (drawn back by Layout to Masks at the masks' size), and
    KJNodes' BBOX (four numbers per box) in both of its formats."""
    prompt = {
        "solid": {"class_type": "SolidMask", "inputs": {"value": 1.0, "width": 128, "height": 64}},
        "masks_layout": {"class_type": "SpaceTimeMasksToLayout",
                         "inputs": {"masks": ["solid", 0], "names": "a wall", "text": "a wall"}},
        **_drawn(["masks_layout", 0], 0, 0),
    }
    run = comfy.run(prompt)
    assert run.success, run.error_text()
    drawn = _image(run, "out")
    assert drawn.shape[:2] == (64, 128) and drawn.min() == 255, "the mask's box is the whole mask"
    node = comfy.node_class("SpaceTimeBoxesToLayout")
    with torch.inference_mode():
        layout = node.execute([(128, 0, 256, 256)], 512, 512, "xywh", "a red cat", "").result[0]
        corners = node.execute([(128, 0, 384, 256)], 512, 512, "xyxy", "", "").result[0]
    assert layout.objects[0].box == corners.objects[0].box == [0.25, 0.0, 0.75, 0.5]
    assert layout.objects[0].phrase == "a red cat" and corners.objects[0].phrase == "object 1"


def test_bad_boxes_and_masks_name_the_node_and_the_field(comfy):
    with pytest.raises(ValueError, match=r"^Boxes to Layout: bboxes\[0\]: expected numbers x, y, width, height"):
        comfy.node_class("SpaceTimeBoxesToLayout").execute([{"x": "left"}], 512, 512)
    with pytest.raises(ValueError, match=r"^Masks to Layout: masks: all 2 masks are empty"):
        comfy.node_class("SpaceTimeMasksToLayout").execute(torch.zeros(2, 64, 64))


def test_a_layout_an_llm_wrote_reaches_region_prompt_encode(comfy):
    """LMD's answer as a model gives it, through the executor (Layout to Masks draws it, the cat's box on the
    left); unreadable text is an error naming the node and the field."""
    answer = ("Objects: [('a red cat', [0, 128, 256, 256]), ('a blue dog', [256, 256, 256, 256])]\n"
              "Background prompt: a sunny garden")
    prompt = {
        "llm": {"class_type": "SpaceTimeLayoutFromText",
                "inputs": {"text": answer, "width": 512, "height": 512, "box_format": "auto"}},
        **_drawn(["llm", 0], 64, 64),
    }
    run = comfy.run(prompt)
    assert run.success, run.error_text()
    assert len(run.outputs["out"]["images"]) == 2
    cat = _image(run, "out")                       # the cat's mask: the left half, rows 16-47 of 64
    assert cat.shape[:2] == (64, 64) and cat[32, 10].min() == 255 and cat[32, 50].max() == 0
    node = comfy.node_class("SpaceTimeLayoutFromText")
    with torch.inference_mode():
        layout, ideogram = node.execute(answer, 512, 512, "auto").result
    assert [o.phrase for o in layout.objects] == ["a red cat", "a blue dog"] and layout.text == "a sunny garden"
    assert json.loads(ideogram)["elements"][0] == {"type": "obj", "bbox": [250, 0, 750, 500], "desc": "a red cat"}
    with pytest.raises(ValueError, match=r"^Layout from LLM Text: text: found no layout"):
        node.execute("I cannot draw boxes.", 512, 512, "auto")


def _l_mask_prompt() -> dict:
    """Core mask nodes that draw an L (a 16 x 64 bar and a 48 x 16 foot) on a 128 x 128 canvas."""
    return {
        "canvas": {"class_type": "SolidMask", "inputs": {"value": 0.0, "width": 128, "height": 128}},
        "bar": {"class_type": "SolidMask", "inputs": {"value": 1.0, "width": 16, "height": 64}},
        "foot": {"class_type": "SolidMask", "inputs": {"value": 1.0, "width": 48, "height": 16}},
        "with_bar": {"class_type": "MaskComposite", "inputs": {"destination": ["canvas", 0], "source": ["bar", 0],
                                                               "x": 16, "y": 16, "operation": "add"}},
        "l_shape": {"class_type": "MaskComposite", "inputs": {"destination": ["with_bar", 0], "source": ["foot", 0],
                                                              "x": 16, "y": 64, "operation": "add"}},
    }


def _editor_node(layout_ref: list, layout_json: str = "") -> dict:
    return {"class_type": "SpaceTimePredictLayout",
            "inputs": {"text": "", "width": 128, "height": 128, "seed": 0, "layout_json": layout_json,
                       "layout": layout_ref}}


def test_imported_layouts_reach_the_box_editor_node_and_its_edit_wins(comfy):
    """Masks to Layout and Layout from LLM Text into Predict Layout's `layout` input: the node hands the imported
    layout (masks kept) to its box editor (the `spacetime_layout` UI message) and downstream; Layout to Masks with
    shape "mask" draws the L itself, not its box; an edit saved in layout_json wins, and its moved box carries
    the mask along."""
    drawn = _drawn(["edit", 0], 128, 128)
    drawn["drawn"]["inputs"]["shape"] = "mask"
    prompt = {**_l_mask_prompt(),
              "import": {"class_type": "SpaceTimeMasksToLayout",
                         "inputs": {"masks": ["l_shape", 0], "names": "a red cat", "text": "a red cat"}},
              "edit": _editor_node(["import", 0]), **drawn}
    run = comfy.run(prompt)
    assert run.success, run.error_text()
    shown = run.outputs["edit"]["spacetime_layout"][0]
    assert shown["objects"][0]["phrase"] == "a red cat" and shown["objects"][0]["box"] == [0.125, 0.125, 0.5, 0.625]
    assert "runs" in shown["objects"][0]["mask"]
    image = _image(run, "out")[..., 0] > 127
    assert image[20, 20] and image[70, 60] and not image[30, 50], "the L itself, its empty corner left out"
    assert image.sum() == 16 * 64 + 32 * 16

    moved = json.loads(json.dumps(shown))
    moved["objects"][0]["box"] = [0.5, 0.125, 0.875, 0.625]     # the editor's drag: 48 px to the right
    prompt["edit"] = _editor_node(["import", 0], json.dumps(moved))
    run = comfy.run(prompt)
    assert run.success, run.error_text()
    moved_image = _image(run, "out")[..., 0] > 127
    assert np.array_equal(moved_image[:, 48:], image[:, :80]) and not moved_image[:, :48].any()

    answer = "```json\n[{\"label\": \"a blue dog\", \"box\": [0.5, 0.25, 1.0, 0.75]}]\n```"
    prompt = {"llm": {"class_type": "SpaceTimeLayoutFromText",
                      "inputs": {"text": answer, "width": 128, "height": 128, "box_format": "auto"}},
              "edit": _editor_node(["llm", 0]), **_drawn(["edit", 0], 128, 128)}
    run = comfy.run(prompt)
    assert run.success, run.error_text()
    shown = run.outputs["edit"]["spacetime_layout"][0]
    assert [(o["phrase"], o["box"]) for o in shown["objects"]] == [("a blue dog", [0.5, 0.25, 1.0, 0.75])]
