"""The box editor's Start / End keyframes in the real frontend: an End drag writes the object's end_box into
layout_json (its start box untouched), the queued prompt carries it and the node runs with it, the motion line
says the layout moves (a markup name stays text), a Start drag leaves the end box alone, Still removes the motion
and Undo restores it."""
import json

import pytest

from layout_model import Layout
from support.browser import run_scenario, screenshot_path

HOSTILE = "<img src=x onerror=window.__xss=1>"


def close(a, b, tol=1e-3):
    return len(a) == len(b) and all(abs(x - y) <= tol for x, y in zip(a, b))


@pytest.mark.parametrize("mode", ["classic", "vue"])
def test_an_end_keyframe_drag_makes_the_box_move_in_the_saved_and_queued_layout(comfy_server, mode):
    result = run_scenario("box_editor_keyframes", comfy_server.url,
                          screenshot_path(f"box-editor-keyframes-{mode}")[:-len(".png")], mode)
    assert result["errors"] == []
    car, dog = (o["box"] for o in result["predicted"]["objects"][:2])

    assert result["controlsAtStart"] == {"start": "true", "end": "false", "still": True, "motion": ""}
    assert result["controlsInEnd"]["end"] == "true" and result["controlsInEnd"]["start"] == "false"
    assert "drag a box" in result["controlsInEnd"]["motion"]

    stored = json.loads(result["storedAfterEnd"])
    end = stored["objects"][0]["end_box"]
    assert close(stored["objects"][0]["box"], car), "an End drag moved the start box"
    assert close([end[2] - end[0], end[3] - end[1]], [car[2] - car[0], car[3] - car[1]])  # a move keeps the size
    assert end[0] > car[0] + 0.2 and end[1] > car[1]
    assert "end_box" not in stored["objects"][1] and close(stored["objects"][1]["box"], dog)
    assert result["selectedAfterEnd"] == 0 and result["controlsAfterEnd"]["still"] is False
    assert result["controlsAfterEnd"]["motion"] == "Layout moves over a video's frames: a red car."

    assert json.loads(result["promptAfterEnd"]) == stored               # the queued API prompt
    assert Layout.from_json(result["promptAfterEnd"]).objects[0].end_box == pytest.approx(end)
    assert result["runStatus"] == "success", result
    assert result["ranWith"]["objects"][0]["end_box"] == pytest.approx(end)     # the node ran with it
    assert "end_box" not in result["ranWith"]["objects"][1]

    assert result["motionAfterRename"] == f"Layout moves over a video's frames: {HOSTILE}."
    assert result["xss"] == {"flag": None, "imgs": 0}

    assert result["controlsBackAtStart"]["start"] == "true"
    after_start = json.loads(result["storedAfterStartDrag"])["objects"][0]
    assert after_start["end_box"] == end, "a Start drag moved the end box"
    assert after_start["box"][1] < car[1] - 0.05 and close(after_start["box"][::2], car[::2])

    assert "end_box" not in json.loads(result["storedAfterStill"])["objects"][0]
    assert result["controlsAfterStill"]["still"] is True and result["controlsAfterStill"]["motion"] == ""
    assert json.loads(result["storedAfterUndo"])["objects"][0]["end_box"] == end
