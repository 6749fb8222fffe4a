"""Predict Layout and the layout converters in the real host: executor runs, UI output, priorities, bad input."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from support.paths import artifacts_dir

TEXT = "a red cat to the left of a blue dog, a yellow kite above them"


def predict_prompt(text=TEXT, layout_json="", width=512, height=384):
    return {
        "1": {"class_type": "SpaceTimePredictLayout",
              "inputs": {"text": text, "width": width, "height": height, "seed": 0, "layout_json": layout_json}},
        "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 1]}},
        "3": {"class_type": "SpaceTimeLayoutToMasks",
              "inputs": {"layout": ["1", 0], "width": 0, "height": 0, "shape": "box", "radius": 0.2,
                         "feather": 0.0}},
        "4": {"class_type": "MaskToImage", "inputs": {"mask": ["3", 0]}},
        "5": {"class_type": "PreviewImage", "inputs": {"images": ["4", 0]}},
    }


def execute(comfy, node_id, **inputs):
    with torch.inference_mode():
        return comfy.node_class(node_id).execute(**inputs)


def test_predict_layout_runs_in_the_executor_and_shows_the_layout(comfy):
    run = comfy.run(predict_prompt())
    assert run.success, run.error_text()
    shown = run.outputs["1"]["spacetime_layout"][0]
    assert shown["schema"] == "spacetime-layout"
    nouns = [o["noun"] for o in shown["objects"]]
    assert nouns == ["cat", "dog", "kite"]
    cat, dog, kite = (o["center"] for o in shown["objects"])
    assert cat[0] < dog[0] and kite[1] < min(cat[1], dog[1])
    assert len(run.outputs["5"]["images"]) == 3          # one mask per object


def test_preview_image_has_the_canvas_aspect_and_is_drawn(comfy):
    out = execute(comfy, "SpaceTimePredictLayout", text=TEXT, width=512, height=384, seed=0, layout_json="")
    preview = out.result[1]
    assert preview.shape[0] == 1 and preview.shape[3] == 3
    assert abs(preview.shape[2] / preview.shape[1] - 512 / 384) < 0.02
    assert float(preview.std()) > 0.05                     # boxes and labels, not a blank canvas
    Image.fromarray((preview[0].numpy() * 255).astype(np.uint8)).save(artifacts_dir() / "predict-layout.png")


def test_edited_layout_json_takes_priority_over_prediction(comfy):
    layout = execute(comfy, "SpaceTimePredictLayout", text=TEXT, width=512, height=512, seed=0,
                     layout_json="").result[0]
    edited = layout.to_dict()
    edited["objects"][0]["box"] = [0.6, 0.6, 0.9, 0.9]
    out = execute(comfy, "SpaceTimePredictLayout", text="something else entirely", width=512, height=512,
                  seed=0, layout_json=json.dumps(edited))
    assert out.result[0].objects[0].box == [0.6, 0.6, 0.9, 0.9]
    assert out.ui["spacetime_layout"][0]["objects"][0]["box"] == [0.6, 0.6, 0.9, 0.9]


@pytest.mark.parametrize("bad, field", [
    ("{not json", "layout_json"),
    (json.dumps({"schema": "spacetime-layout", "version": 1, "objects": [
        {"phrase": "a cat", "box": [0.5, 0.1, 0.2, 0.9]}], "relations": []}), "objects[0].box"),
    (json.dumps({"schema": "spacetime-layout", "version": 99, "objects": [], "relations": []}), "version"),
])
def test_malformed_layout_json_names_node_and_field(comfy, bad, field):
    run = comfy.run(predict_prompt(layout_json=bad))
    assert not run.success
    text = run.error_text()
    assert "Predict Layout" in text and field in text


def test_empty_text_gives_an_empty_layout_not_a_crash(comfy):
    out = execute(comfy, "SpaceTimePredictLayout", text="", width=512, height=512, seed=0, layout_json="")
    assert out.result[0].objects == []
    run = comfy.run(predict_prompt(text="   "))
    assert not run.success and "Layout to Masks" in run.error_text() and "no objects" in run.error_text()


def test_hostile_and_unicode_text_is_handled(comfy):
    for text in ["ein Hund \U0001f436 links von einer Katze", "<script>alert(1)</script> a cat", "dog " * 1000]:
        run = comfy.run(predict_prompt(text=text))
        assert run.success or "Predict Layout" in run.error_text() or "no objects" in run.error_text()


def test_masks_follow_boxes_and_size_override(comfy):
    layout = execute(comfy, "SpaceTimePredictLayout", text=TEXT, width=512, height=384, seed=0,
                     layout_json="").result[0]
    masks = execute(comfy, "SpaceTimeLayoutToMasks", layout=layout, width=256, height=192, shape="box",
                    radius=0.2, feather=0.0).result[0]
    assert masks.shape == (3, 192, 256)
    x0, y0, x1, y1 = layout.objects[0].box
    inside = masks[0, int((y0 + y1) / 2 * 192), int((x0 + x1) / 2 * 256)]
    assert inside == 1.0 and masks[0].mean() < 0.9


def test_area_conditioning_adds_one_area_entry_per_object(comfy, tiny_sd15):
    layout = execute(comfy, "SpaceTimePredictLayout", text=TEXT, width=512, height=512, seed=0,
                     layout_json="").result[0]
    with torch.inference_mode():
        base = tiny_sd15.clip.encode_from_tokens_scheduled(tiny_sd15.clip.tokenize(TEXT))
    cond = execute(comfy, "SpaceTimeLayoutToAreaConditioning", conditioning=base, clip=tiny_sd15.clip,
                   layout=layout, template="a photo of {phrase}", strength=1.0).result[0]
    assert len(cond) == 1 + 3
    area = cond[1][1]["area"]
    x0, y0, x1, y1 = layout.objects[0].box
    assert area[0] == "percentage" and area[1:] == (y1 - y0, x1 - x0, y0, x0)
    import nodes

    latent = {"samples": torch.zeros(1, 4, 8, 8)}
    with torch.inference_mode():
        out = nodes.common_ksampler(tiny_sd15.model, 1, 2, 5.0, "euler", "normal", cond, base, latent)[0]
    assert torch.isfinite(out["samples"]).all()


def test_core_bounding_boxes_seed_the_layout_and_an_edit_still_wins(comfy):
    # the core canvas keeps an object's description in metadata.desc (text is for boxes of rendered text)
    boxes = [{"x": 0, "y": 256, "width": 256, "height": 256, "metadata": {"text": "a red cat"}},
             {"x": 256, "y": 0, "width": 256, "height": 256, "metadata": {"type": "obj", "desc": "a red kite"}}]
    layout = execute(comfy, "SpaceTimePredictLayout", text=TEXT, width=512, height=512, seed=0, layout_json="",
                     bboxes=boxes).result[0]
    assert [o.phrase for o in layout.objects] == ["a red cat", "a red kite"]
    assert layout.objects[0].box == [0.0, 0.5, 0.5, 1.0]
    edited = layout.to_dict()
    edited["objects"] = edited["objects"][:1]
    out = execute(comfy, "SpaceTimePredictLayout", text=TEXT, width=512, height=512, seed=0,
                  layout_json=json.dumps(edited), bboxes=boxes).result[0]
    assert len(out.objects) == 1
    with pytest.raises(ValueError, match=r"Predict Layout: bboxes: bboxes\[0\]"):
        execute(comfy, "SpaceTimePredictLayout", text=TEXT, width=512, height=512, seed=0, layout_json="",
                bboxes=[{"x": "left"}])


def test_too_long_text_names_node_and_field(comfy):
    with pytest.raises(ValueError, match=r"Predict Layout: text: too long \(20001 characters, at most 20000\)"):
        execute(comfy, "SpaceTimePredictLayout", text="x" * 20001, width=512, height=512, seed=0, layout_json="")


def test_a_renamed_box_without_a_noun_gets_its_last_word(comfy, tiny_sd15):
    edited = {"schema": "spacetime-layout", "version": 1, "objects": [
        {"phrase": "a tall red lamp", "category": None, "box": [0.1, 0.1, 0.5, 0.5]}], "relations": []}
    layout = execute(comfy, "SpaceTimePredictLayout", text=TEXT, width=512, height=512, seed=0,
                     layout_json=json.dumps(edited)).result[0]
    assert layout.objects[0].noun == "lamp"
    regs = execute(comfy, "SpaceTimeRegionPromptEncode", clip=tiny_sd15.clip, layout=layout,
                   template="a photo of a {noun}").result[0]
    assert regs.prompts == ["a photo of a lamp"] and regs.names == ["lamp"]


def test_gligen_gets_each_object_snapped_to_eight_pixels(comfy, monkeypatch):
    convert = comfy.pack_module("nodes.layout_convert_nodes")
    calls = []
    monkeypatch.setattr(convert, "with_gligen_box", lambda cond, clip, gligen, text, *box: calls.append((text, box))
                        or cond)
    layout = execute(comfy, "SpaceTimePredictLayout", text="a red cat to the left of a blue dog", width=512,
                     height=384, seed=0, layout_json="").result[0]
    out = convert.LayoutToGLIGEN.execute([], None, None, layout, 0, 0, "{phrase}")
    assert [text for text, _ in calls] == ["a red cat", "a blue dog"]
    for (_, (w, h, x, y)), obj in zip(calls, layout.objects):
        assert all(v % 8 == 0 for v in (w, h, x, y))
        assert abs(x - obj.box[0] * 512) <= 4 and abs(w - (obj.box[2] - obj.box[0]) * 512) <= 4
    assert (out.result if hasattr(out, "result") else out.args)[0] == []
