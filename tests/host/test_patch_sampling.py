"""Sampling with the patch: exact no-op cases, samplers, composition, errors, the input model untouched."""
import copy

import pytest
import torch

from support import patch_support as ps


@pytest.fixture(scope="module")
def conds(tiny_sd15):
    return ps.encode(tiny_sd15.clip, "a red cat and a blue dog"), ps.encode(tiny_sd15.clip, "")


@pytest.fixture(scope="module")
def regs(comfy, tiny_sd15):
    return ps.regions(comfy, tiny_sd15.clip)


@pytest.fixture(scope="module")
def vanilla(tiny_sd15, conds):
    return ps.sample(tiny_sd15.model, *conds, steps=2, batch=2)


def test_patched_sampling_differs_and_is_finite(comfy, tiny_sd15, conds, regs, vanilla):
    out = ps.sample(ps.patch(comfy, tiny_sd15.model, regs), *conds, steps=2, batch=2)
    assert torch.isfinite(out).all() and not torch.equal(out, vanilla)


@pytest.mark.parametrize("case", ["zero weights", "strength 0", "no regions", "outside start/end"])
def test_no_op_cases_are_bit_exact(comfy, tiny_sd15, conds, regs, vanilla, case):
    if case == "zero weights":
        m = ps.patch(comfy, tiny_sd15.model, regs, ps.constant_weights(comfy, (0.0, 0.0)))
    elif case == "strength 0":
        m = ps.patch(comfy, tiny_sd15.model, regs, strength=0.0)
    elif case == "no regions":
        m = ps.patch(comfy, tiny_sd15.model, ps.regions(comfy, tiny_sd15.clip, boxes=[], phrases=()))
    else:   # two "normal" steps evaluate at sigma_max and sigma_min: progress 0 and 1
        m = ps.patch(comfy, tiny_sd15.model, regs, start_percent=0.2, end_percent=0.4)
    assert torch.equal(ps.sample(m, *conds, steps=2, batch=2), vanilla)


def test_input_model_is_not_mutated(comfy, tiny_sd15, conds, regs, vanilla):
    before = copy.deepcopy(tiny_sd15.model.model_options)
    wrappers = copy.copy(tiny_sd15.model.wrappers)
    patched = ps.patch(comfy, tiny_sd15.model, regs)
    assert patched is not tiny_sd15.model
    assert tiny_sd15.model.model_options == before and tiny_sd15.model.wrappers == wrappers
    ps.sample(patched, *conds, steps=1)
    assert torch.equal(ps.sample(tiny_sd15.model, *conds, steps=2, batch=2), vanilla)
    to = patched.model_options["transformer_options"]["spacetime"]
    assert to["active"] and to["mode"] == "guidance" and len(to["regions"]) == 2


@pytest.mark.parametrize("sampler, scheduler", [("heun", "karras"), ("dpmpp_sde", "normal"),
                                                ("dpmpp_2m", "exponential")])
def test_samplers_and_schedulers(comfy, tiny_sd15, conds, regs, sampler, scheduler):
    m = ps.patch(comfy, tiny_sd15.model, regs)
    rt = ps.runtime(comfy, m, trace=True)
    out = ps.sample(m, *conds, steps=2, sampler=sampler, scheduler=scheduler)
    assert torch.isfinite(out).all() and rt.trace
    assert not rt.in_run and rt._run == type(rt._run)(), "per-run state must be dropped when the run ends"


def test_ksampler_advanced_split_reads_the_same_weights(comfy, tiny_sd15, conds, regs):
    """Steps 0-2 then 2-4 of one schedule equal steps 0-4 in one run: the weights follow the sigmas, not the
    step index of each sub-run (a 4->0 ramp makes any misreading show)."""
    import nodes

    ramp = comfy.pack_module("spacetime.step_weights").StepWeights(torch.tensor([[4.0, 0.0], [4.0, 0.0]]))
    m = ps.patch(comfy, tiny_sd15.model, regs, ramp)
    latent = {"samples": torch.zeros(1, 4, 16, 16)}
    advanced = nodes.KSamplerAdvanced()
    with torch.inference_mode():
        whole = advanced.sample(m, "enable", 0, 4, 7.0, "euler", "normal", *conds, latent, 0, 4, "disable")[0]
        first = advanced.sample(m, "enable", 0, 4, 7.0, "euler", "normal", *conds, latent, 0, 2, "enable")[0]
        split = advanced.sample(m, "disable", 0, 4, 7.0, "euler", "normal", *conds, first, 2, 4, "disable")[0]
        vanilla = advanced.sample(tiny_sd15.model, "enable", 0, 4, 7.0, "euler", "normal", *conds, latent, 0, 4,
                                  "disable")[0]
    torch.testing.assert_close(split["samples"], whole["samples"], atol=1e-4, rtol=1e-4)   # latent rescaling rounds
    assert not torch.allclose(whole["samples"], vanilla["samples"], atol=1e-3)


def test_progress_follows_comfy_percent(comfy, tiny_sd15, regs):
    m = ps.patch(comfy, tiny_sd15.model, regs, comfy.pack_module("spacetime.step_weights").StepWeights(
        torch.tensor([[0.0, 4.0]])), start_percent=0.0, end_percent=1.0)
    rt = ps.runtime(comfy, m)
    ms = tiny_sd15.model.model.model_sampling
    for p in [0.0, 0.05, 0.3, 0.5, 0.77, 0.99]:
        sigma = float(ms.sigma_max) if p == 0.0 else ms.percent_to_sigma(p)
        assert abs(float(rt.progress(torch.tensor([sigma]))[0]) - p) < 2e-3
        if p == 0.0:
            assert rt.weights_at(torch.tensor([sigma]), 1) is None      # all weights 0 there: skipped
            continue
        torch.testing.assert_close(rt.weights_at(torch.tensor([sigma]), 1)[0],
                                   torch.tensor([4.0 * p, 4.0 * p]), atol=1e-2, rtol=0)
    assert float(rt.progress(torch.tensor([0.0]))[0]) == 1.0


class _Scale:
    def __init__(self, f):
        self.f = f

    def __call__(self, n, extra):
        return n * self.f


def _replace(q, k, v, extra):
    from comfy.ldm.modules.attention import optimized_attention

    return optimized_attention(q, k, v, extra["n_heads"]) * 0.5


@pytest.mark.parametrize("other", ["replace", "output before", "output after"])
def test_composes_with_other_attention_patches(comfy, tiny_sd15, conds, regs, other):
    zero = ps.constant_weights(comfy, (0.0, 0.0))

    def build(weights, with_other):
        m = tiny_sd15.model.clone()
        if with_other and other == "replace":
            for name, i, depth in ps.attention_layers(comfy, m):
                m.set_model_attn2_replace(_replace, name, i, depth)
        if with_other and other == "output before":
            m.set_model_attn2_output_patch(_Scale(0.7))
        m = ps.patch(comfy, m, regs, weights)
        if with_other and other == "output after":
            m.set_model_attn2_output_patch(_Scale(0.7))
        return m

    other_only = ps.sample(build(zero, True), *conds)
    ours_only = ps.sample(build(None, False), *conds)
    both = ps.sample(build(None, True), *conds)
    assert not torch.equal(both, other_only) and not torch.equal(both, ours_only)
    assert torch.isfinite(both).all()


def test_model_without_cross_attention_is_a_clear_error(comfy, tiny_sd15, regs):
    from comfy.model_patcher import ModelPatcher
    from comfy.ops import disable_weight_init

    class NoCrossAttn(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.diffusion_model = disable_weight_init.Conv2d(4, 4, 1)

    patcher = ModelPatcher(NoCrossAttn(), torch.device("cpu"), torch.device("cpu"))
    with pytest.raises(ValueError, match=r"SpaceTime Attention Patch: the patch does not know this model \(Conv2d\): "
                                         r"it finds no attention layers where text meets image. Supported: SD1.x.*; "
                                         r"Flux.1 \(dev, schnell, Kontext\) and Chroma; Flux.2 \(dev, Klein\); "
                                         r"SD3 and SD3.5"):
        ps.patch(comfy, patcher, regs)


def test_regions_from_another_clip_are_a_clear_error(comfy, tiny_sd15, tiny_sdxl):
    with pytest.raises(ValueError, match="SpaceTime Attention Patch: regions were encoded to 128-wide"):
        ps.patch(comfy, tiny_sd15.model, ps.regions(comfy, tiny_sdxl.clip))


def test_step_weights_rows_must_match_regions(comfy, tiny_sd15, regs):
    sw = comfy.pack_module("spacetime.step_weights").StepWeights(torch.ones(3, 4))
    with pytest.raises(ValueError, match="SpaceTime Attention Patch: step_weights has 3 rows but there are 2"):
        ps.patch(comfy, tiny_sd15.model, regs, sw)


def test_sdxl_square_and_non_square(comfy, tiny_sdxl):
    regs = ps.regions(comfy, tiny_sdxl.clip)
    pos, neg = ps.encode(tiny_sdxl.clip, "a red cat and a blue dog"), ps.encode(tiny_sdxl.clip, "")
    m = ps.patch(comfy, tiny_sdxl.model, regs, feather=0.2, mode="mix")
    for h, w in [(128, 128), (64, 128)]:
        a, b = ps.sample(tiny_sdxl.model, pos, neg, h, w), ps.sample(m, pos, neg, h, w)
        assert torch.isfinite(b).all() and not torch.equal(a, b)


def test_unknown_mode_is_a_clear_error_not_mix(comfy, tiny_sd15, regs):
    """ComfyUI checks menu values in the UI; a mode that slipped past would otherwise run as mix."""
    with pytest.raises(ValueError, match=r"SpaceTime Attention Patch: mode must be one of \['guidance', 'mix'\]"):
        ps.patch(comfy, tiny_sd15.model, regs, mode="guidence")
