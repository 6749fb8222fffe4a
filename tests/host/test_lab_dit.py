"""The DiT lab model in the real ComfyUI: training a few steps resumes exactly and exports a checkpoint that the
lab's loader node builds from ComfyUI's Flux classes; the standard graph samples it through KSampler, and the
pack's Region Prompt Encode + Attention Patch run on it end to end (weight 0 = vanilla to the bit)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lab.dit_model import DitSize
from lab.graphs import DIT_SAMPLER, LOADER, Variant
from lab.heldout import heldout_scenes

FIXTURE = Path(__file__).resolve().parents[2] / "lab" / "fixtures" / "spacetime_lab_dit.safetensors"
STEPS = 4  # sampler steps: the graph's mechanics, not image quality


def _ema(run: Path) -> dict[str, torch.Tensor]:
    state = torch.load(run / "last.pt", weights_only=True)
    return {**state["ema_unet"], **{f"text.{k}": v for k, v in state["ema_text"].items()}}


@pytest.fixture(scope="module")
def dit_host(comfy, tmp_path_factory):
    """The lab host, with a DiT checkpoint exported from a 3-step run (resumed after 2) among its checkpoints."""
    import folder_paths

    from lab.dit_train import main
    from lab.experiment import boot_host

    host = boot_host()
    torch.set_num_threads(1)
    runs = tmp_path_factory.mktemp("dit_runs")
    common = ["--batch", "2", "--seed", "3", "--save-every", "1"]
    main(["--run", str(runs / "straight"), "--steps", "3", *common])
    main(["--run", str(runs / "split"), "--steps", "2", *common])
    main(["--run", str(runs / "split"), "--steps", "3", *common])
    out = tmp_path_factory.mktemp("dit_export") / "lab_dit_test.safetensors"
    main(["--run", str(runs / "split"), "--export", str(out)])
    folder_paths.add_model_folder_path("checkpoints", str(out.parent))
    host.dit_runs, host.dit_checkpoint = runs, out
    return host


def test_resumed_dit_run_equals_uninterrupted_run(dit_host):
    straight, split = _ema(dit_host.dit_runs / "straight"), _ema(dit_host.dit_runs / "split")
    assert straight.keys() == split.keys()
    assert all(torch.equal(straight[k], split[k]) for k in straight)


def test_export_is_flux1_named_safetensors_that_comfyui_cannot_detect(dit_host):
    import comfy.sd
    from safetensors import safe_open

    with safe_open(str(dit_host.dit_checkpoint), framework="pt") as f:
        keys = set(f.keys())
        assert f.metadata()["lab_train_step"] == "3"
    assert "model.diffusion_model.double_blocks.0.img_attn.norm.query_norm.scale" in keys
    assert {"vae.taesd_decoder.1.weight", "text_encoders.clip_l.transformer.text_model.final_layer_norm.weight"} <= keys
    # ComfyUI's Flux detection assumes the real model's heads: 0.3.75 refuses 128 / 24 heads, 0.33.0 misreads the
    # q/k norm size.
    with pytest.raises((ValueError, RuntimeError), match="num_heads|size mismatch"):
        comfy.sd.load_checkpoint_guess_config(str(dit_host.dit_checkpoint))


def test_checkpoint_loads_through_the_lab_loader_node_as_comfyui_flux(dit_host):
    import comfy.ldm.flux.model
    import comfy.model_base
    import comfy.supported_models as supported_models

    model, clip, vae = dit_host.node_class(LOADER).execute(dit_host.dit_checkpoint.name).result
    dit_model = dit_host.sibling_module(LOADER, "dit_model")
    assert type(model.model.model_config) is dit_model.dit_model_config_class()
    assert type(model.model) is comfy.model_base.Flux
    assert type(model.model.diffusion_model) is comfy.ldm.flux.model.Flux
    assert (len(model.model.diffusion_model.double_blocks), len(model.model.diffusion_model.single_blocks)) == (2, 4)
    assert all(m.__module__ == "comfy.supported_models" for m in supported_models.models)
    tokens = clip.tokenize("a red circle to the left of a blue square")
    cond, pooled = clip.encode_from_tokens(tokens, return_pooled=True)
    assert tuple(cond.shape) == (1, 77, 48) and tuple(pooled.shape) == (1, 48)
    with torch.no_grad():
        image = vae.decode(torch.zeros(1, 16, 32, 32))
    assert tuple(image.shape) == (1, 256, 256, 3)


def test_a_run_of_another_size_exports_and_loads_at_that_size(dit_host, tmp_path):
    """--width/--double/--single/--head build the run's Flux; export and the loader node read the size (head
    width included) from the weights."""
    import folder_paths

    from lab.dit_train import main

    main(["--run", str(tmp_path / "run"), "--steps", "1", "--batch", "2", "--width", "192", "--double", "1",
          "--single", "3", "--head", "32"])
    out = tmp_path / "export" / "lab_dit_size_test.safetensors"
    main(["--run", str(tmp_path / "run"), "--export", str(out)])
    folder_paths.add_model_folder_path("checkpoints", str(out.parent))
    model = dit_host.node_class(LOADER).execute(out.name).result[0]
    flux = model.model.diffusion_model
    assert (flux.hidden_size, flux.num_heads, len(flux.double_blocks), len(flux.single_blocks)) == (192, 6, 1, 3)
    assert list(flux.params.axes_dim) == [8, 12, 12]
    with torch.no_grad():
        out_latent = model.model.apply_model(torch.zeros(1, 16, 32, 32), torch.tensor([0.5]),
                                             c_crossattn=torch.zeros(1, 77, 48), y=torch.zeros(1, 48))
    assert tuple(out_latent.shape) == (1, 16, 32, 32)


def test_text_encoder_can_start_from_the_unet_labs(dit_host, tmp_path):
    """--text-from: the run's text encoder (and its EMA copy) start as the UNet lab's trained one; a file without
    the lab's text encoder is refused, naming the option."""
    from safetensors.torch import load_file, save_file

    from lab.dit_train import DitTrainer

    unet_lab = FIXTURE.parent / "spacetime_lab.safetensors"
    trainer = DitTrainer(0, 1e-3, 0.995, text_from=unet_lab)
    saved = {k[len("cond_stage_model."):]: v for k, v in load_file(str(unet_lab)).items()
             if k.startswith("cond_stage_model.")}
    for text in (trainer.text, trainer.ema_text):
        own = text.state_dict()
        assert all(torch.equal(own[k], v.float()) for k, v in saved.items())
    key = "transformer.text_model.encoder.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(DitTrainer(0, 1e-3, 0.995).text.state_dict()[key], trainer.text.state_dict()[key])
    other = tmp_path / "not_lab.safetensors"
    save_file({"cond_stage_model.transformer.text_model.final_layer_norm.weight": torch.ones(48)}, str(other))
    with pytest.raises(ValueError, match="--text-from: not_lab.safetensors does not hold the lab's text encoder"):
        DitTrainer(0, 1e-3, 0.995, text_from=other)


def test_fixed_taesd_round_trips_a_scene_through_flux_latents(dit_host):
    from lab.render import render
    from lab.scenes import random_scene

    _, _, vae = dit_host.node_class(LOADER).execute(dit_host.dit_checkpoint.name).result
    import random

    pixels = torch.from_numpy(render(random_scene(random.Random(5)))).float()           # 32 x 32 x 3
    image = torch.nn.functional.interpolate(pixels.permute(2, 0, 1)[None], scale_factor=8, mode="nearest")
    with torch.no_grad():
        latent = vae.encode(image.permute(0, 2, 3, 1))
        decoded = vae.decode(latent)
    assert tuple(latent.shape) == (1, 16, 32, 32)
    assert torch.count_nonzero(latent[:, 4:] - latent[0, 4, 0, 0]) == 0     # the unused channels hold one value
    coarse = torch.nn.functional.avg_pool2d(decoded.permute(0, 3, 1, 2), 8)[0].permute(1, 2, 0)
    assert (coarse - pixels).abs().mean() < 0.05


def test_graph_samples_and_the_patch_runs_end_to_end(dit_host):
    """Load -> CLIPTextEncode -> [Predict Layout -> Region Prompt Encode -> Step Weights -> Attention Patch] ->
    KSampler (Euler, simple) -> VAEDecode: vanilla and patched images come back, weight 0 is vanilla to the bit,
    and the patched image differs."""
    from lab.experiment import run_caption

    variants = [Variant("vanilla"), Variant("w0", "gold", "guidance", 0.0),
                Variant("patched", "predicted", "guidance", 4.0, weight_end=0.0),
                Variant("mix", "gold", "mix", 1.0)]
    images = run_caption(dit_host, heldout_scenes()[0], variants, seed=7, batch=2,
                         checkpoint=dit_host.dit_checkpoint.name, sampler={**DIT_SAMPLER, "steps": STEPS})
    assert all(len(images[v.name]) == 2 and images[v.name][0].shape == (256, 256, 3) for v in variants)
    assert np.array_equal(images["vanilla"][0], images["w0"][0])
    assert not np.array_equal(images["vanilla"][0], images["patched"][0])
    assert not np.array_equal(images["vanilla"][0], images["mix"][0])


@pytest.mark.skipif(not FIXTURE.exists(), reason="lab/fixtures/spacetime_lab_dit.safetensors is not there")
def test_trained_fixture_draws_the_objects_of_a_caption(comfy):
    """The committed DiT draws shapes the detector finds (20 Euler steps, cfg 4, as the experiment samples)."""
    from lab.detect import detect
    from lab.experiment import boot_host, run_caption

    host = boot_host()
    scene = heldout_scenes()[0]
    images = run_caption(host, scene, [Variant("vanilla")], seed=1000, batch=2, checkpoint=FIXTURE.name,
                         sampler=DIT_SAMPLER)
    found = [detect(image) for image in images["vanilla"]]
    assert any(len(f) > 0 for f in found)


@pytest.mark.skipif(not FIXTURE.exists(), reason="lab/fixtures/spacetime_lab_dit.safetensors is not there")
def test_pooled_probe_finds_colour_in_the_context_and_shape_in_the_pooled_text(comfy, tmp_path):
    """`lab.pooled_probe` end to end on the committed DiT (docs/lab.md, "Regional modulation"): objects take the
    colour of the prompt whose text tokens the model reads, and a green square's tokens with a yellow circle's
    pooled text draw a circle."""
    from lab.pooled_probe import PAIRS, main

    table = tmp_path / "pooled.md"
    main(["--checkpoint", str(FIXTURE), "--samples", "1", "--table", str(table)])
    rows = [line.strip("| ").split(" | ") for line in table.read_text().splitlines()[2:]]
    assert len(rows) == 4 * len(PAIRS)
    for context, _pooled, drawn in rows:
        if context != "(empty)" and drawn != "none":
            assert {found.split("/")[0] for found in drawn.split(", ")} == {context.split()[1]}, (context, drawn)
    swapped = {(c, p): d for c, p, d in rows}[("a green square", "a yellow circle")]
    assert swapped.split(", ")[0] == "green/circle"


def test_a_run_can_start_from_an_exported_checkpoint(dit_host, tmp_path):
    """--init-from: the Flux, the text encoder and their EMA copies start as the file's weights, at the step it
    records, and training continues from there; a file of another size or kind is refused, naming the option."""
    from safetensors.torch import load_file, save_file

    from lab.dit_train import DitTrainer, main

    saved = load_file(str(dit_host.dit_checkpoint))
    trainer = DitTrainer(0, 1e-3, 0.995, init_from=dit_host.dit_checkpoint)
    assert trainer.step_index == 3
    for flux in (trainer.unet, trainer.ema_unet):
        own = flux.state_dict()
        for key, value in saved.items():
            if key.startswith("model.diffusion_model."):
                name = key[len("model.diffusion_model."):]
                name = name if name in own else name.replace("_norm.scale", "_norm.weight")
                assert torch.equal(own[name], value.float()), name
    text_key = "transformer.text_model.encoder.layers.0.self_attn.q_proj.weight"
    assert torch.equal(trainer.ema_text.state_dict()[text_key], saved["text_encoders.clip_l." + text_key].float())

    main(["--run", str(tmp_path / "continued"), "--steps", "4", "--batch", "2", "--init-from",
          str(dit_host.dit_checkpoint)])
    assert torch.load(tmp_path / "continued" / "last.pt", weights_only=True)["step"] == 4

    with pytest.raises(ValueError, match="--init-from: .* holds a DiT of DitSize\\(width=128.*the run asks for"):
        DitTrainer(0, 1e-3, 0.995, size=DitSize(width=192), init_from=dit_host.dit_checkpoint)
    other = tmp_path / "not_dit.safetensors"
    save_file({"cond_stage_model.transformer.text_model.final_layer_norm.weight": torch.ones(48)}, str(other))
    with pytest.raises(ValueError, match="--init-from: not_dit.safetensors is not a DiT lab checkpoint"):
        DitTrainer(0, 1e-3, 0.995, init_from=other)
