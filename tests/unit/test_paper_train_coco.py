"""Training on a tiny COCO-format fixture written by the test: the loss falls, training resumes, the model
reloads as the `trained` predictor, and malformed annotation files end in one clear line."""
from __future__ import annotations

import json

import pytest

from layout_model.train_coco import main
from layout_model.trained import load_trained, load_trained_predictor
from support.paper_fixtures import tiny_coco

pytestmark = pytest.mark.usefixtures("one_thread")

def train_args(instances, captions, out, epochs, *extra):
    return ["--instances", str(instances), "--captions", str(captions), "--out", str(out), "--epochs", str(epochs),
            "--dim", "64", "--layers", "1", "--heads", "2", "--batch-size", "8", "--min-count", "1",
            "--lr", "1e-3", "--dropout", "0", *extra]


def test_training_lowers_the_loss_resumes_and_predicts(tmp_path, capsys):
    instances, captions = tiny_coco(tmp_path)
    out = tmp_path / "model"
    assert main(train_args(instances, captions, out, 8)) == 0
    err = capsys.readouterr().err
    assert "epoch 8/8" in err and "batches/s" in err
    _, vocab, meta = load_trained(out)
    losses = [h["loss"] for h in meta["history"]]
    hinges = [h["hinge"] for h in meta["history"]]
    assert meta["epochs_done"] == 8 and losses[-1] < losses[0] - 0.5, losses
    assert hinges[-1] < hinges[0] - 0.2, hinges  # the stated relations are being learned
    assert "cat" in vocab.words and meta["data"]["relations"] > 0

    assert main(train_args(instances, captions, out, 9, "--resume")) == 0
    assert "resuming after epoch 8" in capsys.readouterr().err
    _, _, meta = load_trained(out)
    assert meta["epochs_done"] == 9 and len(meta["history"]) == 9

    predictor = load_trained_predictor(out)
    layout = predictor.predict("a cat to the left of a dog", width=640, height=480)
    assert layout.predictor == "trained" and [o.noun for o in layout.objects] == ["cat", "dog"]
    for obj in layout.objects:
        x0, y0, x1, y1 = obj.box
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
    assert predictor.predict("a cat to the left of a dog").to_dict() == predictor.predict("a cat to the left of a dog").to_dict()


@pytest.mark.parametrize("break_it, message", [
    (lambda i, c: i.write_text("[]"), "not a COCO instances file"),
    (lambda i, c: i.write_text("{oops"), "not readable JSON"),
    (lambda i, c: i.unlink(), "instances file not found"),
    (lambda i, c: i.write_text(json.dumps({"annotations": [{"image_id": 1}], "images": [{"id": 1, "width": 5,
                                                                                         "height": 5}],
                                           "categories": []})), "not shaped as expected"),
    (lambda i, c: c.write_text(json.dumps({"annotations": [{"image_id": 999, "caption": "x"}]})),
     "no image has both"),
])
def test_malformed_annotations_are_one_line_exit_2(tmp_path, capsys, break_it, message):
    instances, captions = tiny_coco(tmp_path, images=3)
    break_it(instances, captions)
    assert main(train_args(instances, captions, tmp_path / "m", 1)) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "m").exists()
