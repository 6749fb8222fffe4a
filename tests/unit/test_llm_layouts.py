"""Layouts that language models wrote (layout_model.llm_layouts): each format as models emit it, the same boxes."""
import json

import pytest

from layout_model import LayoutError
from layout_model.__main__ import main
from layout_model.llm_layouts import layout_from_llm_text, layout_to_ideogram

# a red cat in the left half, a blue dog lower right, in a 512 x 512 image
WANT = [[0.0, 0.25, 0.5, 0.75], [0.5, 0.5, 1.0, 1.0]]

LMD = """Sure! Here is the layout.
Objects: [('a red cat', [0, 128, 256, 256]), ('a blue dog', [256, 256, 256, 256])]
Background prompt: a sunny garden
Negative prompt: blurry"""

LAYOUTGPT = """a red cat {width: 256px; height: 256px; left: 0px; top: 128px; }
a blue dog {width: 256px; height: 256px; left: 256px; top: 256px; }"""

IDEOGRAM = """```json
{"prompt": "a sunny garden", "elements": [
  {"type": "obj", "bbox": [250, 0, 750, 500], "desc": "a red cat"},
  {"type": "obj", "bbox": [500, 500, 1000, 1000], "desc": "a blue dog"},
]}
```"""

PLAIN_PIXELS_XYXY = """The boxes are:
```
[{"label": "a red cat", "box": [0, 128, 256, 384]}, {"label": "a blue dog", "box": [256, 256, 512, 512]},]
```
Let me know if you want changes."""

PLAIN_FRACTIONS_XYWH = '[{"name": "a red cat", "bbox": [0, 0.25, 0.5, 0.5]}, {"name": "a blue dog", "bbox": [0.5, 0.5, 0.5, 0.5]}]'

PLAIN_NAMED_FIELDS = ('{"objects": [{"phrase": "a red cat", "x": 0, "y": 128, "width": 256, "height": 256}, '
                      '{"phrase": "a blue dog", "x": 256, "y": 256, "width": 256, "height": 256}]}')


@pytest.mark.parametrize("text, kw, background", [
    (LMD, {}, "a sunny garden"),
    (LAYOUTGPT, {}, ""),
    (IDEOGRAM, {}, "a sunny garden"),
    (PLAIN_PIXELS_XYXY, {}, ""),
    (PLAIN_FRACTIONS_XYWH, {"box_format": "xywh"}, ""),
    (PLAIN_NAMED_FIELDS, {}, ""),
], ids=["lmd", "layoutgpt", "ideogram", "json-pixels-xyxy", "json-fractions-xywh", "json-named-fields"])
def test_every_format_gives_the_same_layout(text, kw, background):
    layout = layout_from_llm_text(text, 512, 512, **kw)
    assert [o.box for o in layout.objects] == WANT
    assert [o.phrase for o in layout.objects] == ["a red cat", "a blue dog"]
    assert [o.noun for o in layout.objects] == ["cat", "dog"]
    assert layout.text == background and layout.relations == []


def test_auto_reads_corners_unless_a_box_cannot_be_corners():
    as_size = '[{"label": "a cat", "box": [300, 100, 100, 100]}]'      # x1 < x0: must be x, y, w, h
    assert layout_from_llm_text(as_size, 512, 512).objects[0].box == pytest.approx([0.5859, 0.1953, 0.7812, 0.3906],
                                                                                  abs=1e-4)
    as_corners = '[{"label": "a cat", "box": [100, 100, 300, 300]}]'
    assert layout_from_llm_text(as_corners, 512, 512).objects[0].box == pytest.approx([0.1953, 0.1953, 0.5859,
                                                                                      0.5859], abs=1e-4)
    assert layout_from_llm_text(as_corners, 512, 512, "xywh").objects[0].box == pytest.approx(
        [0.1953, 0.1953, 0.7812, 0.7812], abs=1e-4)


def test_pixels_refer_to_the_given_size():
    layout = layout_from_llm_text(LMD, 1024, 512)
    assert layout.objects[0].box == [0.0, 0.25, 0.25, 0.75] and (layout.width, layout.height) == (1024, 512)


@pytest.mark.parametrize("text, field, message", [
    ("I could not draw that.", "text", "found no layout"),
    ('[{"label": "a cat"}]', "boxes[0]", "has no box"),
    ('[{"label": "a cat", "box": [1, 2, 3]}]', "boxes[0].box", "four numbers"),
    ('[{"label": "a cat", "box": ["left", 2, 3, 4]}]', "boxes[0].box", "four numbers"),
    ("[('a cat', [1, 2])]", "boxes[0][1]", "four numbers"),
    ('{"prompt": "a garden"}', "text", "no list of boxes"),
    ("[]", "boxes", "has no boxes"),
    ('[42]', "boxes[0]", "expected {label, box}"),
])
def test_what_cannot_be_read_names_the_field(text, field, message):
    with pytest.raises(LayoutError, match=message) as err:
        layout_from_llm_text(text, 512, 512)
    assert err.value.field == field


def test_nothing_is_evaluated_as_code():
    text = "[__import__('os').system('echo pwned')]"
    with pytest.raises(LayoutError) as err:
        layout_from_llm_text(text, 512, 512)
    assert err.value.field == "text"


def test_ideogram_round_trip_and_the_command_line(tmp_path, capsys):
    layout = layout_from_llm_text(LMD, 512, 512)
    ideogram = layout_to_ideogram(layout)
    assert ideogram == {"prompt": "a sunny garden", "elements": [
        {"type": "obj", "bbox": [250, 0, 750, 500], "desc": "a red cat"},
        {"type": "obj", "bbox": [500, 500, 1000, 1000], "desc": "a blue dog"}]}
    assert [o.box for o in layout_from_llm_text(json.dumps(ideogram), 512, 512).objects] == WANT
    answer = tmp_path / "answer.txt"
    answer.write_text(LAYOUTGPT)
    assert main(["from-llm", str(answer)]) == 0
    assert [o["box"] for o in json.loads(capsys.readouterr().out)["objects"]] == WANT
    assert main(["from-llm", str(answer), "--ideogram"]) == 0
    assert json.loads(capsys.readouterr().out)["elements"][1]["bbox"] == [500, 500, 1000, 1000]
    answer.write_text("no boxes here")
    assert main(["from-llm", str(answer)]) == 2
