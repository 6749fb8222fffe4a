"""The scorer end to end on drawn images, with a real detector for such images and hand-computed numbers.

The detector is the lab's colour segmentation + connected components (`lab.detect`); each colour stands for
a COCO class, and the confidence is the shape's brightness, so a faint shape (0.45) counts for object
accuracy (>= 0.4) but not for relations (>= 0.5).
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from lab.detect import detect
from lab.scenes import COLOURS
from reproduce.__main__ import main
from reproduce.prompts import load_prompt_set
from reproduce.scoring import markdown_table, score_run, write_reports

CLASS_OF = {"red": "cat", "green": "cup", "blue": "dog"}
COLOUR_OF = {v: k for k, v in CLASS_OF.items()}
SIZE = 96


def colour_detector(image: Image.Image) -> list[tuple[str, float, list[float]]]:
    """`lab.detect` shapes as (class, confidence = mean brightness of the shape's pixels, box)."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    found = []
    for shape in detect(pixels):
        if shape.colour in CLASS_OF:
            x0, y0, x1, y1 = shape.box
            score = float(pixels[y0:y1, x0:x1].max(-1).mean() / 255)
            found.append((CLASS_OF[shape.colour], round(score, 3), [float(v) for v in shape.box]))
    return sorted(found, key=lambda d: d[2])


PROMPTS = """Objects: red cat, blue dog
Relation: red cat left of blue dog
Sentence: A red cat to the left of a blue dog.

Objects: green cup, blue dog
Relation: green cup above blue dog
Sentence: A green cup above a blue dog.

Objects: cat, dog, cup
Relation: cat left of dog, cup below cat
Sentence: A cat left of a dog, and a cup below the cat.
"""

BRIGHT, FAINT = 1.0, 0.5  # colour scale: bright shapes score ~ 0.9, faint ones ~ 0.45-0.47

# mode -> prompt index -> [(class, centre x, centre y, intensity)]
SCENES = {
    "vanilla": {0: [("cat", 70, 48, BRIGHT), ("dog", 20, 48, BRIGHT)],                      # objects 2/2, relation wrong
                1: [("cup", 48, 48, BRIGHT)],                                              # 1/2, relation not counted
                2: [("cat", 20, 20, BRIGHT), ("dog", 70, 20, FAINT), ("cup", 20, 80, BRIGHT)]},  # 3/3; 1 counted, right
    "patched": {0: [("cat", 20, 48, BRIGHT), ("dog", 70, 48, BRIGHT)],                      # 2/2, right
                1: [("cup", 48, 15, BRIGHT), ("dog", 48, 75, BRIGHT)],                      # 2/2, right
                2: [("cat", 85, 50, BRIGHT), ("cat", 10, 50, BRIGHT), ("dog", 50, 50, BRIGHT),
                    ("cup", 50, 10, BRIGHT)]},                                             # 3/3; left right (2nd cat), below wrong
}


def draw(shapes) -> Image.Image:
    image = Image.new("RGB", (SIZE, SIZE), "white")
    pen = ImageDraw.Draw(image)
    for label, x, y, scale in shapes:
        colour = tuple(round(c * scale) for c in COLOURS[COLOUR_OF[label]])
        pen.rectangle([x - 7, y - 7, x + 7, y + 7], fill=colour)
    return image


@pytest.fixture()
def run_dir(tmp_path):
    prompt_file = tmp_path / "shapes.txt"
    prompt_file.write_text(PROMPTS)
    prompts = load_prompt_set(str(prompt_file))
    run = tmp_path / "run"
    for mode, scenes in SCENES.items():
        (run / mode).mkdir(parents=True)
        for index, shapes in scenes.items():
            key = prompts.prompts[index].key
            draw(shapes).save(run / mode / f"{key}_s1.png")
            (run / mode / f"{key}_s1.json").write_text(json.dumps(
                {"key": key, "mode": mode, "seed": 1, "images": [f"{key}_s1.png"]}))
    (run / "vanilla" / "garbage_s1.json").write_text("{not json")
    return run, prompts, prompt_file


def test_detector_sees_the_drawn_shapes():
    found = colour_detector(draw([("cat", 20, 20, BRIGHT), ("dog", 70, 20, FAINT)]))
    assert found == [("cat", 0.902, [13, 13, 28, 28]), ("dog", 0.471, [63, 13, 78, 28])]


def test_scores_match_hand_computed_values(run_dir):
    run, prompts, _ = run_dir
    vanilla, patched = score_run(run, prompts, colour_detector)
    assert (vanilla.mode, vanilla.images, vanilla.objects_found, vanilla.objects_total) == ("vanilla", 3, 6, 7)
    assert (vanilla.relations_correct, vanilla.relations_counted, vanilla.relations_total) == (1, 2, 4)
    assert (patched.objects_found, patched.objects_total) == (7, 7)
    assert (patched.relations_correct, patched.relations_counted) == (3, 4)
    assert vanilla.relation_accuracy == 0.5 and patched.relation_accuracy == 0.75
    table = markdown_table([vanilla, patched])
    assert "| shapes | vanilla | 3 | 85.7 % (6/7) | 50.0 % (1/2) | 2/4 |" in table
    paths = write_reports([vanilla, patched], run)
    with Image.open(paths["plot"]) as plot:
        assert plot.size[0] > 200
    assert json.loads(paths["json"].read_text())[1]["relation_accuracy"] == 0.75
    # Detections are cached next to the images: a second pass gives the same numbers without the detector.
    again = score_run(run, prompts, lambda image: pytest.fail("detector called again"))
    assert [s.objects_found for s in again] == [6, 7]


def test_cli_with_a_module_callable(run_dir, capsys):
    run, _, prompt_file = run_dir
    assert main(["score", "--run", str(run), "--prompts", str(prompt_file),
                 "--detector", f"{colour_detector.__module__}:colour_detector"]) == 0
    out = capsys.readouterr().out
    assert "| shapes | patched | 3 | 100.0 % (7/7) | 75.0 % (3/4) | 4/4 |" in out
    assert (run / "scores-shapes.md").exists() and (run / "scores-shapes.png").exists()


@pytest.mark.parametrize("args, message", [
    (["--run", "/nonexistent", "--prompts", "gpt", "--detector", "x:y"], "run folder not found"),
    (["--prompts", "gpt", "--detector", "no_such_module_xyz:f"], "No module named"),
    (["--prompts", "gpt", "--detector", "transformers:/nonexistent"], "no transformers detector"),
    (["--prompts", "gpt", "--detector", "detector-without-colon"], "use transformers:FOLDER or module:callable"),
])
def test_cli_bad_input_is_one_line_and_exit_2(run_dir, capsys, args, message):
    run = run_dir[0]
    args = args if "--run" in args else ["--run", str(run), *args]
    assert main(["score", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_transformers_detector_from_a_local_folder(tmp_path):
    transformers = pytest.importorskip("transformers")
    from reproduce.detectors import load_detector

    labels = {0: "cat", 1: "dog", 2: "N/A"}
    config = transformers.YolosConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                      intermediate_size=64, image_size=[64, 64], patch_size=16,
                                      num_detection_tokens=5, num_labels=len(labels), id2label=labels,
                                      label2id={v: k for k, v in labels.items()})
    transformers.YolosForObjectDetection(config).save_pretrained(tmp_path)
    transformers.YolosImageProcessor(size={"shortest_edge": 64, "longest_edge": 64}).save_pretrained(tmp_path)
    detector = load_detector(f"transformers:{tmp_path}")
    found = detector(draw([("cat", 20, 20, BRIGHT)]))
    assert all(label in labels.values() and 0.3 <= score <= 1 and len(box) == 4 for label, score, box in found)
