"""End to end through the real executor: loader -> CLIPTextEncode -> layout -> Region Prompt Encode -> Step Weights
Schedule -> Patch -> KSampler -> VAEDecode, with the full-size random SD1.5 checkpoint."""
import pytest


def _prompt(ckpt, layout_node, bad_box=False):
    p = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["1", 1], "text": "a red cat left of a blue dog"}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["1", 1], "text": ""}},
        "5": {"class_type": "SpaceTimeRegionPromptEncode",
              "inputs": {"clip": ["1", 1], "layout": ["4", 0], "template": "a photo of {phrase}"}},
        "6": {"class_type": "SpaceTimeStepWeightsSchedule",
              "inputs": {"shape": "cosine", "unit": "x auto", "start": 1.0, "end": 0.5, "grid": 50}},
        "7": {"class_type": "SpaceTimeAttentionPatch",
              "inputs": {"model": ["1", 0], "regions": ["5", 0], "step_weights": ["6", 0], "mode": "guidance",
                         "mask_shape": "box", "radius": 0.2, "feather": 0.1, "strength": 1.0,
                         "start_percent": 0.0, "end_percent": 1.0}},
        "8": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "9": {"class_type": "KSampler",
              "inputs": {"model": ["7", 0], "seed": 1, "steps": 2, "cfg": 7.0, "sampler_name": "euler",
                         "scheduler": "normal", "positive": ["2", 0], "negative": ["3", 0],
                         "latent_image": ["8", 0], "denoise": 1.0}},
        "10": {"class_type": "VAEDecode", "inputs": {"samples": ["9", 0], "vae": ["1", 2]}},
        "11": {"class_type": "PreviewImage", "inputs": {"images": ["10", 0]}},
    }
    p["4"] = layout_node
    return p


@pytest.mark.fullsize
def test_full_size_workflow_through_the_executor(comfy, full_sd15_checkpoint):
    if "SpaceTimePredictLayout" not in comfy.nodes.NODE_CLASS_MAPPINGS:
        pytest.skip("SpaceTimePredictLayout is not registered")
    layout = {"class_type": "SpaceTimePredictLayout",
              "inputs": {"text": "a red cat to the left of a blue dog", "width": 64, "height": 64, "seed": 0,
                         "layout_json": ""}}
    run = comfy.run(_prompt(full_sd15_checkpoint, layout))
    assert run.success, run.error_text()
    assert run.outputs["11"]["images"]


@pytest.mark.fullsize
def test_full_size_direct_chain(comfy, full_sd15_checkpoint):
    """The same chain by direct node calls (runs whether or not the layout node is registered)."""
    import nodes
    import torch

    from support import patch_support as ps

    with torch.inference_mode():
        model, clip, vae = nodes.CheckpointLoaderSimple().load_checkpoint(full_sd15_checkpoint)[:3]
    regs = ps.regions(comfy, clip)
    patched = ps.patch(comfy, model, regs)
    pos, neg = ps.encode(clip, "a red cat left of a blue dog"), ps.encode(clip, "")
    a = ps.sample(model, pos, neg, 64, 64, steps=2)
    b = ps.sample(patched, pos, neg, 64, 64, steps=2)
    assert torch.isfinite(b).all() and not torch.equal(a, b)
    with torch.inference_mode():
        img = nodes.VAEDecode().decode(vae, {"samples": b})[0]
    assert img.shape == (1, 64, 64, 3) and torch.isfinite(img).all()
