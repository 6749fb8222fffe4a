"""Load Layout Predictor in the real host: paper-format and COCO-trained models from models/spacetime_layout feed
Predict Layout; a broken file is a clear error naming the node and the field."""
import pytest
import torch

from support.paper_fixtures import synthetic_state, tiny_coco, write_files

TEXT = "a cat to the left of a dog"


@pytest.fixture(scope="module")
def layout_models(comfy, tmp_path_factory):
    """A models/spacetime_layout folder with a synthetic paper checkpoint (+ vocab) and a tiny trained model."""
    import folder_paths

    train = comfy.pack_module("layout_model.train_coco").main
    root = tmp_path_factory.mktemp("spacetime_layout")
    paper = write_files(root / "paper")
    torch.save({"state_dict": synthetic_state()}, paper / "checkpoint_90_0.0.pth")
    instances, captions = tiny_coco(root)
    assert train(["--instances", str(instances), "--captions", str(captions), "--out", str(root / "coco"),
                  "--epochs", "1", "--dim", "32", "--layers", "1", "--heads", "2", "--min-count", "1"]) in (0, None)
    folder_paths.add_model_folder_path("spacetime_layout", str(root))
    return root


def load(comfy, model, boxes="paper", sample=False):
    with torch.inference_mode():
        return comfy.node_class("SpaceTimeLoadLayoutPredictor").execute(model=model, boxes=boxes,
                                                                         sample=sample).result[0]


def predict(comfy, predictor, seed=0):
    with torch.inference_mode():
        return comfy.node_class("SpaceTimePredictLayout").execute(
            text=TEXT, width=512, height=512, seed=seed, layout_json="", predictor=predictor).result[0]


def test_models_folder_lists_checkpoints_and_trained_models(comfy, layout_models):
    choices = comfy.pack_module("nodes.predictor_nodes").model_choices()
    assert "paper/checkpoint_90_0.0.pth" in choices and "coco/layout_model.json" in choices


@pytest.mark.usefixtures("one_thread")
def test_paper_checkpoint_drives_predict_layout(comfy, layout_models):
    layout = predict(comfy, load(comfy, "paper/checkpoint_90_0.0.pth"))
    assert layout.predictor == "paper" and [o.noun for o in layout.objects] == ["cat", "dog"]
    for obj in layout.objects:                       # the paper's 0.4 square around a clamped centre
        x0, y0, x1, y1 = obj.box
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1 and x1 - x0 <= 0.4 + 1e-6
    assert predict(comfy, load(comfy, "paper/checkpoint_90_0.0.pth")).to_dict() == layout.to_dict()


@pytest.mark.usefixtures("one_thread")
def test_trained_model_drives_predict_layout(comfy, layout_models):
    layout = predict(comfy, load(comfy, "coco/layout_model.json", boxes="learned"))
    assert layout.predictor == "trained" and len(layout.objects) == 2


def test_broken_checkpoint_is_a_clear_error(comfy, layout_models):
    (layout_models / "broken.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="Load Layout Predictor: model"):
        load(comfy, "broken.pth")
    with pytest.raises(ValueError, match="Load Layout Predictor: model 'missing.pth' is not in models/spacetime_layout"):
        load(comfy, "missing.pth")
