"""Optimize Step Weights: learns the per-region, per-step weights of the SpaceTime patch for one seed."""
from __future__ import annotations

import dataclasses

import torch
from comfy_api.latest import io

from ..spacetime.optimize.attention import PROBE_DOWNSCALE, AttentionObjective, AttentionRecorder
from ..spacetime.optimize.clip_score import ClipObjective, ClipScorer, crop_boxes
from ..spacetime.optimize.loop import optimize, total_ticks
from ..spacetime.optimize.plot import plot_optimisation
from ..spacetime.combine import MODES
from ..spacetime.masks import SHAPES
from ..spacetime.step_weights import DEFAULT_GRID, StepWeights
from ..bridge import autograd, clip_models, memory, sampling, vae as vae_io
from ..bridge.patch import apply_patch, family_name, find_runtime, model_class
from ..bridge.probe import install_probe
from ..bridge.runtime import PatchConfig
from ..bridge.tokenizer import phrase_token_positions
from .types import Regions as RegionsType, StepWeights as StepWeightsType

NAME = "Optimize Step Weights"
OBJECTIVES = ["attention", "clip"]
# learning_rate 0 = auto. clip: the paper's 0.005. attention: Adam's first steps move each weight by about lr, so
# 0.25 moves the paper's initial 5/N by a visible amount in the default 2 iterations.
AUTO_LR = {"attention": 0.25, "clip": 0.005}
# the attention objective reads cross-attention maps and the clip objective back-propagates through sampling: both
# are built for UNets; on a DiT the node says so instead of failing somewhere inside
OPTIMISABLE_FAMILIES = ("unet",)

clip_models.register_clip_folder()


class SpaceTimeOptimizeStepWeights(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SpaceTimeOptimizeStepWeights",
            display_name=NAME,
            category="conditioning/spacetime",
            description="Optimises the SpaceTime patch's weight of each region at each denoising step for this "
                        "seed and prompt (Wu, Liu et al., ICCV 2023 §3.3): 'attention' (default) pushes each "
                        "object's cross-attention into its region, cheaply; 'clip' is the paper's CLIP loss "
                        "through the VAE and every step. Feed step_weights into SpaceTime Attention Patch with "
                        "the same mode and mask_shape; the latent is the sample with the optimised weights.",
            inputs=[
                io.Model.Input("model", tooltip="The unpatched SD1.x / SD2.x / SDXL model (this node installs the "
                                                "SpaceTime patch on a copy; the input is not changed)."),
                RegionsType.Input("regions", tooltip="Local prompts and boxes from Region Prompt Encode."),
                io.Conditioning.Input("positive", tooltip="The main prompt's conditioning, as for KSampler."),
                io.Conditioning.Input("negative", tooltip="The negative conditioning, as for KSampler."),
                io.Latent.Input("latent", tooltip="The starting latent (e.g. Empty Latent Image), as for KSampler."),
                io.Int.Input("seed", default=0, min=0, max=0xffffffffffffffff, control_after_generate=True,
                             tooltip="Noise seed; the weights are optimised for this seed. Same seed, same result."),
                io.Int.Input("steps", default=20, min=1, max=1000, tooltip="Sampling steps (paper: 50)."),
                io.Float.Input("cfg", default=7.5, min=0.0, max=100.0, step=0.1, round=0.01,
                               tooltip="Classifier-free guidance scale (paper: 7.5)."),
                io.Combo.Input("sampler_name", options=sampling.sampler_names(), default="euler",
                               tooltip="Sampler of the final pass (and of the attention objective's passes). The "
                                       "clip objective back-propagates through an Euler/DDIM loop on the same "
                                       "sigmas."),
                io.Combo.Input("scheduler", options=sampling.scheduler_names(), default="normal",
                               tooltip="Sigma schedule, as for KSampler."),
                StepWeightsType.Input("step_weights", optional=True,
                                      tooltip="Initial weights (e.g. Step Weights Schedule). Default: constant "
                                              "'auto' (5 / N in guidance mode, 0.5 in mix mode), the paper's init."),
                io.Combo.Input("objective", options=OBJECTIVES, default="attention",
                               tooltip="attention: each object's attention to its phrase should fall inside its "
                                       "region (no VAE, no CLIP, about 2x a plain sample). clip: the paper's "
                                       "CLIP ViT-B/32 score of the image and 5x each object crop, back-propagated "
                                       "through the VAE and all steps (needs vae and clip_model; slow, memory "
                                       "hungry)."),
                io.Int.Input("iterations", default=2, min=1, max=100,
                             tooltip="Adam updates; each needs one gradient pass, then one final sampling pass "
                                     "produces the latent (paper: 2 updates, the image from the 3rd pass)."),
                io.Float.Input("learning_rate", default=0.0, min=0.0, max=10.0, step=0.001, round=0.0001,
                               tooltip="Adam learning rate; 0 = auto (clip: 0.005 as the paper; attention: "
                                       "0.25). Each update moves a weight by about this much."),
                io.Combo.Input("mode", options=list(MODES), default="guidance",
                               tooltip="The patch's formula; use the same in SpaceTime Attention Patch."),
                io.Combo.Input("mask_shape", options=list(SHAPES), default="box",
                               tooltip="The patch's mask shape; use the same in SpaceTime Attention Patch."),
                io.Vae.Input("vae", optional=True, tooltip="Only for objective clip: decodes the latent for CLIP."),
                io.Combo.Input("clip_model", options=clip_models.clip_model_names(), default=clip_models.NO_CLIP,
                               tooltip="Only for objective clip: a transformers CLIP folder in "
                                       "ComfyUI/models/spacetime_clip/ (put openai/clip-vit-base-patch32 there)."),
                io.String.Input("clip_prompt", default="", optional=True,
                                tooltip="Only for objective clip: the text the whole image is scored against "
                                        "(your main prompt). Empty: 'a photo of <object> and <object> ...'."),
            ],
            outputs=[
                StepWeightsType.Output(display_name="step_weights",
                                       tooltip="Optimised absolute weights, one row per region."),
                io.Latent.Output(display_name="latent", tooltip="The sample of the final pass (optimised weights)."),
                io.Image.Output(display_name="plot", tooltip="Weights per region over denoising progress, and the "
                                                             "loss per pass."),
            ],
        )

    @classmethod
    def execute(cls, model, regions, positive, negative, latent, seed, steps, cfg, sampler_name, scheduler,
                step_weights=None, objective="attention", iterations=2, learning_rate=0.0, mode="guidance",
                mask_shape="box", vae=None, clip_model=clip_models.NO_CLIP, clip_prompt="") -> io.NodeOutput:
        _validate(model, regions, latent, objective, iterations, steps, vae, clip_model, learning_rate)
        with torch.inference_mode(False), torch.enable_grad():
            try:
                weights, latent_out, image, report = _optimise(
                    model, regions, positive, negative, latent, seed, steps, cfg, sampler_name, scheduler,
                    step_weights, objective, iterations, learning_rate or AUTO_LR[objective], mode, mask_shape,
                    vae, clip_model, clip_prompt or "")
            except ValueError as exc:
                if str(exc).startswith(NAME):
                    raise
                raise ValueError(f"{NAME}: objective {objective}: {exc}") from None
            except Exception as exc:
                if not memory.is_out_of_memory(exc):
                    raise
                memory.free_memory()
                raise ValueError(f"{NAME}: latent: out of memory while optimising with objective '{objective}' "
                                 f"at {tuple(latent['samples'].shape)}; use a smaller latent, fewer steps or "
                                 "the attention objective") from None
        return io.NodeOutput(weights, latent_out, image, ui={"spacetime_optimize": [report]})


def _validate(model, regions, latent, objective, iterations, steps, vae, clip_model, learning_rate) -> None:
    if regions is None or len(regions) == 0:
        raise ValueError(f"{NAME}: regions is empty: there is nothing to optimise (give the layout at least one "
                         "object)")
    if iterations < 1:
        raise ValueError(f"{NAME}: iterations must be at least 1, got {iterations}")
    if steps < 1:
        raise ValueError(f"{NAME}: steps must be at least 1, got {steps}")
    if not learning_rate >= 0:
        raise ValueError(f"{NAME}: learning_rate must be 0 (auto) or positive, got {learning_rate}")
    if not bool(torch.isfinite(latent["samples"]).all()):
        raise ValueError(f"{NAME}: latent contains NaN or infinity; connect a clean latent (e.g. Empty Latent Image)")
    if objective not in OBJECTIVES:
        raise ValueError(f"{NAME}: objective must be one of {OBJECTIVES}, got {objective!r}")
    if find_runtime(model) is not None:
        raise ValueError(f"{NAME}: model already carries a SpaceTime Attention Patch; connect the model from "
                         "before the patch (this node installs its own)")
    if objective == "clip":
        if vae is None:
            raise ValueError(f"{NAME}: vae is required for objective clip (it decodes the latent for CLIP)")
        if clip_models.clip_model_path(clip_model) is None:
            clip_models.load_clip(clip_model, NAME)   # raises the explanatory error


def _optimise(model, regions, positive, negative, latent, seed, steps, cfg, sampler_name, scheduler, step_weights,
              objective, iterations, lr, mode, mask_shape, vae, clip_model, clip_prompt):
    """Everything that runs with autograd on; returns the node's three outputs."""
    regions = dataclasses.replace(regions, embeddings=[e.clone() for e in regions.embeddings],
                                  empty=regions.empty.clone())
    initial = step_weights or StepWeights(torch.ones(1, DEFAULT_GRID), relative=True)
    try:
        initial = initial.resolve(len(regions), mode)
    except ValueError as exc:
        raise ValueError(f"{NAME}: step_weights {exc}") from None
    weights = initial.values.detach().clone().float().requires_grad_(True)
    family = family_name(model)
    if family is not None and family not in OPTIMISABLE_FAMILIES:
        raise ValueError(f"{NAME}: works on UNet models (SD1.x, SD2.x, SDXL); this model is a {family} DiT "
                         f"({model_class(model)}). Give it weights from Step Weights "
                         "Schedule instead.")
    config = PatchConfig(mode=mode, mask_shape=mask_shape)
    patched, runtime = apply_patch(model, regions, StepWeights(weights), config, node=NAME)
    modules = [autograd.denoiser_module(patched)]
    decode, loaders = None, [patched]
    if objective == "attention":
        recorder = AttentionRecorder()
        install_probe(patched, runtime, recorder, phrase_token_positions(regions), PROBE_DOWNSCALE)
        obj = AttentionObjective(recorder)
    else:
        clip, tokenizer, mean, std = clip_models.load_clip(clip_model, NAME)
        names = list(regions.names)
        texts = [clip_prompt or "a photo of " + " and ".join(names)] + [f"A photo of {n}" for n in names]
        clip.to(memory.compute_device())
        obj = ClipObjective(ClipScorer(clip, clip_models.clip_text_ids(tokenizer, texts),
                                       crop_boxes(regions.boxes, regions.centers, mask_shape, config.radius),
                                       mean=mean, std=std))
        decode = vae_io.vae_decoder(vae)
        modules.append(vae_io.vae_module(vae))
        loaders.append(vae_io.vae_patcher(vae))
    sigmas = sampling.schedule(patched, steps, sampler_name, scheduler)
    with autograd.autograd_ready(*modules):
        memory.load_fully(*loaders)
        result, latent_out = sampling.run_in_sampler(
            patched, autograd.clone_tensors(positive), autograd.clone_tensors(negative), autograd.clone_tensors(latent), seed, cfg,
            sampler_name, sigmas, lambda ctx: _body(ctx, weights, obj, iterations, lr),
            lambda ctx: total_ticks(obj, ctx, iterations), decode)
    out = StepWeights(result.weights, relative=False)
    image = plot_optimisation(out, result.losses, result.final_loss, objective, names=list(regions.names))
    report = {"objective": objective, "iterations": iterations, "learning_rate": lr, "losses": result.losses,
              "final_loss": result.final_loss}
    return out, latent_out, torch.from_numpy(image).float().div(255.0).unsqueeze(0), report


def _body(ctx, weights, obj, iterations, lr):
    result = optimize(weights, obj, ctx, iterations, lr, where=NAME)
    return result, result.latent


NODES = [SpaceTimeOptimizeStepWeights]
