"""Evaluation on the paper's prompt sets (`reproduce/prompt_sets/`, copies of the paper's files).

Targets from the issue: VSR relations 100 %, GPT relations >= 95 % and object recall >= 98 %,
< 5 ms median per prompt. The GPT relation target is not reachable from the text: 56 of its
950 labels contradict their own sentence (see docs/benchmarks.md), so the floor asserted
here is the measured level and the 95 % target is recorded as an expected failure.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from layout_model import predict
from layout_model.evaluate import evaluate, read_gpt, read_mscoco, read_vsr, relation_holds

DATA = Path(__file__).resolve().parents[2] / "reproduce" / "prompt_sets"


def _report(name, reader):
    return evaluate(name, reader(str(DATA / f"{name}.txt")))


@pytest.fixture(scope="module")
def gpt():
    return _report("gpt", read_gpt)


def test_vsr_targets():
    report = _report("vsr", read_vsr)
    assert report.prompts == 500
    assert report.relation_accuracy == 1.0 and report.object_recall == 1.0
    assert report.median_ms < 5


def test_gpt_object_recall_and_speed(gpt):
    assert gpt.prompts == 500 and gpt.relations == 950
    assert gpt.object_recall >= 0.98
    assert gpt.median_ms < 5


def test_gpt_relations_measured_floor(gpt):
    assert gpt.relation_accuracy >= 0.92
    assert gpt.categories.get("violated", 0) == 0  # every relation the parser kept is satisfied


@pytest.mark.xfail(strict=True, reason="56 gold labels contradict their sentence; see "
                                       "docs/benchmarks.md")
def test_gpt_relation_target(gpt):
    assert gpt.relation_accuracy >= 0.95


def test_gpt_separated_objects_do_not_share_pixels():
    """The patch adds the local prompts of overlapping regions; objects stated apart must get apart boxes
    (before the solver shrank leftovers, 60 of 932 such pairs overlapped by more than 10 %)."""
    path = DATA / "gpt.txt"
    if not path.exists():
        pytest.skip(f"{path} not present")
    worst = 0.0
    for example in read_gpt(str(path)):
        layout = predict(example.sentence)
        for i, rel, j in layout.relations:
            if rel in ("left of", "right of", "above", "below"):
                a, b = layout.objects[i].box, layout.objects[j].box
                inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
                smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
                worst = max(worst, inter / smaller)
    assert worst <= 0.05


def test_mscoco_names_found():
    report = _report("mscoco", read_mscoco)
    assert report.object_recall >= 0.98 and report.median_ms < 5


def test_readers_and_rule(tmp_path):
    gpt = tmp_path / "gpt.txt"
    gpt.write_text("Objects: white couch, silver bed\nRelation: white couch left of silver bed\n"
                   "Sentence: The silver bed was situated to the right of the white couch.\n\n",
                   encoding="utf-8")
    [example] = read_gpt(str(gpt))
    assert example.objects == ["white couch", "silver bed"]
    assert example.relations == [("white couch", "left of", "silver bed")]
    vsr = tmp_path / "vsr.txt"
    vsr.write_text("The bed is at the right side of the cat.\nnot a record\n", encoding="utf-8")
    assert [e.relations for e in read_vsr(str(vsr))] == [[("bed", "right of", "cat")]]
    report = evaluate("gpt", [example])
    assert report.relation_accuracy == 1.0 and report.object_recall == 1.0
    assert relation_holds("above", (0.5, 0.2), (0.5, 0.6))
    assert not relation_holds("left of", (0.5, 0.2), (0.5, 0.6))
