"""Prompt sets: the paper's three files, gold objects/relations, and malformed files."""
from __future__ import annotations

import pytest

from reproduce import ReproduceError
from reproduce.prompts import coco_class, load_prompt_set


def test_paper_sets_parse_as_the_scripts_read_them():
    gpt = load_prompt_set("gpt")
    assert len(gpt.prompts) == 500 and gpt.kind == "gpt"
    first = gpt.prompts[0]
    assert first.text == "The silver bed was situated to the right of the white couch."
    assert first.objects == ("couch", "bed") and first.relations == (("couch", "left of", "bed"),)
    assert [len(p.objects) for p in gpt.prompts[199:201]] == [2, 3]
    vsr = load_prompt_set("vsr")
    assert vsr.prompts[0].relations == (("bed", "below", "cat"),)
    assert all(p.relations for p in vsr.prompts)
    coco = load_prompt_set("mscoco")
    assert coco.prompts[0].objects == ("bicycle", "clock") and not coco.prompts[0].relations


def test_two_word_classes_and_side_phrases(tmp_path):
    assert coco_class("white tennis racket") == "tennis racket" and coco_class("red tv") == "tv"
    path = tmp_path / "mine.txt"
    path.write_text("The cup is at the left side of the dining table.\n\nThe dog is above the cat.\n\n")
    prompts = load_prompt_set(str(path))
    assert prompts.kind == "vsr" and [p.key for p in prompts.prompts] == ["mine-0000", "mine-0002"]
    assert prompts.prompts[0].relations == (("cup", "left of", "dining table"),)


def test_malformed_files_are_clear_errors(tmp_path):
    with pytest.raises(ReproduceError, match="not found"):
        load_prompt_set(str(tmp_path / "none.txt"))
    bad = tmp_path / "bad.txt"
    bad.write_text("Objects: a cat, a dog\nRelation: cat left of dog\nSentnce: typo\n\n")
    with pytest.raises(ReproduceError, match=r"bad.txt:3: expected a line starting with 'Sentence:'"):
        load_prompt_set(str(bad))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n  \n")
    with pytest.raises(ReproduceError, match="no prompts"):
        load_prompt_set(str(empty))
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ReproduceError, match="cannot read"):
        load_prompt_set(str(binary))
