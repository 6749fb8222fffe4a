"""Workflow templating: prompt/seed placement, mode bypasses, pruning, and clear refusals."""
from __future__ import annotations

import pytest

from reproduce import ReproduceError
from reproduce.workflow import check_api_format, fill, missing_classes

# A trimmed object_info: what the server would say about these classes.
INFO = {
    "CheckpointLoaderSimple": {"input": {"required": {"ckpt_name": [["a.safetensors"]]}},
                               "output": ["MODEL", "CLIP", "VAE"], "output_node": False},
    "CLIPTextEncode": {"input": {"required": {"text": ["STRING", {}], "clip": ["CLIP"]}},
                       "output": ["CONDITIONING"], "output_node": False},
    "KSampler": {"input": {"required": {"model": ["MODEL"], "seed": ["INT", {}], "positive": ["CONDITIONING"],
                                        "negative": ["CONDITIONING"], "latent_image": ["LATENT"]}},
                 "output": ["LATENT"], "output_node": False},
    "EmptyLatentImage": {"input": {"required": {"width": ["INT", {}]}}, "output": ["LATENT"], "output_node": False},
    "VAEDecode": {"input": {"required": {"samples": ["LATENT"], "vae": ["VAE"]}}, "output": ["IMAGE"],
                  "output_node": False},
    "SaveImage": {"input": {"required": {"images": ["IMAGE"], "filename_prefix": ["STRING", {}]}},
                  "output": [], "output_node": True},
    "SpaceTimePredictLayout": {"input": {"required": {"text": ["STRING", {}], "seed": ["INT", {}]},
                                         "optional": {"layout_json": ["STRING", {}]}},
                               "output": ["SPACETIME_LAYOUT", "IMAGE"], "output_node": False},
    "SpaceTimeOptimizeStepWeights": {"input": {"required": {"model": ["MODEL"], "layout": ["SPACETIME_LAYOUT"],
                                                            "step_weights": ["SPACETIME_STEP_WEIGHTS"]}},
                                     "output": ["SPACETIME_STEP_WEIGHTS"], "output_node": False},
    "SpaceTimeStepWeightsSchedule": {"input": {"required": {"steps": ["INT", {}]}},
                                     "output": ["SPACETIME_STEP_WEIGHTS"], "output_node": False},
    "SpaceTimeAttentionPatch": {"input": {"required": {"model": ["MODEL"], "layout": ["SPACETIME_LAYOUT"],
                                                       "step_weights": ["SPACETIME_STEP_WEIGHTS"]}},
                                "output": ["MODEL"], "output_node": False},
}


def graph() -> dict:
    return {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd14.ckpt"}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "old", "clip": ["1", 1]}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["1", 1]}},
        "4": {"class_type": "SpaceTimePredictLayout", "inputs": {"text": "old", "seed": 5, "layout_json": "{...}"}},
        "5": {"class_type": "SpaceTimeStepWeightsSchedule", "inputs": {"steps": 50}},
        "6": {"class_type": "SpaceTimeOptimizeStepWeights",
              "inputs": {"model": ["1", 0], "layout": ["4", 0], "step_weights": ["5", 0]}},
        "7": {"class_type": "SpaceTimeAttentionPatch",
              "inputs": {"model": ["1", 0], "layout": ["4", 0], "step_weights": ["6", 0]}},
        "8": {"class_type": "EmptyLatentImage", "inputs": {"width": 512}},
        "9": {"class_type": "KSampler", "inputs": {"model": ["7", 0], "seed": 123, "positive": ["2", 0],
                                                   "negative": ["3", 0], "latent_image": ["8", 0]}},
        "10": {"class_type": "VAEDecode", "inputs": {"samples": ["9", 0], "vae": ["1", 2]}},
        "11": {"class_type": "SaveImage", "inputs": {"images": ["10", 0], "filename_prefix": "st_{prompt}"}},
        "12": {"class_type": "CLIPTextEncode", "inputs": {"text": "orphan", "clip": ["1", 1]}},
    }


def test_optimised_sets_text_seed_and_keeps_the_graph():
    wf = fill(graph(), "a cat left of a dog", 7, "optimised", INFO)
    assert wf["2"]["inputs"]["text"] == "a cat left of a dog"  # positive encoder
    assert wf["3"]["inputs"]["text"] == "blurry"  # negative untouched
    assert wf["4"]["inputs"] == {"text": "a cat left of a dog", "seed": 7, "layout_json": ""}
    assert wf["9"]["inputs"]["seed"] == 7 and wf["9"]["inputs"]["model"] == ["7", 0]
    assert wf["11"]["inputs"]["filename_prefix"] == "st_a cat left of a dog"
    assert "12" not in wf  # not needed by any output
    assert graph()["2"]["inputs"]["text"] == "old"  # the template is not modified


def test_patched_bypasses_the_optimiser_by_type():
    wf = fill(graph(), "p", 1, "patched", INFO)
    assert "6" not in wf and wf["7"]["inputs"]["step_weights"] == ["5", 0]


def test_vanilla_rewires_the_sampler_model_and_drops_the_pack():
    wf = fill(graph(), "p", 1, "vanilla", INFO)
    assert wf["9"]["inputs"]["model"] == ["1", 0]
    assert not [n for n in wf.values() if n["class_type"].startswith("SpaceTime")]
    # Without type information from the server the patch still bypasses through its `model` input.
    info = {k: v for k, v in INFO.items() if not k.startswith("SpaceTime")}
    assert fill(graph(), "p", 1, "vanilla", info)["9"]["inputs"]["model"] == ["1", 0]


def test_modes_whose_nodes_are_missing():
    wf = graph()
    del wf["6"]
    wf["7"]["inputs"]["step_weights"] = ["5", 0]
    with pytest.raises(ReproduceError, match="mode optimised needs a SpaceTimeOptimizeStepWeights"):
        fill(wf, "p", 1, "optimised", INFO)
    info = {k: v for k, v in INFO.items() if k != "SpaceTimeAttentionPatch"}
    assert missing_classes(fill(graph(), "p", 1, "patched", info), info) == ["SpaceTimeAttentionPatch"]


def test_refusals():
    with pytest.raises(ReproduceError, match="Export \\(API\\)"):
        check_api_format({"nodes": [], "links": []}, "ui.json")
    with pytest.raises(ReproduceError, match="not an API-format"):
        check_api_format({"1": {"inputs": {}}}, "x.json")
    no_text = {"1": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "x"}},
               "2": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["3", 0]}}}
    with pytest.raises(ReproduceError, match="no place for the prompt"):
        fill(no_text, "p", 1, "vanilla", INFO)
    with pytest.raises(ReproduceError, match="unknown mode"):
        fill(graph(), "p", 1, "fast", INFO)
