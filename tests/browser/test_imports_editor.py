"""Layouts from an LLM's text and from a segmentation mask, edited in the box editor of the real frontend.

A user wires Layout from LLM Text and Masks to Layout into Predict Layout's `layout` input. Before a run the
editor says where its layout comes from; after the run it shows the imported boxes, an object with a mask as its
silhouette (the L's empty corner is not painted); dragging that box stores the edit with the mask; the second run
uses the edit and the editor shows it.
"""
import json

from layout_model import Layout
from support.browser import run_scenario, screenshot_path


def test_llm_and_mask_layouts_round_trip_through_the_editor(comfy_server):
    result = run_scenario("imports_editor", comfy_server.url, screenshot_path("imports-editor"))
    assert result["errors"] == []
    assert "linked 'layout' input" in result["statusBeforeRun"]
    assert result["firstRun"] == "success" and result["secondRun"] == "success"

    assert [(o["phrase"], o["box"]) for o in result["llmShown"]["objects"]] == [("a blue dog", [0.5, 0.25, 1.0, 0.75])]
    cat = result["maskShown"]["objects"][0]
    assert cat["phrase"] == "a red cat" and cat["box"] == [0.125, 0.125, 0.5, 0.625] and cat["mask"]["runs"]

    bar, corner, background = result["barPixel"], result["cornerPixel"], result["backgroundPixel"]
    assert corner != background, "the box itself is tinted"
    assert sum(bar) > sum(corner) + 60, "the L's silhouette is painted over its box, its empty corner is not"

    assert result["statusAfterEdit"] == "Edited layout in use; Reset follows the linked 'layout' input again."
    stored = Layout.from_json(result["stored"])
    assert stored.objects[0].box == [0.5, 0.125, 0.875, 0.625]
    assert stored.objects[0].mask == cat["mask"], "the edit keeps the object's mask"
    assert result["shownAfterSecondRun"]["objects"][0]["box"] == [0.5, 0.125, 0.875, 0.625]
    assert json.loads(result["stored"])["objects"][0]["mask"] == result["shownAfterSecondRun"]["objects"][0]["mask"]
