"""The pack's templates as a user finds them: sidebar Templates > Extensions > spacetime_attention, each card with
its title (the file name; the dialog shows nothing else of a pack's template) and its thumbnail loaded."""
from support.browser import run_scenario, screenshot_path
from support.workflow import example_names


def test_templates_dialog_lists_each_example_with_title_and_thumbnail(comfy_server):
    result = run_scenario("templates", comfy_server.url, screenshot_path("templates"))
    assert result["errors"] == []
    names = example_names()
    assert names and all(name in result["texts"] for name in names), (names, result["texts"][:40])
    # the dialog fetches thumbnails into blob: URLs and loads off-screen cards lazily: the shown ones must load
    shown = result["thumbnails"]
    assert shown and all(t["loaded"] for t in shown), shown
