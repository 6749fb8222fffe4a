"""The box editor in the real frontend, classic LiteGraph canvas and Vue "Nodes 2.0" mode.

A user types a prompt and sees boxes, drags and resizes one, undoes with Ctrl+Z inside the widget, renames
it to markup (the name goes out as typed, without a noun), and the queued API prompt and a page reload both
carry the edit. Predictions carry the editor's id; a superseded answer is no error for the user.
"""
import json
import re

import pytest

from layout_model import Layout
from support.browser import run_scenario, screenshot_path

HOSTILE = "<img src=x onerror=window.__xss=1>"


def close(a, b, tol=1e-3):
    return len(a) == len(b) and all(abs(x - y) <= tol for x, y in zip(a, b))


@pytest.mark.parametrize("mode", ["classic", "vue"])
def test_box_editor_edit_reaches_prompt_and_survives_reload(comfy_server, mode):
    result = run_scenario("box_editor", comfy_server.url, screenshot_path(f"box-editor-{mode}")[:-len(".png")], mode)
    assert result["errors"] == []
    assert result["vueNodesMode"] is (mode == "vue")

    predicted = result["predicted"]
    assert len(predicted["objects"]) >= 2
    first = predicted["objects"][0]["box"]
    moved, resized = result["moved"], result["resized"]
    # Moving keeps the size; the drag went right and down.
    assert close([moved[2] - moved[0], moved[3] - moved[1]], [first[2] - first[0], first[3] - first[1]])
    assert moved[0] > first[0] and moved[1] > first[1]
    # Resizing from the bottom-right handle keeps the top-left corner and grows the box.
    assert close(resized[:2], moved[:2]) and resized[2] > moved[2] and resized[3] > moved[3]
    assert result["nodePosUnchanged"], "dragging a box moved the node: pointer events leaked to the graph"

    sent = json.loads(result["promptAfterEdit"])
    assert close(sent["objects"][0]["box"], resized)

    assert close(result["afterUndo"], moved), "Ctrl+Z in the widget did not undo the resize"
    assert result["nodeCountAfterUndo"] == result["nodeCount"]
    assert result["graphNotReloaded"], "Ctrl+Z in the widget leaked to the workflow's undo"

    assert result["renamed"] == HOSTILE
    assert result["xss"] == {"flag": None, "imgs": 0}
    renamed = json.loads(result["promptAfterRename"])
    assert renamed["objects"][0]["phrase"] == HOSTILE
    # The editor sends what the user typed; the noun is Python's to fill (the last word of the phrase).
    assert "noun" not in renamed["objects"][0] and renamed["objects"][0]["category"] is None
    assert Layout.from_dict(renamed).objects[0].noun == HOSTILE.split()[-1]

    assert result["afterReload"] == result["promptAfterRename"], "the edit did not survive a page reload"
    assert result["shownAfterReload"]["objects"][0]["phrase"] == HOSTILE

    # One editor id per editor widget: every prediction of the page carried the same one, the reloaded page's
    # editor another; a superseded answer shows nothing, a busy one is news.
    before, after = result["editorIdsBeforeReload"], result["editorIdsAfterReload"]
    assert len(before) == 1 and re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", before[0]), before
    assert len(after) == 1 and after != before, after
    assert "superseded" not in result["statusAfter409"] and "busy" in result["statusAfter503"], result
    assert all(re.search(r"status of (409|503)\b", line) for line in result["refusalLogs"]), result["refusalLogs"]
