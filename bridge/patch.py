"""Installing the SpaceTime patch on a clone of a ModelPatcher, and finding it again."""
from __future__ import annotations

from typing import Any

import torch

from ..spacetime.regions import Regions
from ..spacetime.step_weights import StepWeights
from .families import family_of, supported
from .families.lookup import diffusion_model
from .runtime import PatchConfig, SpaceTimeRuntime

WRAPPER_KEY = "spacetime_attention"
OPTIONS_KEY = "spacetime"


class RunWrapper:
    """``OUTER_SAMPLE`` wrapper: a fresh per-run state for every sampling run, dropped when it ends."""

    def __init__(self, runtime: SpaceTimeRuntime):
        self.runtime = runtime

    def __deepcopy__(self, memo):
        return self

    def __call__(self, executor, *args, **kwargs):
        # CFGGuider.outer_sample(noise, latent_image, sampler, sigmas, ...): the schedule, usually still on the CPU
        sigmas = kwargs.get("sigmas", args[3] if len(args) > 3 else None)
        self.runtime.begin_run(sigmas if isinstance(sigmas, torch.Tensor) else None)
        try:
            return executor(*args, **kwargs)
        finally:
            self.runtime.end_run()


def apply_patch(model: Any, regions: Regions, weights: StepWeights, config: PatchConfig,
                node: str = "SpaceTime Attention Patch") -> tuple[Any, SpaceTimeRuntime | None]:
    """Clone `model` and install the hooks of its family. The input patcher is never modified.

    Returns ``(clone, runtime)``; with no regions or zero strength the clone is returned without hooks."""
    import comfy.patcher_extension

    found = family_of(model)
    if found is None:
        raise ValueError(f"{node}: the patch does not know this model ({model_class(model)}): it finds no "
                         f"attention layers where text meets image. Supported: {supported()}.")
    family, layers = found
    widths = family.context_dims(model, layers)
    if len(regions) and regions.context_dim not in widths:
        raise ValueError(f"{node}: regions were encoded to {regions.context_dim}-wide embeddings but the model's "
                         f"text input expects {sorted(widths)}: encode the regions with this model's CLIP")
    m = model.clone()
    info = {"version": 1, "family": family.NAME, "mode": config.mode, "mask_shape": config.mask_shape,
            "radius": config.radius, "feather": config.feather, "strength": config.strength,
            "start_percent": config.start_percent, "end_percent": config.end_percent, "blocks": config.blocks,
            "region_attention": config.region_attention, "modulation": config.modulation,
            "regions": regions.describe()}
    options = m.model_options.setdefault("transformer_options", {})
    if len(regions) == 0 or config.strength == 0:
        options[OPTIONS_KEY] = dict(info, active=False)
        return m, None
    runtime = SpaceTimeRuntime(m.model, layers, family.build_ops, regions, weights, config)
    options[OPTIONS_KEY] = dict(info, active=True)
    try:
        family.install(m, runtime)
    except ValueError as err:        # a setting this model cannot take (e.g. a block it does not have)
        raise ValueError(f"{node}: {err}") from None
    m.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.OUTER_SAMPLE, WRAPPER_KEY, RunWrapper(runtime))
    return m, runtime


def family_name(model: Any) -> str | None:
    """The name of the model family the patch would use on `model` ("unet", "flux", ...), or None."""
    found = family_of(model)
    return found[0].NAME if found is not None else None


def model_class(model: Any) -> str:
    """The class name users know the model by (the diffusion model's, e.g. ``WanModel``), for messages."""
    inner = diffusion_model(model)
    return type(inner).__name__ if inner is not None else type(model).__name__


def find_runtime(model: Any) -> SpaceTimeRuntime | None:
    """The runtime installed on a patched model, or None."""
    import comfy.patcher_extension

    wrappers = getattr(model, "wrappers", {}).get(comfy.patcher_extension.WrappersMP.OUTER_SAMPLE, {})
    for wrapper in wrappers.get(WRAPPER_KEY, []):
        if isinstance(wrapper, RunWrapper):
            return wrapper.runtime
    return None
