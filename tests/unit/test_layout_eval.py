"""Evaluation on the paper's prompt sets (`reproduce/prompt_sets/`, copies of the paper's files).

Targets from the issue: VSR relations 100 %, GPT relations >= 95 % and object recall >= 98 %,
< 5 ms median per prompt. The GPT relation target is not reachable from the text: 56 of its
950 labels contradict their own sentence (see docs/benchmarks.md), so the floor asserted
here is the measured level and the 95 % target is recorded as an expected failure.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from layout_model import predict
from layout_model.__main__ import main
from layout_model.evaluate import (Example, evaluate, in_part, overlap_share, read_gpt, read_mscoco, read_vsr,
                                   relation_holds, stated_counts, stated_positions, unrelated_overlaps)
from layout_model.schema import Layout, LayoutObject

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
                worst = max(worst, overlap_share(layout.objects[i].box, layout.objects[j].box))
    assert worst <= 0.05


def test_gpt_unrelated_objects_do_not_share_pixels(gpt):
    """Things the text does not relate get boxes of their own (before the solver ordered leftover overlaps apart,
    169 of 1 227 such GPT pairs overlapped by more than 10 % of the smaller box)."""
    assert gpt.unrelated_pairs > 1000
    assert gpt.unrelated_overlap_rate <= 0.02


def _thing(noun: str, box: list[float], group: int | None = None) -> LayoutObject:
    return LayoutObject(phrase=f"a {noun}", noun=noun, category=noun, box=box, group=group,
                        count=1 if group is None else 2)


def test_unrelated_overlap_skips_related_pairs_and_instances_of_one_group():
    layout = Layout(objects=[_thing("cat", [0.0, 0.0, 0.5, 0.5]), _thing("dog", [0.4, 0.4, 0.8, 0.8]),
                             _thing("bird", [0.1, 0.1, 0.3, 0.3]), _thing("cow", [0.45, 0.45, 0.5, 0.5], 3),
                             _thing("cow", [0.46, 0.46, 0.5, 0.5], 3)],
                    relations=[(0, "left of", 1)])
    # pairs: cat-bird (bird inside the cat), cat-cow x2, dog-bird (apart), dog-cow x2, bird-cow x2 (apart)
    assert unrelated_overlaps(layout) == (8, 5)
    assert overlap_share([0, 0, 1, 1], [0.5, 0.5, 1.5, 1.5]) == pytest.approx(0.25)


def test_counts_are_read_from_the_sentence_and_checked_on_the_layout():
    assert stated_counts("Two hot dogs beside 6 people, a few cats and one bird.") == [("hot dog", 2), ("person", 6)]
    example = Example("Two cats sleep on a bed.", ["cat", "bed"], [])
    right = evaluate("mscoco", [example])
    assert right.counts == 1 and right.count_accuracy == 1.0
    wrong = evaluate("mscoco", [example], predictor=lambda text: predict("A cat sleeps on a bed."))
    assert wrong.count_accuracy == 0.0 and wrong.failures == ["count: 2 x cat: Two cats sleep on a bed."]


def test_absolute_positions_are_read_from_the_sentence():
    assert stated_positions("A cat sits in the upper left corner of the image.", ["cat"]) == [("cat", "top left")]
    assert stated_positions("In the right third, a red bus waits.", ["red bus"]) == [("red bus", "right third")]
    assert stated_positions("The person stands in the middle, with a dog to their right.", ["person", "dog"]) \
        == [("person", "centre")]
    # relative phrases name a landmark, not the image
    assert stated_positions("A cat is to the left of a dog at the left side of the bed, in the middle of the road.",
                            ["cat", "dog", "bed"]) == []


def test_absolute_positions_are_checked_on_the_object_centre():
    assert in_part((0.2, 0.2), "top left") and not in_part((0.6, 0.2), "top left")
    assert in_part((0.8, 0.5), "right third") and not in_part((0.6, 0.5), "right third")
    assert in_part((0.55, 0.45), "centre") and not in_part((0.5, 0.2), "centre")
    example = Example("A cat sits in the top right corner.", ["cat"], [])
    assert evaluate("gpt", [example]).position_accuracy == 1.0
    mirrored = evaluate("gpt", [example], predictor=lambda text: predict("A cat sits in the bottom left corner."))
    assert mirrored.positions == 1 and mirrored.position_accuracy == 0.0


def test_eval_json_reports_every_metric(tmp_path, capsys):
    path = tmp_path / "mscoco.txt"
    path.write_text("Two cats sleep on a bed.\nA dog in the top left corner, a cup and a bowl.\n", encoding="utf-8")
    assert main(["eval", "mscoco", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["counts"], report["counts_correct"]) == (1, 1)
    assert (report["positions"], report["position_accuracy"]) == (1, 1.0)
    assert report["unrelated_pairs"] == 3 and report["unrelated_overlapping"] == 0  # dog, cup, bowl


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
