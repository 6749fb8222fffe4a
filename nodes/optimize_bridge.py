"""The one place where Optimize Step Weights touches ComfyUI internals.

* `run_in_sampler`: runs the optimisation *inside* one ``comfy.sample.sample_custom`` call through a KSAMPLER whose
  sampler function is ours. ComfyUI therefore loads the model, processes the conds, batches cond/uncond, applies
  CFG and every model patch exactly as for a KSampler; we get the CFG denoiser (``model_k``), the noised x_T and the
  schedule, and can call the user's real sampler function for the no-grad passes.
* `autograd_ready`: models loaded under ``torch.inference_mode()`` hold inference tensors, which autograd refuses to
  save for backward. Each such parameter/buffer is replaced by a normal-tensor copy with the same value (memory
  neutral: the old tensor is freed), and every parameter is frozen for the duration (flags restored after).
* `install_probe`: an ``attn2_patch`` after the SpaceTime hooks that scores the probe layers for the attention
  objective (reads ``activations_shape``, ``original_shape``, ``cond_or_uncond``, ``block``).
* `phrase_token_positions`: the SD1/SDXL CLIP tokenizer bundled with ComfyUI, to find each object's phrase in its
  local prompt.
* CLIP models for the ``clip`` objective: folder ``models/spacetime_clip/<name>/`` (a ``transformers`` CLIPModel
  folder such as ``openai/clip-vit-base-patch32``), loaded offline.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
from typing import Any, Callable, Iterator

import torch

from ..spacetime import masks as st_masks
from ..spacetime.optimize.attention import AttentionRecorder, phrase_positions, region_attention_ratio
from ..spacetime.optimize.clip_score import OPENAI_MEAN, OPENAI_STD
from ..spacetime.optimize.context import CallWrapper, SamplingContext
from .bridge import SpaceTimeRuntime, find_runtime, progress_table, sigma_to_progress

CLIP_FOLDER = "spacetime_clip"
NO_CLIP = "none"


# ---------------------------------------------------------------------------------------------- CLIP models

def register_clip_folder() -> None:
    """``models/spacetime_clip`` as a ComfyUI model folder (extra_model_paths.yaml may add more)."""
    import folder_paths

    folder_paths.add_model_folder_path(CLIP_FOLDER, os.path.join(folder_paths.models_dir, CLIP_FOLDER))


def clip_model_names() -> list[str]:
    """Sub-folders of every registered ``spacetime_clip`` path, sorted; ``none`` first."""
    import folder_paths

    names: set[str] = set()
    try:
        roots = folder_paths.get_folder_paths(CLIP_FOLDER)
    except KeyError:
        roots = []
    for root in roots:
        if os.path.isdir(root):
            names.update(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    return [NO_CLIP] + sorted(names)


def clip_model_path(name: str) -> str | None:
    import folder_paths

    for root in folder_paths.get_folder_paths(CLIP_FOLDER):
        path = os.path.join(root, name)
        if name and name != NO_CLIP and os.path.isdir(path):
            return path
    return None


def load_clip(name: str, where: str) -> tuple[Any, Any, tuple, tuple]:
    """``(CLIPModel, CLIPTokenizer, mean, std)`` from ``models/spacetime_clip/<name>``, offline; ValueError naming
    the field on a missing folder or a folder that does not hold a CLIP model."""
    field = f"{where}: clip_model"
    path = clip_model_path(name)
    if path is None:
        raise ValueError(f"{field} '{name}' was not found: put a transformers CLIP folder (e.g. "
                         "openai/clip-vit-base-patch32 with config.json, model weights and tokenizer files) into "
                         "ComfyUI/models/spacetime_clip/ and pick it here")
    config_file = os.path.join(path, "config.json")
    try:
        with open(config_file, encoding="utf-8") as fh:
            kind = json.load(fh).get("model_type")
    except (OSError, ValueError):
        raise ValueError(f"{field} '{name}' has no readable config.json: it must be a transformers CLIPModel "
                         "folder (save_pretrained / the Hugging Face repo openai/clip-vit-base-patch32)") from None
    if kind != "clip":
        raise ValueError(f"{field} '{name}' holds a '{kind}' model, not a CLIP image-text model (model_type "
                         "'clip'); use e.g. openai/clip-vit-base-patch32")
    from transformers import CLIPModel, CLIPTokenizer

    try:
        model = CLIPModel.from_pretrained(path, local_files_only=True)
        tokenizer = CLIPTokenizer.from_pretrained(path, local_files_only=True)
    except Exception as exc:  # transformers raises OSError/ValueError/KeyError for broken folders
        raise ValueError(f"{field} '{name}' could not be loaded as a CLIP model and tokenizer: {exc}") from None
    mean, std = OPENAI_MEAN, OPENAI_STD
    pre = os.path.join(path, "preprocessor_config.json")
    if os.path.exists(pre):
        with contextlib.suppress(OSError, ValueError):
            with open(pre, encoding="utf-8") as fh:
                cfg = json.load(fh)
            mean, std = tuple(cfg.get("image_mean", mean)), tuple(cfg.get("image_std", std))
    return model.requires_grad_(False).eval(), tokenizer, mean, std


def clip_text_ids(tokenizer: Any, texts: list[str]) -> torch.Tensor:
    """``[len(texts), T]`` padded token ids (truncated to CLIP's 77 tokens)."""
    enc = tokenizer(texts, padding="max_length", truncation=True, max_length=77, return_tensors="pt")
    return enc["input_ids"]


# ---------------------------------------------------------------------------------------------- tokens

def _sd_tokenizer():
    import comfy.sd1_clip
    from transformers import CLIPTokenizer

    folder = os.path.join(os.path.dirname(os.path.realpath(comfy.sd1_clip.__file__)), "sd1_tokenizer")
    return CLIPTokenizer.from_pretrained(folder, local_files_only=True)


def phrase_token_positions(regions: Any) -> list[list[int]]:
    """Per region, the positions of its name in its local prompt, as SD1/SDXL's CLIP tokenizer splits them."""
    tok = _sd_tokenizer()
    out = []
    for prompt, name, emb in zip(regions.prompts, regions.names, regions.embeddings):
        ids = tok(prompt)["input_ids"]
        name_ids = tok(name, add_special_tokens=False)["input_ids"] if name else []
        out.append(phrase_positions(ids, name_ids, int(emb.shape[1])))
    return out


# ---------------------------------------------------------------------------------------------- the probe

class ProbeHook:
    """``attn2_patch`` that scores the probe layers for the attention objective; returns its inputs unchanged."""

    def __init__(self, runtime: SpaceTimeRuntime, recorder: AttentionRecorder, positions: list[list[int]],
                 downscale: int):
        self.runtime, self.recorder, self.positions, self.downscale = runtime, recorder, positions, downscale
        self._masks: dict[tuple, torch.Tensor] = {}

    def __deepcopy__(self, memo):   # ModelPatcher.clone() deep-copies model_options
        return self

    def __call__(self, n, context, value, extra_options):
        if self.recorder.active:
            self._score(n, extra_options)
        return n, context, value

    def _score(self, n: torch.Tensor, extra_options: dict) -> None:
        shape, orig, block = (extra_options.get(k) for k in ("activations_shape", "original_shape", "block"))
        if shape is None or orig is None or block is None:
            return
        h, w = int(shape[-2]), int(shape[-1])
        if (h, w) != (math.ceil(int(orig[-2]) / self.downscale), math.ceil(int(orig[-1]) / self.downscale)):
            return
        attn2 = self.runtime.layers.get((block[0], block[1], extra_options.get("block_index", 0)))
        chunks = list(extra_options.get("cond_or_uncond") or [0])
        if attn2 is None or n.shape[0] % len(chunks) or n.shape[1] != h * w:
            return
        b = n.shape[0] // len(chunks)
        rows = torch.cat([n[j * b:(j + 1) * b] for j, c in enumerate(chunks) if c == 0]) if 0 in chunks else None
        if rows is None:
            return
        heads = int(extra_options.get("n_heads", 8))
        ops = self.runtime.layer_ops(attn2, heads, extra_options.get("attn_precision"), n.device, n.dtype)
        cfg = self.runtime.config
        key = (h, w, str(n.device))
        masks = self._masks.get(key)
        if masks is None:
            regions = self.runtime.regions
            masks = self._masks[key] = st_masks.region_masks(regions.boxes, regions.centers, h, w, cfg.mask_shape,
                                                             cfg.radius, cfg.feather).to(n.device)
        keys = [k for k, _ in ops.local_kv]
        self.recorder.add(region_attention_ratio(attn2.to_q(rows), keys, self.positions, masks, heads))


def install_probe(patched: Any, runtime: SpaceTimeRuntime, recorder: AttentionRecorder, positions: list[list[int]],
                  downscale: int) -> None:
    """Append the probe to the patched clone's attn2 patches (after the SpaceTime hooks, which stash h first)."""
    patched.set_model_attn2_patch(ProbeHook(runtime, recorder, positions, downscale))


# ---------------------------------------------------------------------------------------------- autograd

@contextlib.contextmanager
def autograd_ready(*modules: torch.nn.Module) -> Iterator[None]:
    """Inference tensors → normal tensors (same values), all parameters frozen; requires_grad flags restored."""
    flags: list[tuple[torch.nn.Parameter, bool]] = []
    for module in modules:
        for mod in module.modules():
            for name, p in list(mod._parameters.items()):
                if p is not None and p.is_inference():
                    mod._parameters[name] = torch.nn.Parameter(p.clone(), requires_grad=p.requires_grad)
            for name, buf in list(mod._buffers.items()):
                if buf is not None and buf.is_inference():
                    mod._buffers[name] = buf.clone()
        for p in module.parameters():
            flags.append((p, p.requires_grad))
            p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def clone_tensors(value: Any) -> Any:
    """Deep copy of nested lists/tuples/dicts with every tensor cloned (conds created under inference mode)."""
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, dict):
        return {k: clone_tensors(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone_tensors(v) for v in value]
    if type(value) is tuple:
        return tuple(clone_tensors(v) for v in value)
    return value


# ---------------------------------------------------------------------------------------------- sampling

class _CallAdapter:
    """Looks like ComfyUI's ``model_k`` to a k-diffusion sampler while routing each call through a CallWrapper."""

    def __init__(self, model_k: Any, extra_args: dict, wrap: CallWrapper):
        self._model_k, self._extra, self._wrap = model_k, extra_args, wrap

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model_k, name)

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        return self._wrap(lambda xx, ss: self._model_k(xx, ss, **kwargs), x, sigma)


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
            fn = _CallAdapter(model_k, extra_args, wrap) if wrap is not None else model_k

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


def vae_decoder(vae: Any) -> Callable[[torch.Tensor], torch.Tensor]:
    """Differentiable latent → image ``[B, 3, H, W]`` in [0, 1] through ``vae.first_stage_model.decode``
    (``VAE.decode`` copies into a preallocated buffer and would cut the graph)."""
    def decode(z: torch.Tensor) -> torch.Tensor:
        image = vae.first_stage_model.decode(z.to(device=vae.device, dtype=vae.vae_dtype))
        return ((image.float() + 1.0) / 2.0).clamp(0.0, 1.0)
    return decode


def load_fully(*patchers: Any) -> None:
    """Load models completely on the compute device (no lowvram partial loading: gradients need every weight)."""
    import comfy.model_management

    comfy.model_management.load_models_gpu(list(patchers), force_full_load=True)


def is_out_of_memory(exc: BaseException) -> bool:
    import comfy.model_management

    if isinstance(exc, (torch.OutOfMemoryError, comfy.model_management.OOM_EXCEPTION)) and \
            comfy.model_management.OOM_EXCEPTION is not Exception:
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def free_memory() -> None:
    import comfy.model_management

    comfy.model_management.soft_empty_cache()
