"""Region Prompt Encode: encoding with SD1.x / SDXL CLIP, templates and overrides, geometry validation, the end
boxes of a layout that moves (from the box editor's layout_json through Predict Layout)."""
import json

import pytest
import torch

from support import patch_support as ps


def test_encodes_each_object_and_the_empty_prompt(comfy, tiny_sd15):
    regs = ps.regions(comfy, tiny_sd15.clip, overrides="\na dog in the rain")
    assert len(regs) == 2 and regs.prompts == ["a photo of a red cat", "a dog in the rain"]
    assert regs.embeddings[0].shape == (1, 77, 64) and regs.empty.shape == (1, 77, 64)
    want = ps.encode(tiny_sd15.clip, "a photo of a red cat")[0][0]
    assert torch.equal(regs.embeddings[0], want)
    assert torch.equal(regs.empty, ps.encode(tiny_sd15.clip, "")[0][0])
    torch.testing.assert_close(regs.boxes[1], torch.tensor([0.55, 0.2, 0.95, 0.75]))
    torch.testing.assert_close(regs.centers[0], torch.tensor([0.275, 0.5]))


def test_sdxl_dual_clip_keeps_pooled(comfy, tiny_sdxl):
    regs = ps.regions(comfy, tiny_sdxl.clip)
    assert regs.embeddings[0].shape[-1] == 128 and regs.pooled[0].shape == (1, 64)
    assert regs.empty_pooled is not None


def test_layout_prompt_and_template(comfy, tiny_sd15):
    node = comfy.node_class("SpaceTimeRegionPromptEncode")
    layout = ps.make_layout(ps.TWO_BOXES, ["the red cat", "a blue dog"], prompts=[None, "my own dog"])
    with torch.inference_mode():
        regs = node.execute(tiny_sd15.clip, layout, template="{noun} on a sofa").result[0]
    assert regs.prompts == ["cat on a sofa", "my own dog"] and regs.names == ["cat", "dog"]


@pytest.mark.parametrize("box, message", [
    ([0.5, 0.1, 0.4, 0.9], r"Region Prompt Encode: layout.objects\[1\].box: need x0 < x1 .*\[0.5, 0.1, 0.4, 0.9\]"),
    ([0.1, float("nan"), 0.4, 0.5], r"Region Prompt Encode: layout.objects\[1\].box: expected 4 finite numbers"),
    ([0.1, 0.1, 1.7, 0.5], r"Region Prompt Encode: layout.objects\[1\].box: .*must lie in \[0, 1\]"),
    ([0.1, 0.1, 1.05, 0.5], r"must lie in \[0, 1\]"),   # the layout contract's tolerance is a rounding step
    ([0.2, 0.3, 0.2, 0.5], r"need x0 < x1"),
])
def test_bad_boxes_are_clear_errors(comfy, tiny_sd15, box, message):
    with pytest.raises(ValueError, match=message):
        ps.regions(comfy, tiny_sd15.clip, boxes=[[0.0, 0.0, 0.5, 0.5], box])


def test_a_rounding_step_outside_is_clipped(comfy, tiny_sd15):
    regs = ps.regions(comfy, tiny_sd15.clip, boxes=[[-0.0004, 0.0, 0.5, 1.0009], [0.5, 0.0, 1.0, 0.5]])
    torch.testing.assert_close(regs.boxes[0], torch.tensor([0.0, 0.0, 0.5, 1.0]))
    torch.testing.assert_close(regs.centers[0], torch.tensor([0.25, 0.5]))


def test_a_predicted_layout_encodes_the_core_regions(comfy, tiny_sd15):
    lm, rg = comfy.pack_module("layout_model"), comfy.pack_module("layout_model.regions")
    layout = lm.predict("a red cat to the left of a blue dog", width=640, height=384)
    node = comfy.node_class("SpaceTimeRegionPromptEncode")
    with torch.inference_mode():
        regs = node.execute(tiny_sd15.clip, layout, template="a photo of {phrase}").result[0]
    want = rg.layout_regions(layout)
    assert regs.prompts == [r.text for r in want] == ["a photo of a red cat", "a photo of a blue dog"]
    assert regs.names == ["cat", "dog"] and regs.meta == {"width": 640, "height": 384}
    torch.testing.assert_close(regs.boxes, torch.tensor([o.box for o in layout.objects]))
    torch.testing.assert_close(regs.centers, torch.tensor([o.center for o in layout.objects]))


def test_too_many_override_lines(comfy, tiny_sd15):
    with pytest.raises(ValueError, match="Region Prompt Encode: overrides: 3 lines but the layout has 2"):
        ps.regions(comfy, tiny_sd15.clip, overrides="a\nb\nc")


def test_end_boxes_follow_the_layout_and_the_background_stays(comfy, tiny_sd15):
    lm = comfy.pack_module("layout_model")
    data = lm.predict("a red car to the left of a blue dog", width=640, height=384).to_dict()
    data["objects"][0]["end_box"] = [0.6, 0.5, 0.95, 0.9]             # the car drives to the right
    layout = lm.Layout.from_json(lm.Layout.from_dict(data).to_json())  # as the box editor's layout_json arrives
    node = comfy.node_class("SpaceTimeRegionPromptEncode")
    with torch.inference_mode():
        regs = node.execute(tiny_sd15.clip, layout, background="a road").result[0]
        still = node.execute(tiny_sd15.clip, lm.Layout.from_dict({**data, "objects": [
            {k: v for k, v in o.items() if k != "end_box"} for o in data["objects"]]})).result[0]
    assert regs.end_boxes.dtype == torch.float32 and regs.end_boxes.shape == (3, 4)
    torch.testing.assert_close(regs.end_boxes[0], torch.tensor([0.6, 0.5, 0.95, 0.9]))
    torch.testing.assert_close(regs.end_boxes[1], regs.boxes[1])                     # the dog stays
    torch.testing.assert_close(regs.end_boxes[2], torch.tensor([0.0, 0.0, 1.0, 1.0]))  # the background
    torch.testing.assert_close(regs.boxes[0], torch.tensor(layout.objects[0].box))   # start boxes unchanged
    assert still.end_boxes is None and ps.regions(comfy, tiny_sd15.clip).end_boxes is None


def test_a_bad_end_box_is_a_clear_error(comfy, tiny_sd15):
    node = comfy.node_class("SpaceTimeRegionPromptEncode")
    layout = ps.make_layout(ps.TWO_BOXES, end_boxes=[None, [0.9, 0.2, 0.95, 1.7]])
    with pytest.raises(ValueError, match=r"Region Prompt Encode: layout.objects\[1\].end_box: .*must lie in \[0, 1\]"):
        node.execute(tiny_sd15.clip, layout)


def test_predict_layout_passes_the_editors_end_boxes_through(comfy, tiny_sd15):
    predict = comfy.node_class("SpaceTimePredictLayout")
    text = "a red car to the left of a blue dog"
    with torch.inference_mode():
        edited = predict.execute(text=text, width=512, height=384, seed=0).result[0].to_dict()
    edited["objects"][0]["end_box"] = [0.55, 0.4, 0.9, 0.8]
    layout_json = json.dumps(edited)
    run = comfy.run({"1": {"class_type": "SpaceTimePredictLayout",
                           "inputs": {"text": text, "width": 512, "height": 384, "seed": 0, "layout_json": layout_json}},
                     "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 1]}}})
    assert run.success, run.error_text()
    assert run.outputs["1"]["spacetime_layout"][0] == edited          # what the editor shows after a run
    with torch.inference_mode():
        layout = predict.execute(text=text, width=512, height=384, seed=0, layout_json=layout_json).result[0]
        linked = predict.execute(text="", width=512, height=384, seed=0, layout=layout).result[0]
        regs = comfy.node_class("SpaceTimeRegionPromptEncode").execute(tiny_sd15.clip, linked).result[0]
    assert layout.to_dict() == linked.to_dict() == edited
    torch.testing.assert_close(regs.end_boxes, torch.tensor([[0.55, 0.4, 0.9, 0.8], edited["objects"][1]["box"]]))
    edited["objects"][1]["end_box"] = [0.3, 0.2, 0.1, 0.4]
    with pytest.raises(ValueError, match=r"Predict Layout: layout_json: objects\[1\].end_box: need x0 < x1"):
        predict.execute(text=text, width=512, height=384, seed=0, layout_json=json.dumps(edited))
