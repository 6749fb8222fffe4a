"""Step Weights Schedule node: output type, plot image, and that 'auto' resolves to 5/N in the patch."""
import torch

from support import patch_support as ps


def test_schedule_outputs_weights_and_plot(comfy):
    node = comfy.node_class("SpaceTimeStepWeightsSchedule")
    with torch.inference_mode():
        sw, plot = node.execute("linear", "absolute", 2.0, 0.0, 11, "", "\n1").result
    assert sw.values.shape == (2, 11) and not sw.relative
    assert plot.shape == (1, 256, 512, 3) and plot.dtype == torch.float32 and 0 <= float(plot.min()) < 1


def test_auto_is_five_over_n(comfy, tiny_sd15):
    regs = ps.regions(comfy, tiny_sd15.clip)
    m = ps.patch(comfy, tiny_sd15.model, regs)
    rt = ps.runtime(comfy, m)
    torch.testing.assert_close(rt.weights.values, torch.full((2, 50), 2.5))
    m = ps.patch(comfy, tiny_sd15.model, regs, mode="mix")
    torch.testing.assert_close(ps.runtime(comfy, m).weights.values,
                               torch.full((2, 50), 0.5))
