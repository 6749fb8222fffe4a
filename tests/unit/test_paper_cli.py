"""`python -m layout_model` with the neural predictors: --paper, --trained, convert-paper, train-coco."""
import json
import subprocess
import sys

import pytest
import torch

from support.paper_fixtures import synthetic_state, tiny_coco, write_files
from support.paths import REPO

pytestmark = pytest.mark.usefixtures("one_thread")


def cli(*args):
    return subprocess.run([sys.executable, "-m", "layout_model", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})


@pytest.fixture(scope="module")
def paper_checkpoint(tmp_path_factory):
    folder = write_files(tmp_path_factory.mktemp("paper"))
    torch.save({"state_dict": synthetic_state()}, folder / "checkpoint_90_0.0.pth")
    return folder / "checkpoint_90_0.0.pth"


def test_lazy_exports_keep_the_package_torch_free():
    code = "import sys, layout_model; assert 'torch' not in sys.modules; layout_model.load_paper_predictor"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0


def test_paper_checkpoint_from_the_cli(paper_checkpoint):
    out = cli("--paper", paper_checkpoint, "a cat to the left of a dog")
    assert out.returncode == 0, out.stderr
    layout = json.loads(out.stdout)
    assert layout["predictor"] == "paper" and len(layout["objects"]) == 2


def test_convert_then_predict_from_safetensors(paper_checkpoint, tmp_path):
    dst = tmp_path / "paper.safetensors"
    assert cli("convert-paper", paper_checkpoint, dst).returncode == 0 and dst.exists()
    out = cli("--paper", dst, "--vocab", paper_checkpoint.parent, "a cup above a bench")
    assert out.returncode == 0, out.stderr


def test_train_coco_then_trained_predictor(tmp_path):
    instances, captions = tiny_coco(tmp_path)
    out = cli("train-coco", "--instances", instances, "--captions", captions, "--out", tmp_path / "m",
              "--epochs", "1", "--dim", "32", "--layers", "1", "--heads", "2", "--min-count", "1")
    assert out.returncode == 0, out.stderr
    out = cli("--trained", tmp_path / "m", "a cat above a dog")
    assert out.returncode == 0 and json.loads(out.stdout)["predictor"] == "trained"


def test_missing_checkpoint_is_one_line_exit_2(tmp_path):
    out = cli("--paper", tmp_path / "nope.pth", "a cat")
    assert out.returncode == 2 and "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
