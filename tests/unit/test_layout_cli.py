"""`python3 -m layout_model`: JSON on stdout, --png preview, eval sub-command, one-line errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from layout_model import Layout, predict

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "layout_model", *args], cwd=ROOT, env=env,
                          input=stdin, capture_output=True, text=True, timeout=60)


def test_prints_layout_json():
    result = run("The silver bed was situated to the right of the white couch.", "--width", "640",
                 "--seed", "0")
    assert result.returncode == 0, result.stderr
    layout = Layout.from_json(result.stdout)
    assert layout.width == 640 and [o.phrase for o in layout.objects] == ["the silver bed",
                                                                         "the white couch"]
    assert layout.relations == [(0, "right of", 1)]


def test_reads_stdin_and_writes_png(tmp_path):
    pytest.importorskip("PIL")
    out = tmp_path / "preview.png"
    result = run("-", "--png", str(out), "--height", "384", stdin="a cat on the left")
    assert result.returncode == 0, result.stderr
    from PIL import Image
    with Image.open(out) as image:
        assert image.size == (512, 384)


@pytest.mark.parametrize("args, words", [
    (["a dog", "--width", "abc"], "--width"),
    (["a dog", "--width", "0"], "width"),
    (["eval", "nope", "x.txt"], "invalid choice"),
    (["eval", "vsr", "/no/such/file.txt"], "No such file"),
    (["dog " * 6000], "text"),
    ([], "required"),
])
def test_errors_are_one_line_with_status_2(args, words):
    result = run(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in result.stderr


def test_eval_on_a_small_file(tmp_path):
    path = tmp_path / "vsr.txt"
    path.write_text("The cat is above the dog.\nThe bed is at the left side of the cat.\n",
                    encoding="utf-8")
    result = run("eval", "vsr", str(path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["prompts"] == 2 and report["relation_accuracy"] == 1.0


def test_preview_image_size_and_content():
    PIL = pytest.importorskip("PIL")
    from layout_model.render import render_preview

    layout = predict("A cat sits between a dog and a horse, with a bird above it.")
    image = render_preview(layout)
    assert isinstance(image, PIL.Image.Image) and image.size == (512, 512) and image.mode == "RGB"
    colours = image.getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 10  # boxes, labels and arrows were drawn
    assert render_preview(layout, width=300, height=200).size == (300, 200)
    assert render_preview(predict("")).size == (512, 512)
