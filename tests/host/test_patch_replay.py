"""The replayed per-layer path (issue 18): each layer's SpaceTime term captured once per input shape and replayed.

On the CPU host the capture is `support.emulated_graph.EmulatedGraph`, which keeps a CUDA graph's contract (static
input buffers, an output that holds nothing until a replay, the same output tensor at every replay), so these
tests show the captured path gives the eager path's latents bit for bit. The real CUDA graphs run in the last
test, on GPU hosts only."""
from __future__ import annotations

import gc
import logging

import pytest
import torch

from support import patch_support as ps
from support.emulated_graph import EmulatedGraph, emulated_graphs


@pytest.fixture
def conds(tiny_sd15):
    return ps.encode(tiny_sd15.clip, "a red cat and a blue dog"), ps.encode(tiny_sd15.clip, "")


def _patched(comfy, tiny_sd15, capture_for, **kw):
    m = ps.patch(comfy, tiny_sd15.model, ps.regions(comfy, tiny_sd15.clip), **kw)
    rt = ps.runtime(comfy, m)
    rt.capture_for = capture_for
    return m, rt


@pytest.mark.parametrize("mode, cfg", [("guidance", 7.0), ("mix", 7.0), ("guidance", 1.0)])
def test_replayed_layers_give_the_eager_latents_bit_for_bit(comfy, tiny_sd15, conds, mode, cfg):
    eager, _ = _patched(comfy, tiny_sd15, lambda device: None, mode=mode)
    expected = ps.sample(eager, *conds, steps=4, batch=2, cfg=cfg)
    m, rt = _patched(comfy, tiny_sd15, emulated_graphs, mode=mode)
    EmulatedGraph.reset()
    got = ps.sample(m, *conds, steps=4, batch=2, cfg=cfg)
    assert len(EmulatedGraph.made) == len(rt.layers)            # one unit per layer: captured at the 2nd step
    assert EmulatedGraph.replays == 3 * len(rt.layers)          # and replayed at steps 2, 3 and 4
    assert torch.equal(got, expected)


def test_a_new_resolution_or_batch_is_captured_anew_and_freed_after_each_run(comfy, tiny_sd15, conds):
    eager, _ = _patched(comfy, tiny_sd15, lambda device: None)
    m, rt = _patched(comfy, tiny_sd15, emulated_graphs)
    for height, width, batch in ((64, 64, 1), (64, 96, 1), (64, 96, 2)):
        EmulatedGraph.reset()
        got = ps.sample(m, *conds, height=height, width=width, steps=3, batch=batch)
        assert len(EmulatedGraph.made) == len(rt.layers), (height, width, batch)
        assert torch.equal(got, ps.sample(eager, *conds, height=height, width=width, steps=3, batch=batch))
        gc.collect()
        assert EmulatedGraph.alive() == 0 and not rt._run.replays, "a run's units must be freed when it ends"


def test_weights_cast_at_every_call_stay_eager_and_say_so(comfy, tiny_sd15, conds, caplog):
    """ComfyUI casts or moves a layer's weights at every call under lowvram, another storage dtype or LoRA on the
    fly; a replay would read the cast of its capture."""
    eager, _ = _patched(comfy, tiny_sd15, lambda device: None)
    m, rt = _patched(comfy, tiny_sd15, emulated_graphs)
    modules = [attn.to_q for attn in rt.layers.values()]
    try:
        for module in modules:
            module.comfy_cast_weights = True
        expected = ps.sample(eager, *conds, steps=3)
        EmulatedGraph.reset()
        with caplog.at_level(logging.INFO, logger="spacetime_attention"):
            got = ps.sample(m, *conds, steps=3)
    finally:
        for module in modules:
            module.comfy_cast_weights = False
    assert not EmulatedGraph.made and torch.equal(got, expected)
    assert any("runs eagerly" in r.getMessage() and "cast or moved" in r.getMessage() for r in caplog.records)


def test_a_failed_capture_falls_back_to_eager_with_a_warning(comfy, tiny_sd15, conds, caplog):
    class Failing(EmulatedGraph):
        def capture(self, fn):
            raise RuntimeError("operation not permitted when stream is capturing")

    eager, _ = _patched(comfy, tiny_sd15, lambda device: None)
    m, _ = _patched(comfy, tiny_sd15, lambda device: Failing)
    with caplog.at_level(logging.INFO, logger="spacetime_attention"):
        got = ps.sample(m, *conds, steps=3)
    assert torch.equal(got, ps.sample(eager, *conds, steps=3))
    assert any(r.levelno == logging.WARNING and "capture failed" in r.getMessage() for r in caplog.records)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="real CUDA graphs (GPU hosts only)")
def test_cuda_graphs_match_eager_and_free_their_memory(comfy, tiny_sd15, conds):
    if tiny_sd15.model.load_device.type != "cuda":
        pytest.skip("host booted on the CPU (SPACETIME_HOST_DEVICE unset)")
    eager, _ = _patched(comfy, tiny_sd15, lambda device: None)
    m, rt = _patched(comfy, tiny_sd15, comfy.pack_module("spacetime.replay").cuda_graphs)
    expected = ps.sample(eager, *conds, steps=4, batch=2)
    ps.sample(m, *conds, steps=1, batch=2)                      # loads the model, builds the masks
    torch.cuda.synchronize()
    gc.collect()
    before = torch.cuda.memory_allocated()
    got = ps.sample(m, *conds, steps=4, batch=2)
    torch.cuda.synchronize()
    gc.collect()
    assert torch.cuda.memory_allocated() == before
    torch.testing.assert_close(got, expected, rtol=2e-3, atol=2e-3)
    again = ps.sample(m, *conds, height=64, width=96, steps=4, batch=1)   # another resolution: captured anew
    assert torch.isfinite(again).all()
