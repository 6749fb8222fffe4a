"""The lab's API prompts: a Variant that cannot be built into a graph is refused when it is made."""
from __future__ import annotations

import pytest

from lab.graphs import Variant, caption_prompt
from lab.heldout import heldout_scenes


def test_optimising_without_a_layout_is_refused_naming_the_field():
    with pytest.raises(ValueError, match=r"optimise=True needs a layout \(boxes is None"):
        Variant("optimised vanilla", optimise=True)


def test_an_unknown_boxes_value_is_refused_naming_the_field():
    with pytest.raises(ValueError, match=r"boxes must be one of .* got 'none'"):
        Variant("typo", "none", optimise=True)


def test_vanilla_and_optimised_variants_still_build_their_prompt():
    scene = heldout_scenes()[0]
    variants = [Variant("vanilla"), Variant("optimised", "gold", "guidance", 2.0, optimise=True)]
    prompt, outputs = caption_prompt(scene, "a caption", variants, seed=1, batch=1)
    assert outputs == {"vanilla": "preview0", "optimised": "preview1"}
    assert prompt["sample0"]["class_type"] == "KSampler" and "regions0" not in prompt
    assert prompt["sample1"]["class_type"] == "SpaceTimeOptimizeStepWeights"
    assert prompt["sample1"]["inputs"]["regions"] == ["regions1", 0]


def test_the_dit_controls_reach_the_patch_and_mark_a_variant_dit_only():
    scene = heldout_scenes()[0]
    plain = Variant("mix", "predicted", "mix", 1.0, weight_end=0.0)
    narrowed = Variant("mix, double", "predicted", "mix", 1.0, weight_end=0.0, blocks="double",
                       region_attention="restricted")
    prompt, _ = caption_prompt(scene, "a caption", [plain, narrowed], seed=1, batch=1)
    assert (prompt["patch0"]["inputs"]["blocks"], prompt["patch0"]["inputs"]["region_attention"]) == ("all", "open")
    assert (prompt["patch1"]["inputs"]["blocks"], prompt["patch1"]["inputs"]["region_attention"]) == (
        "double", "restricted")
    assert not plain.dit_only and narrowed.dit_only


def test_the_mask_and_window_inputs_reach_the_patch():
    scene = heldout_scenes()[0]
    plain = Variant("plain", "predicted", "guidance", 4.0, weight_end=0.0)
    shaped = Variant("disc, early", "predicted", "guidance", 4.0, weight_end=0.0, mask_shape="disc", radius=0.1,
                     feather=0.5, end_percent=0.5)
    prompt, _ = caption_prompt(scene, "a caption", [plain, shaped], seed=1, batch=1)
    keys = ("mask_shape", "radius", "feather", "end_percent")
    assert tuple(prompt["patch0"]["inputs"][k] for k in keys) == ("box", 0.2, 0.0, 1.0)
    assert tuple(prompt["patch1"]["inputs"][k] for k in keys) == ("disc", 0.1, 0.5, 0.5)
