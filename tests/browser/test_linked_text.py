"""Predict Layout's text linked to a Prompt node, as in every example workflow: the node's own text widget
mirrors the Prompt's text instead of showing a stale one (and is hidden on the classic canvas while linked);
once the link is removed it holds the latest text and takes typing."""
import pytest

from support.browser import run_scenario, screenshot_path
from support.paths import REPO

NEW_TEXT = "a green frog above a yellow boat"


@pytest.mark.parametrize("mode", ["classic", "vue"])
def test_linked_text_widget_mirrors_the_prompt_and_returns_when_unlinked(comfy_server, mode):
    workflow = REPO / "example_workflows" / "Layout-guided SD1.5.json"
    result = run_scenario("linked_text", comfy_server.url, screenshot_path(f"linked-text-{mode}")[:-len(".png")],
                          mode, str(workflow))
    assert result["errors"] == []
    assert result["vueNodesMode"] is (mode == "vue")
    linked, edited, unlinked, typed = (result[k] for k in ("linked", "afterSourceEdit", "unlinked", "afterTyping"))
    assert linked["linked"] and linked["value"] == result["sourceText"]
    assert edited["value"] == NEW_TEXT
    if mode == "classic":
        assert linked["hidden"] and linked["optionsHidden"]
    else:
        assert linked["vueTextarea"] == result["sourceText"] and edited["vueTextarea"] == NEW_TEXT
    assert not unlinked["linked"] and not unlinked["hidden"] and not unlinked["optionsHidden"]
    assert unlinked["value"] == NEW_TEXT
    assert typed["value"] == "a purple owl"
