"""Our byte-level BPE against Hugging Face's RoBERTa tokenizer on the same (tiny, test-written) files."""
from __future__ import annotations

import json
import os

import pytest

from layout_model.bpe import ByteLevelBPE, TokenizerFilesError
from support.paper_fixtures import SENTENCES, write_files

@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_files(tmp_path_factory.mktemp("bpe"))


def test_ids_match_transformers_roberta_tokenizer(files):
    transformers = pytest.importorskip("transformers")
    reference = transformers.RobertaTokenizer.from_pretrained(str(files))
    ours = ByteLevelBPE.from_folder(files)
    for sentence in SENTENCES:
        assert ours.encode(sentence) == reference(sentence)["input_ids"], sentence


def test_pieces_carry_character_spans(files):
    text = "The silver bed is left of the couch."
    pieces = ByteLevelBPE.from_folder(files).pieces(text)
    covered = [text[p.start:p.end] for p in pieces]
    assert "".join(covered) == text
    assert " bed" in covered and " couch" in covered


def test_missing_or_wrong_files_are_clear_errors(tmp_path, files):
    with pytest.raises(TokenizerFilesError, match="vocab.json"):
        ByteLevelBPE.from_folder(tmp_path)
    gpt2 = write_files(tmp_path / "gpt2")
    vocab = json.loads((gpt2 / "vocab.json").read_text())
    vocab["<s>"], vocab["<pad>"] = 50256, 50257
    (gpt2 / "vocab.json").write_text(json.dumps(vocab))
    with pytest.raises(TokenizerFilesError, match="RoBERTa ids"):
        ByteLevelBPE.from_folder(gpt2)


REAL = os.environ.get("SPACETIME_ROBERTA_VOCAB")


@pytest.mark.skipif(not REAL, reason="set SPACETIME_ROBERTA_VOCAB to a folder with roberta-base vocab.json + merges.txt")
def test_real_roberta_files_give_the_reference_ids():
    bpe = ByteLevelBPE.from_folder(REAL)
    assert bpe.encode("Hello world") == [0, 31414, 232, 2]
    assert bpe.encode("The silver bed was situated to the right of the white couch.") == \
        [0, 133, 4334, 3267, 21, 17949, 7, 5, 235, 9, 5, 1104, 16433, 4, 2]
