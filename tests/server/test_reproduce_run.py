"""`python -m reproduce run` against the real ComfyUI server: outputs, sidecars, resume, several workers, errors.

The stand-in workflow uses core nodes only (EmptyImage -> ImageAddNoise(seed) -> SaveImage, and the prompt
through PrimitiveStringMultiline -> PreviewAny), so the runner is tested independently of the pack. A
SpaceTimeAttentionPatch node sits in the image path: vanilla mode must bypass it through its `model` input.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.paths import REPO

PROMPTS = "a red cat to the left of a blue dog\n\na cup above a laptop\n"


def stand_in_workflow() -> dict:
    return {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 8421504}},
        "2": {"class_type": "ImageAddNoise", "inputs": {"image": ["1", 0], "seed": 0, "strength": 0.5}},
        "3": {"class_type": "SpaceTimeAttentionPatch", "inputs": {"model": ["2", 0]}},
        "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "reproduce_test"}},
        "5": {"class_type": "PrimitiveStringMultiline", "inputs": {"value": "{prompt}"}},
        "6": {"class_type": "PreviewAny", "inputs": {"source": ["5", 0]}},
    }


def reproduce(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reproduce", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy())


@pytest.fixture()
def inputs(tmp_path):
    (tmp_path / "prompts.txt").write_text(PROMPTS)
    (tmp_path / "wf.json").write_text(json.dumps(stand_in_workflow()))
    return tmp_path


def test_run_saves_images_and_sidecars_and_resumes(comfy_server, inputs):
    out = inputs / "out"
    args = ["run", "--prompts", str(inputs / "prompts.txt"), "--server", f"{comfy_server.url},{comfy_server.url}",
            "--workflow", str(inputs / "wf.json"), "--modes", "vanilla", "--seeds", "1,2", "--out", str(out)]
    first = reproduce(*args)
    assert first.returncode == 0, first.stderr
    assert "4 rendered, 0 already there, 0 failed" in first.stdout
    assert "[4/4]" in first.stderr
    stems = ["prompts-0000_s1", "prompts-0000_s2", "prompts-0002_s1", "prompts-0002_s2"]
    assert sorted(p.stem for p in (out / "vanilla").glob("*.png")) == stems
    side = json.loads((out / "vanilla" / "prompts-0000_s2.json").read_text())
    assert side["prompt"] == "a red cat to the left of a blue dog" and side["seed"] == 2 and side["mode"] == "vanilla"
    assert side["workflow"]["2"]["inputs"]["seed"] == 2
    assert side["workflow"]["4"]["inputs"]["images"] == ["2", 0] and "3" not in side["workflow"]
    assert side["prompt"] in json.dumps(side["node_outputs"])  # PreviewAny echoed the templated text
    seed1 = (out / "vanilla" / "prompts-0000_s1.png").read_bytes()
    assert seed1 != (out / "vanilla" / "prompts-0000_s2.png").read_bytes()  # the seed reached the noise node

    kept = out / "vanilla" / "prompts-0000_s1.png"
    before = kept.stat().st_mtime_ns
    (out / "vanilla" / "prompts-0002_s2.json").unlink()  # as if interrupted before this item finished
    second = reproduce(*args)
    assert second.returncode == 0, second.stderr
    assert "1 rendered, 3 already there" in second.stdout
    assert kept.stat().st_mtime_ns == before and (out / "vanilla" / "prompts-0002_s2.json").exists()


def test_unreachable_server_is_one_line_exit_2(inputs):
    result = reproduce("run", "--prompts", str(inputs / "prompts.txt"), "--server", "http://127.0.0.1:9",
                       "--workflow", str(inputs / "wf.json"), "--modes", "vanilla", "--out", str(inputs / "o"))
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot reach ComfyUI at http://127.0.0.1:9")
    assert result.stderr.count("\n") == 1


def test_bad_inputs_are_one_line_exit_2(comfy_server, inputs):
    (inputs / "ui.json").write_text(json.dumps({"nodes": [], "links": []}))
    (inputs / "broken.txt").write_text("Objects: cat\nSentence: no relation line\n")
    cases = [(["--workflow", str(inputs / "ui.json")], "Export (API)"),
             (["--prompts", str(inputs / "broken.txt")], "expected a line starting with 'Relation:'"),
             (["--modes", "vanilla,turbo"], "--modes"),
             (["--seeds", "one"], "--seeds")]
    for override, message in cases:
        args = {"--prompts": str(inputs / "prompts.txt"), "--workflow": str(inputs / "wf.json"), "--modes": "vanilla",
                "--seeds": "1", "--server": comfy_server.url, "--out": str(inputs / "bad")}
        args.update(dict(zip(override[::2], override[1::2])))
        result = reproduce("run", *[x for pair in args.items() for x in pair])
        assert result.returncode == 2 and message in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_mode_needing_nodes_the_server_lacks(comfy_server, inputs):
    info = comfy_server.get_json("/object_info")
    result = reproduce("run", "--prompts", str(inputs / "prompts.txt"), "--server", comfy_server.url,
                       "--workflow", str(inputs / "wf.json"), "--modes", "vanilla,optimised", "--out", str(inputs / "m"))
    assert result.returncode == 2 and "mode optimised needs a SpaceTimeOptimizeStepWeights node" in result.stderr
    if "SpaceTimeAttentionPatch" not in info:
        result = reproduce("run", "--prompts", str(inputs / "prompts.txt"), "--server", comfy_server.url,
                           "--workflow", str(inputs / "wf.json"), "--modes", "patched", "--out", str(inputs / "m"))
        assert result.returncode == 2 and "has no node SpaceTimeAttentionPatch" in result.stderr
    assert not (inputs / "m").exists()  # nothing was started


def test_pack_predict_layout_fills_the_sidecar_layout(comfy_server, inputs):
    if "SpaceTimePredictLayout" not in comfy_server.get_json("/object_info"):
        pytest.skip("the pack's Predict Layout node is not registered")
    workflow = {"1": {"class_type": "SpaceTimePredictLayout",
                      "inputs": {"text": "x", "width": 128, "height": 128, "seed": 0, "layout_json": ""}},
                "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 1], "filename_prefix": "layout"}}}
    (inputs / "layout.json").write_text(json.dumps(workflow))
    out = inputs / "lay"
    result = reproduce("run", "--prompts", str(inputs / "prompts.txt"), "--server", comfy_server.url,
                       "--workflow", str(inputs / "layout.json"), "--modes", "vanilla", "--limit", "1", "--out", str(out))
    assert result.returncode == 0, result.stderr
    side = json.loads((out / "vanilla" / "prompts-0000_s1.json").read_text())
    assert side["workflow"]["1"]["inputs"]["text"] == "a red cat to the left of a blue dog"
    assert side["layout"] and len(side["layout"]["objects"]) == 2


def test_start_server_runs_and_stops_its_own_comfyui(inputs):
    from support.paths import comfy_dir

    out = inputs / "own"
    result = reproduce("run", "--prompts", str(inputs / "prompts.txt"), "--start-server", str(comfy_dir()),
                       "--comfy-args", "--cpu --disable-api-nodes", "--workflow", str(inputs / "wf.json"),
                       "--modes", "vanilla", "--limit", "1", "--out", str(out), timeout=400)
    assert result.returncode == 0, result.stderr + (out / "comfyui-server.log").read_text()[-2000:]
    assert (out / "vanilla" / "prompts-0000_s1.png").exists()
