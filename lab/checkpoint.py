"""The lab checkpoint file and ComfyUI's MODEL / CLIP / VAE objects, both ways, with the lab's config given
explicitly: ComfyUI's checkpoint loaders would have to find the config in `comfy.supported_models.models`, a
registry shared by every extension, so the lab never enters it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .model import CONTEXT_DIM, UNET_CONFIG, fixed_taesd_state_dict, lab_model_config_class

UNET_PREFIX = "model.diffusion_model."


def save_lab_checkpoint(path: str | Path, unet_sd: dict[str, torch.Tensor], text_sd: dict[str, torch.Tensor],
                        metadata: dict[str, str] | None = None, dtype: torch.dtype = torch.float16) -> None:
    """Assemble model, CLIP and the fixed TAESD with ComfyUI's classes and write them with `save_checkpoint`."""
    config = lab_model_config_class()(dict(UNET_CONFIG))
    save_with_config(path, config, unet_sd, text_sd, fixed_taesd_state_dict(), metadata, dtype)


def save_with_config(path: str | Path, config: Any, model_sd: dict[str, torch.Tensor],
                     text_sd: dict[str, torch.Tensor], vae_sd: dict[str, torch.Tensor],
                     metadata: dict[str, str] | None, dtype: torch.dtype) -> None:
    """Write a lab checkpoint (either lab model) through `config`'s model, CLIP and VAE key prefixes."""
    import comfy.model_management as mm
    import comfy.model_patcher
    import comfy.sd

    config.set_inference_dtype(dtype, None)
    model = config.get_model({})
    model.diffusion_model.load_state_dict({k: v.to(dtype) for k, v in model_sd.items()})
    patcher = comfy.model_patcher.ModelPatcher(model, load_device=mm.get_torch_device(),
                                               offload_device=mm.unet_offload_device())
    clip = comfy.sd.CLIP(target=config.clip_target(), model_options={"dtype": dtype})
    clip.cond_stage_model.clip_l.load_state_dict({k: v.to(dtype) for k, v in text_sd.items()}, strict=False)
    vae = comfy.sd.VAE(sd={k: v.to(dtype) for k, v in vae_sd.items()}, dtype=dtype)
    comfy.sd.save_checkpoint(str(path), patcher, clip, vae, metadata=metadata)


def load_lab_checkpoint(path: str | Path, embedding_directory: Any = None) -> tuple[Any, Any, Any]:
    """(ModelPatcher, CLIP, VAE) of a lab checkpoint, built the way `comfy.sd.load_state_dict_guess_config`
    builds a detected SD1.5 file (same dtype choice, weight loading and key prefixes), so sampling gives the
    same numbers as that loader did when the lab config sat in ComfyUI's registry."""
    import comfy.utils

    sd, metadata = comfy.utils.load_torch_file(str(path), return_metadata=True)
    _check_is_lab(path, sd)
    return load_with_config(sd, metadata, lab_model_config_class()(dict(UNET_CONFIG)), embedding_directory)


def load_with_config(sd: dict[str, torch.Tensor], metadata: dict | None, config: Any,
                     embedding_directory: Any = None) -> tuple[Any, Any, Any]:
    """(ModelPatcher, CLIP, VAE) from a lab checkpoint's state dict and its config (either lab model)."""
    import comfy.model_management as mm
    import comfy.model_patcher
    import comfy.sd
    import comfy.utils

    parameters = comfy.utils.calculate_parameters(sd, UNET_PREFIX)
    load_device = mm.get_torch_device()
    unet_dtype = mm.unet_dtype(model_params=parameters, supported_dtypes=list(config.supported_inference_dtypes),
                               weight_dtype=comfy.utils.weight_dtype(sd, UNET_PREFIX))
    config.set_inference_dtype(unet_dtype, mm.unet_manual_cast(unet_dtype, load_device,
                                                               config.supported_inference_dtypes))
    model = config.get_model(sd, UNET_PREFIX, device=mm.unet_inital_load_device(parameters, unet_dtype))
    model.load_model_weights(sd, UNET_PREFIX)
    patcher = comfy.model_patcher.ModelPatcher(model, load_device=load_device,
                                               offload_device=mm.unet_offload_device())

    vae_sd = comfy.utils.state_dict_prefix_replace(sd, {k: "" for k in config.vae_key_prefix}, filter_keys=True)
    vae = comfy.sd.VAE(sd=config.process_vae_state_dict(vae_sd), metadata=metadata)

    clip_sd = config.process_clip_state_dict(sd)
    clip = comfy.sd.CLIP(config.clip_target(state_dict=sd), embedding_directory=embedding_directory,
                         tokenizer_data=clip_sd, parameters=comfy.utils.calculate_parameters(clip_sd))
    clip.load_sd(clip_sd, full_model=True)
    return patcher, clip, vae


def _check_is_lab(path: str | Path, sd: dict[str, torch.Tensor]) -> None:
    """Refuse other checkpoints: built with the lab config their weights would load partly, without an error."""
    keys = [k for k in sd if k.startswith(UNET_PREFIX) and k.endswith("attn2.to_k.weight")]
    if not keys or sd[keys[0]].shape[-1] != CONTEXT_DIM:
        raise ValueError(f"{Path(path).name} is not a lab checkpoint: the lab UNet attends to "
                         f"{CONTEXT_DIM}-wide text embeddings (lab/fixtures/spacetime_lab.safetensors is one)")
