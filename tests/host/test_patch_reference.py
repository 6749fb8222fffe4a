"""The patch inside the real tiny UNets equals the method's equations (support.reference) in every layer."""
import pytest
import torch

from support import patch_support as ps


def _run(comfy, tiny, mode="guidance", mask_shape="box", cfg=7.0, height=128, width=128, batch=1,
         positive="a red cat and a blue dog", negative="", weights=(1.5, 0.7), overrides="", **kw):
    regs = ps.regions(comfy, tiny.clip, overrides=overrides)
    patched = ps.patch(comfy, tiny.model, regs, ps.constant_weights(comfy, weights), mode=mode,
                       mask_shape=mask_shape)
    m = patched.clone()
    cap = ps.LayerCapture()
    cap.install(m, ps.runtime(comfy, m))
    ps.sample(m, ps.encode(tiny.clip, positive), ps.encode(tiny.clip, negative), height, width, cfg=cfg,
              batch=batch, **kw)
    return m, cap, regs


@pytest.mark.parametrize("mode, mask_shape", [("guidance", "box"), ("guidance", "disc"), ("mix", "box")])
def test_every_layer_matches_reference_sd15(comfy, tiny_sd15, mode, mask_shape):
    m, cap, regs = _run(comfy, tiny_sd15, mode, mask_shape, batch=2)
    assert len(cap.records) == 16
    assert all(rec["applied"] is not None for rec in cap.records)
    assert ps.reference_check(comfy, m, cap.records, regs, [1.5, 0.7], mode, mask_shape) == 16


def test_non_square_and_long_prompts_sd15(comfy, tiny_sd15):
    long_prompt = ", ".join(["a very detailed photograph of a red cat next to a blue dog"] * 10)   # > 77 tokens
    long_local = "\n" + " ".join(["a fluffy blue dog with a long tail"] * 14)                    # region 1: 154
    m, cap, regs = _run(comfy, tiny_sd15, height=64, width=128, positive=long_prompt, overrides=long_local)
    assert [e.shape[1] for e in regs.embeddings] == [77, 154]
    assert cap.records[0]["context"].shape[1] >= 154
    assert {tuple(r["shape"][-2:]) for r in cap.records} >= {(8, 16), (4, 8)}
    assert ps.reference_check(comfy, m, cap.records, regs, [1.5, 0.7]) == 16


def test_cfg1_cond_only_calls_use_the_empty_prompt_baseline(comfy, tiny_sd15):
    m, cap, regs = _run(comfy, tiny_sd15, cfg=1.0)
    assert all(r["cond_or_uncond"] == [0] for r in cap.records)
    assert all(r["applied"].baseline == "empty_prompt" for r in cap.records)
    assert ps.reference_check(comfy, m, cap.records, regs, [1.5, 0.7]) == 16


def test_several_cond_entries(comfy, tiny_sd15):
    import nodes

    regs = ps.regions(comfy, tiny_sd15.clip)
    patched = ps.patch(comfy, tiny_sd15.model, regs, ps.constant_weights(comfy, (1.5, 0.7)))
    m = patched.clone()
    cap = ps.LayerCapture()
    cap.install(m)
    with torch.inference_mode():
        pos = nodes.ConditioningCombine().combine(ps.encode(tiny_sd15.clip, "a red cat"),
                                                  ps.encode(tiny_sd15.clip, "a blue dog on grass"))[0]
    ps.sample(m, pos, ps.encode(tiny_sd15.clip, ""))
    assert sorted(cap.records[0]["cond_or_uncond"]) == [0, 0, 1]
    assert ps.reference_check(comfy, m, cap.records, regs, [1.5, 0.7]) == 16


def test_every_layer_matches_reference_sdxl_non_square(comfy, tiny_sdxl):
    m, cap, regs = _run(comfy, tiny_sdxl, height=128, width=64)
    assert regs.context_dim == cap.records[0]["context"].shape[-1]
    assert regs.pooled[0] is not None
    assert len(cap.records) >= 10
    assert ps.reference_check(comfy, m, cap.records, regs, [1.5, 0.7]) == len(cap.records)


def _direct_call(comfy, tiny, order, batch=2):
    """One UNet call with chunks in the given cond_or_uncond order; returns the captured records."""
    regs = ps.regions(comfy, tiny.clip)
    m = ps.patch(comfy, tiny.model, regs, ps.constant_weights(comfy, (1.5, 0.7))).clone()
    cap = ps.LayerCapture()
    cap.install(m, ps.runtime(comfy, m))
    ctx = {0: ps.encode(tiny.clip, "a red cat and a blue dog")[0][0], 1: ps.encode(tiny.clip, "")[0][0]}
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 4, 16, 16, generator=g)
    sigma = torch.full((batch,), 3.0)
    to = dict(m.model_options["transformer_options"], cond_or_uncond=list(order), sigmas=sigma)
    with torch.inference_mode():
        out = m.model.apply_model(torch.cat([x] * len(order)), torch.cat([sigma] * len(order)),
                                  c_crossattn=torch.cat([ctx[c].expand(batch, -1, -1) for c in order]),
                                  transformer_options=to)
    return m, cap, regs, out


@pytest.mark.parametrize("order", [[0, 1], [1, 0], [0], [1], [1, 0, 1, 0]])
def test_any_chunk_order(comfy, tiny_sd15, order):
    m, cap, regs, out = _direct_call(comfy, tiny_sd15, order)
    assert ps.reference_check(comfy, m, cap.records, regs, [1.5, 0.7]) == 16
    if order == [1]:
        assert all(r["applied"] is None for r in cap.records)


def test_order_does_not_change_the_result(comfy, tiny_sd15):
    _, _, _, a = _direct_call(comfy, tiny_sd15, [0, 1])
    _, _, _, b = _direct_call(comfy, tiny_sd15, [1, 0])
    torch.testing.assert_close(a[:2], b[2:], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(a[2:], b[:2], atol=1e-5, rtol=1e-5)


def _l_shape_and_square() -> torch.Tensor:
    """Two 128 x 128 object masks on a 16 px grid (so every attention cell centre reads a whole pixel): an L whose
    box holds an empty corner, and a plain square."""
    masks = torch.zeros(2, 128, 128)
    masks[0, 16:80, 16:32] = 1.0
    masks[0, 64:80, 16:64] = 1.0
    masks[1, 32:96, 80:112] = 1.0
    return masks


def test_mask_shaped_regions_act_on_the_shape_cells_only(comfy, tiny_sd15):
    """Masks to Layout -> Region Prompt Encode -> patch with mask_shape "mask": every layer equals the equations
    with the masks read at each cell's centre, and the L's empty corner (inside its box) is untouched."""
    pixel_masks = _l_shape_and_square()
    layout = comfy.node_class("SpaceTimeMasksToLayout").execute(pixel_masks, "a red cat\na blue dog").result[0]
    with torch.inference_mode():
        regs = comfy.node_class("SpaceTimeRegionPromptEncode").execute(tiny_sd15.clip, layout).result[0]
    assert regs.shapes[0] is not None and not bool(regs.shapes[0].all()) and bool(regs.shapes[1].all())
    patched = ps.patch(comfy, tiny_sd15.model, regs, ps.constant_weights(comfy, (1.5, 0.7)), mask_shape="mask")
    m = patched.clone()
    cap = ps.LayerCapture()
    cap.install(m, ps.runtime(comfy, m))
    ps.sample(m, ps.encode(tiny_sd15.clip, "a red cat and a blue dog"), ps.encode(tiny_sd15.clip, ""), 128, 128)
    assert ps.reference_check(comfy, m, cap.records, regs, [1.5, 0.7], "guidance", "mask",
                              pixel_masks=list(pixel_masks)) == 16
    from support import reference as ref
    shaped, boxed = ref.sampled_mask(pixel_masks[0], 16, 16), ref.box_mask(regs.boxes[0].tolist(), 16, 16)
    assert shaped.sum() < boxed.sum() and shaped[2 * 16 + 5] == 0 and boxed[2 * 16 + 5] == 1   # the empty corner
    assert any(tuple(rec["shape"][-2:]) == (16, 16) for rec in cap.records)
