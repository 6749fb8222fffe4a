"""Optimize Step Weights in the real host: both objectives on tiny models, ComfyUI behaviour and bad input."""
from __future__ import annotations

import gc
import json
import weakref
from dataclasses import dataclass

import pytest
import torch

from support import patch_support as ps

NODE_ID = "SpaceTimeOptimizeStepWeights"
STEPS = 4


@pytest.fixture(scope="module")
def mod(comfy):
    """The node module as the host imported it."""
    return comfy.pack_module("nodes.optimize_nodes")


@dataclass
class Setup:
    model: object
    vae: object
    regions: object
    positive: list
    negative: list
    latent: dict


@pytest.fixture(scope="module")
def setup(comfy, mod):
    """Tiny SD1.5 built *under inference mode* (as CheckpointLoader does), two regions, 128 px latent."""
    from support.models import tiny_sd15

    regions_cls = comfy.pack_module("spacetime.regions").Regions
    with torch.inference_mode():
        tiny = tiny_sd15()

        def enc(text):
            return tiny.clip.encode_from_tokens(tiny.clip.tokenize(text), return_pooled=True)

        names = ["cat", "dog"]
        local = [enc(f"a photo of a {n}") for n in names]
        empty = enc("")
        regions = regions_cls(
            embeddings=[c for c, _ in local], pooled=[p for _, p in local],
            boxes=torch.tensor([[0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0]]),
            centers=torch.tensor([[0.25, 0.25], [0.75, 0.75]]), names=names,
            prompts=[f"a photo of a {n}" for n in names], empty=empty[0], empty_pooled=empty[1])
        pc, pp = enc("a cat and a dog")
        positive = [[pc, {"pooled_output": pp}]]
        negative = [[empty[0], {"pooled_output": empty[1]}]]
        latent = {"samples": torch.zeros(1, 4, 16, 16)}
    assert next(tiny.model.model.diffusion_model.parameters()).is_inference()
    return Setup(tiny.model, tiny.vae, regions, positive, negative, latent)


def run(mod, s: Setup, **kw):
    args = dict(model=s.model, regions=s.regions, positive=s.positive, negative=s.negative, latent=s.latent, seed=3,
                steps=STEPS, cfg=7.5, sampler_name="euler", scheduler="normal")
    args.update(kw)
    with torch.inference_mode():                      # as the executor runs nodes
        return mod.SpaceTimeOptimizeStepWeights.execute(**args)


def snapshot(model) -> str:
    return repr(sorted(model.model_options.get("transformer_options", {}).keys())) + repr(model.patches) + \
        repr(model.model_options.get("transformer_options", {}).get("patches", {}))


def test_schema_is_v3_with_tooltips_and_the_three_outputs(mod):
    from comfy_api.latest import io

    schema = mod.SpaceTimeOptimizeStepWeights.define_schema()
    assert issubclass(mod.SpaceTimeOptimizeStepWeights, io.ComfyNode)
    assert schema.node_id == NODE_ID and schema.display_name == "Optimize Step Weights"
    assert schema.category == "conditioning/spacetime" and schema.description
    assert all(i.tooltip for i in schema.inputs), [i.id for i in schema.inputs if not i.tooltip]
    ids = [i.id for i in schema.inputs]
    for name in ["model", "regions", "positive", "negative", "latent", "seed", "steps", "cfg", "sampler_name",
                 "scheduler", "step_weights", "objective", "iterations", "learning_rate", "vae", "clip_model"]:
        assert name in ids
    assert [o.io_type for o in schema.outputs] == ["SPACETIME_STEP_WEIGHTS", "LATENT", "IMAGE"]


def test_attention_objective_raises_the_score_and_leaves_the_input_model_alone(mod, setup):
    before = snapshot(setup.model)
    out = run(mod, setup, iterations=2)
    weights, latent, plot = out.result
    report = out.ui["spacetime_optimize"][0]
    assert weights.values.shape == (2, 50) and not weights.relative and not weights.values.requires_grad
    assert not torch.allclose(weights.values, torch.full((2, 50), 2.5))           # moved from the paper's 5/N
    assert latent["samples"].shape == (1, 4, 16, 16) and torch.isfinite(latent["samples"]).all()
    assert plot.shape[0] == 1 and plot.shape[-1] == 3 and 0 <= float(plot.min()) <= float(plot.max()) <= 1
    # the measurement: loss of the initial weights (first pass) vs the final weights (same steps, same seed)
    assert len(report["losses"]) == 2 and report["final_loss"] < report["losses"][0]
    assert snapshot(setup.model) == before
    assert mod.find_runtime(setup.model) is None


def test_same_seed_same_result_and_the_patch_reproduces_the_latent(comfy, mod, setup):
    a, b = run(mod, setup).result, run(mod, setup).result
    assert torch.equal(a[0].values, b[0].values) and torch.equal(a[1]["samples"], b[1]["samples"])
    import nodes

    patch = comfy.node_class("SpaceTimeAttentionPatch")
    with torch.inference_mode():
        patched = patch.execute(setup.model, setup.regions, step_weights=a[0]).result[0]
        (again,) = nodes.common_ksampler(patched, 3, STEPS, 7.5, "euler", "normal", setup.positive, setup.negative,
                                         setup.latent)
    assert torch.allclose(again["samples"], a[1]["samples"], atol=1e-5)


def test_progress_bar_counts_iterations_times_steps(mod, setup):
    import comfy.utils

    seen = []
    old = comfy.utils.PROGRESS_BAR_HOOK
    comfy.utils.set_progress_bar_global_hook(lambda value, total, preview, node_id=None: seen.append((value, total)))
    try:
        run(mod, setup, iterations=2)
    finally:
        comfy.utils.set_progress_bar_global_hook(old)
    total = seen[-1][1]
    assert seen[-1][0] == total and total > STEPS            # 2 gradient passes (their window) + the final pass


def test_one_progress_table_per_run_shared_by_the_patch_and_the_optimiser(comfy, mod, setup, monkeypatch):
    runtime, sampling = comfy.pack_module("bridge.runtime"), comfy.pack_module("bridge.sampling")
    real, built = runtime.progress_table, []
    for module in (runtime, sampling):                # the optimiser's own import of it too
        monkeypatch.setattr(module, "progress_table", lambda *a, **k: built.append(1) or real(*a, **k))
    run(mod, setup, iterations=2)
    assert len(built) == 1


def test_cancel_stops_cleanly_without_a_graph_or_a_patched_input(mod, setup, monkeypatch):
    import comfy.model_management as mm
    import comfy.utils

    refs = []
    real = mod.optimize

    def spy(weights, *a, **k):
        refs.append(weakref.ref(weights))
        return real(weights, *a, **k)

    monkeypatch.setattr(mod, "optimize", spy)
    before = snapshot(setup.model)
    calls = []

    def hook(value, total, preview, node_id=None):
        calls.append(value)
        if len(calls) == 2:
            mm.interrupt_current_processing(True)

    old = comfy.utils.PROGRESS_BAR_HOOK
    comfy.utils.set_progress_bar_global_hook(hook)
    try:
        raised = None
        try:
            run(mod, setup, iterations=3)
        except mm.InterruptProcessingException as exc:
            raised = type(exc)
    finally:
        comfy.utils.set_progress_bar_global_hook(old)
        mm.interrupt_current_processing(False)
    assert raised is mm.InterruptProcessingException
    assert len(calls) <= 4                                   # stopped at the next step, not at the end
    gc.collect()
    assert refs and refs[0]() is None                        # weights (and any graph holding them) are gone
    assert snapshot(setup.model) == before


# ---------------------------------------------------------------------------------------------- clip objective

@pytest.fixture(scope="module")
def clip_root(tmp_path_factory, mod):
    import folder_paths
    from support.clip_fixtures import write_tiny_clip

    root = tmp_path_factory.mktemp("spacetime_clip")
    write_tiny_clip(root / "tiny-clip")
    (root / "not-clip").mkdir()
    (root / "not-clip" / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (root / "empty").mkdir()
    folder_paths.add_model_folder_path("spacetime_clip", str(root))
    return root


def test_clip_objective_backpropagates_through_vae_and_steps(mod, setup, clip_root):
    assert "tiny-clip" in mod.clip_models.clip_model_names()
    before = snapshot(setup.model)
    flags = [p.requires_grad for p in setup.vae.first_stage_model.parameters()]
    out = run(mod, setup, objective="clip", vae=setup.vae, clip_model="tiny-clip", iterations=2, learning_rate=0.05,
              steps=2)
    weights, latent, _ = out.result
    report = out.ui["spacetime_optimize"][0]
    assert len(report["losses"]) == 2 and all(l == l for l in report["losses"])
    assert not torch.allclose(weights.values, torch.full((2, 50), 2.5))
    assert latent["samples"].shape == (1, 4, 16, 16)
    assert snapshot(setup.model) == before
    assert [p.requires_grad for p in setup.vae.first_stage_model.parameters()] == flags   # flags restored


@pytest.mark.parametrize("name, message", [("none", "was not found"), ("missing", "was not found"),
                                           ("not-clip", "holds a 'bert' model"),
                                           ("empty", "has no readable config.json")])
def test_bad_clip_folders_are_named(mod, setup, clip_root, name, message):
    with pytest.raises(ValueError, match=rf"^Optimize Step Weights: clip_model .*{message}"):
        run(mod, setup, objective="clip", vae=setup.vae, clip_model=name)


# ---------------------------------------------------------------------------------------------- bad input

def test_bad_inputs_name_node_and_field(mod, setup):
    empty_regions = type(setup.regions)(embeddings=[], pooled=[], boxes=torch.zeros(0, 4), centers=torch.zeros(0, 2),
                                        names=[], prompts=[], empty=setup.regions.empty)
    cases = [
        (dict(regions=empty_regions), "regions is empty"),
        (dict(iterations=0), "iterations must be at least 1"),
        (dict(objective="clip"), "vae is required"),
        (dict(latent={"samples": torch.full((1, 4, 16, 16), float("nan"))}), "latent contains NaN"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=rf"^Optimize Step Weights: {message}"):
            run(mod, setup, **kwargs)


def test_an_already_patched_model_is_refused(comfy, mod, setup):
    patch = comfy.node_class("SpaceTimeAttentionPatch")
    with torch.inference_mode():
        patched = patch.execute(setup.model, setup.regions).result[0]
    with pytest.raises(ValueError, match="^Optimize Step Weights: model already carries"):
        run(mod, setup, model=patched)


def test_nan_loss_is_reported_and_nothing_is_left_behind(comfy, mod, setup, monkeypatch):
    monkeypatch.setattr(comfy.pack_module("bridge.probe"), "region_attention_ratio",
                        lambda q, *a, **k: (q.sum() * float("nan")).expand(q.shape[0], 2))
    before = snapshot(setup.model)
    with pytest.raises(ValueError, match=r"^Optimize Step Weights: objective 'attention' gave a nan loss"):
        run(mod, setup)
    assert snapshot(setup.model) == before


def test_out_of_memory_becomes_a_named_error(mod, setup, monkeypatch):
    def boom(*a, **k):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(mod.sampling, "run_in_sampler", boom)
    before = snapshot(setup.model)
    flags = [p.requires_grad for p in setup.model.model.diffusion_model.parameters()]
    with pytest.raises(ValueError, match=r"^Optimize Step Weights: latent: out of memory"):
        run(mod, setup)
    assert snapshot(setup.model) == before
    assert [p.requires_grad for p in setup.model.model.diffusion_model.parameters()] == flags


def test_a_flux_dit_is_refused_with_the_reason(comfy, mod, setup, tiny_flux):
    regions = ps.regions(comfy, tiny_flux.clip)
    with pytest.raises(ValueError, match=r"^Optimize Step Weights: works on UNet models \(SD1.x, SD2.x, SDXL\); this "
                                         r"model is a flux DiT \(Flux\)\. Give it weights from Step Weights Schedule"):
        run(mod, setup, model=tiny_flux.model, regions=regions,
            latent={"samples": torch.zeros(1, 16, 8, 8)})
