"""Running Optimize Step Weights inside one ComfyUI sampling call.

A KSAMPLER whose sampler function is ours lets ComfyUI load the model, process the conds, batch cond/uncond and
apply CFG and every model patch exactly as for a KSampler; we get the CFG denoiser, the noised x_T and the
schedule, and call the user's real sampler function for the passes without gradients.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from ..spacetime.optimize.context import CallWrapper, SamplingContext
from .patch import find_runtime
from .progress import progress_table, sigma_to_progress


def sampler_names() -> list[str]:
    import comfy.samplers

    return list(comfy.samplers.KSampler.SAMPLERS)


def scheduler_names() -> list[str]:
    import comfy.samplers

    return list(comfy.samplers.KSampler.SCHEDULERS)


def schedule(model: Any, steps: int, sampler_name: str, scheduler: str) -> torch.Tensor:
    """The sigmas a KSampler with these settings uses (including samplers that drop the penultimate sigma)."""
    import comfy.samplers

    return comfy.samplers.KSampler(model, steps=steps, device="cpu", sampler=sampler_name, scheduler=scheduler,
                                   denoise=1.0).sigmas.cpu()


def run_progress(model: Any) -> Callable[[Any], torch.Tensor]:
    """sigma -> progress through `model`'s model_sampling. On a patched model the runtime's per-run table is used
    (called inside the run, it is built once and shared with the patch's hooks); otherwise a table of our own."""
    ms = model.get_model_object("model_sampling")
    runtime = find_runtime(model)
    if runtime is not None:
        return lambda s: runtime.progress(torch.as_tensor(s), ms)
    table = progress_table(ms)
    return lambda s: sigma_to_progress(torch.as_tensor(s), table)


class _CallAdapter:
    """Looks like ComfyUI's ``model_k`` to a k-diffusion sampler while routing each call through a CallWrapper."""

    def __init__(self, model_k: Any, wrap: CallWrapper):
        self._model_k, self._wrap = model_k, wrap

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model_k, name)

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        return self._wrap(lambda xx, ss: self._model_k(xx, ss, **kwargs), x, sigma)


def run_in_sampler(model: Any, positive: Any, negative: Any, latent: dict, seed: int, cfg: float, sampler_name: str,
                   sigmas: torch.Tensor, body: Callable[[SamplingContext], tuple[Any, torch.Tensor]],
                   ticks: Callable[[SamplingContext], int], decode: Callable[[torch.Tensor], torch.Tensor] | None
                   ) -> tuple[Any, dict]:
    """Run ``body(ctx) -> (result, final x)`` inside one ComfyUI sampling call on `model` (the patched clone).

    Returns ``(result, latent dict)`` where the latent holds the final x after ComfyUI's latent post-processing,
    exactly as KSampler would return it. Noise comes from `seed` as in KSampler (deterministic).
    """
    import comfy.model_management
    import comfy.sample
    import comfy.samplers
    import comfy.utils

    latent_image = comfy.sample.fix_empty_latent_channels(model, latent["samples"])
    noise = comfy.sample.prepare_noise(latent_image, seed, latent.get("batch_index"))
    real = comfy.samplers.sampler_object(sampler_name)
    progress = run_progress(model)
    holder: dict[str, Any] = {}

    def sampler_function(model_k, x, sigmas_dev, extra_args=None, callback=None, disable=None):
        extra_args = dict(extra_args or {})
        pbar = comfy.utils.ProgressBar(1)

        def tick(n: int = 1) -> None:
            pbar.update(n)

        def sample(x0: torch.Tensor, sig: torch.Tensor, wrap: CallWrapper | None) -> torch.Tensor:
            fn = _CallAdapter(model_k, wrap) if wrap is not None else model_k

            def step_callback(info: dict) -> None:
                comfy.model_management.throw_exception_if_processing_interrupted()
                tick(1)
            return real.sampler_function(fn, x0, sig, extra_args=extra_args, callback=step_callback, disable=True,
                                         **real.extra_options)

        def denoise(xx: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
            return model_k(xx, sigma, **extra_args)

        ctx = SamplingContext(
            denoise=denoise, x_start=x, sigmas=sigmas_dev, sample=sample,
            progress=progress,
            check_interrupt=comfy.model_management.throw_exception_if_processing_interrupted, tick=tick,
            decode=(lambda z: decode(model_k.inner_model.inner_model.process_latent_out(z))) if decode else None)
        pbar.update_absolute(0, ticks(ctx))
        result, final_x = body(ctx)
        holder["result"] = result
        return final_x

    sampler = comfy.samplers.KSAMPLER(sampler_function)
    samples = comfy.sample.sample_custom(model, noise, cfg, sampler, sigmas, positive, negative, latent_image,
                                         noise_mask=None, disable_pbar=True, seed=seed)
    out = {k: v for k, v in latent.items() if k != "noise_mask"}
    out["samples"] = samples
    return holder["result"], out
