"""Random-weight DiT model files that ComfyUI's own loaders (UNETLoader, CLIPLoader, VAELoader) recognise, written
into a models folder, so a real server loads them from disk the way it loads a user's downloads.

What each core's detection fixes decides the sizes (comfy/model_detection.py, comfy/sd.py):
* the diffusion models are tiny where the detector reads the architecture from the weights: SD3's MMDiT (width
  64 x depth) and Flux on cores that derive its heads from the width (128 per head). ComfyUI 0.3.75 fixes Flux at
  24 heads of 128, so there the Flux file has the real width (3072) with one double and one single block;
* the text encoder is a full-size CLIP-L (123 M weights): CLIP-L, CLIP-G and T5-XXL are built from fixed configs,
  whatever the file holds, and CLIP-L is the only one small enough. CLIPLoader hands it to SD3 as SD3's encoder
  with CLIP-L alone ("sd3"), and to Flux as an SD1 encoder ("stable_diffusion"): 768-wide states and pooled
  output, which the Flux file's txt_in and vector_in are made to take (Flux.1-dev's real T5-XXL + CLIP-L pair,
  DualCLIPLoader, would be 4.7 G weights);
* the VAE is a TAESD, whose latent channels ComfyUI reads from the weights (16, as Flux's and SD3's), or for
  Qwen-Image, whose latents are video-shaped (B, C, 1, H, W), a Wan 2.1 VAE (its own) of width 16, which ComfyUI
  also reads from the weights; for Flux.2 (128 channels at /16) a Flux.2 VAE decoder.
"""
from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file

from .models import TINY_SD3, init_random

CLIP_L_FILE = "random_clip_l.safetensors"
TAESD4_FILE = "random_taesd4.safetensors"
TAESD16_FILE = "random_taesd16.safetensors"
WAN21_VAE_FILE = "random_wan21_vae.safetensors"
FLUX2_VAE_FILE = "random_flux2_vae_decoder.safetensors"
FLUX_HEAD_DIM = 128  # sum of Flux.1's rope axes (16, 56, 56), which every core's detector assumes


def _save(tensors: dict[str, torch.Tensor], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().to(torch.float16).contiguous() for k, v in tensors.items()}, str(path))


def _init_scaled(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Random weights of variance 1 / fan-in (activations keep their size through deep full-width stacks), norm
    scales 1 (1-d, or Wan's per-channel `gamma`), biases 0."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in module.named_parameters():
            if name.endswith("bias"):
                param.zero_()
            elif param.ndim <= 1 or name.endswith("gamma"):
                param.fill_(1.0)
            else:
                noise = torch.randn(param.shape, generator=gen) / param[0].numel() ** 0.5
                param.copy_(noise.to(param.dtype))
    return module


def write_clip_l(folder: Path) -> str:
    """A full-size CLIP-L text encoder (Hugging Face key names, as clip_l.safetensors ships) in folder (its
    models/text_encoders); returns the file name."""
    import comfy.sd1_clip

    clip = comfy.sd1_clip.SDClipModel(device="cpu", dtype=torch.float16)
    _init_scaled(clip.transformer, 1)
    _save(clip.transformer.state_dict(), folder / CLIP_L_FILE)
    return CLIP_L_FILE


def _write_taesd(folder: Path, latent_channels: int, name: str) -> str:
    from comfy.taesd.taesd import TAESD

    _save(init_random(TAESD(latent_channels=latent_channels), 2, scale=0.1).state_dict(), folder / name)
    return name


def write_taesd16(folder: Path) -> str:
    """A random TAESD with 16 latent channels in folder (its models/vae): the VAE of the families with image-shaped
    16-channel latents (Flux, SD3, Z-Image)."""
    return _write_taesd(folder, 16, TAESD16_FILE)


def write_taesd4(folder: Path) -> str:
    """A random TAESD with 4 latent channels in folder (its models/vae): PixArt's (its latents are SD1.5's or
    SDXL's)."""
    return _write_taesd(folder, 4, TAESD4_FILE)


def write_wan21_vae(folder: Path) -> str:
    """A random Wan 2.1 VAE of width 16 (the real one is 96) in folder (its models/vae): Qwen-Image's VAE."""
    from comfy.ldm.wan.vae import WanVAE

    vae = WanVAE(dim=16, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
                 temperal_downsample=[False, True, True])
    _save(_init_scaled(vae, 3).state_dict(), folder / WAN21_VAE_FILE)
    return WAN21_VAE_FILE


def write_flux2_vae(folder: Path) -> str:
    """A random Flux.2 VAE decoder in folder (its models/vae): ComfyUI reads its latent from the weights (32
    channels in 2 x 2 patches behind a batch norm: 128 channels at /16). Full width (128), as 0.3.75 builds the
    decoder at that width whatever the file holds; the file holds the decoder, its post-quantisation convolution and
    the norm (the encoder would be as large again, and decoding is all a test asks of it)."""
    from comfy.ldm.modules.diffusionmodules.model import Decoder

    decoder = Decoder(ch=128, out_ch=3, ch_mult=[1, 2, 4, 4], num_res_blocks=2, attn_resolutions=[],
                      in_channels=3, resolution=256, z_channels=32)
    tensors = {f"decoder.{k}": v for k, v in _init_scaled(decoder, 4).state_dict().items()}
    tensors |= {"decoder.post_quant_conv.weight": torch.eye(32).view(32, 32, 1, 1),
                "decoder.post_quant_conv.bias": torch.zeros(32),
                "bn.running_mean": torch.zeros(128), "bn.running_var": torch.ones(128)}
    _save(tensors, folder / FLUX2_VAE_FILE)
    return FLUX2_VAE_FILE


def _flux_state_dict(width: int, seed: int) -> dict[str, torch.Tensor]:
    import comfy.ops
    from comfy.ldm.flux.model import Flux, FluxParams

    params = {"in_channels": 16, "out_channels": 16, "patch_size": 2, "vec_in_dim": 768, "context_in_dim": 768,
              "hidden_size": width, "mlp_ratio": 4.0, "num_heads": width // FLUX_HEAD_DIM, "depth": 1,
              "depth_single_blocks": 1, "axes_dim": [16, 56, 56], "theta": 10000, "qkv_bias": True,
              "guidance_embed": True}
    if "txt_ids_dims" in FluxParams.__dataclass_fields__:      # 2026 cores; Flux.1 gives text no positions
        params["txt_ids_dims"] = []
    model = Flux(image_model="flux", dtype=torch.float16, operations=comfy.ops.disable_weight_init, **params)
    return _init_scaled(model, seed).state_dict()


def write_flux(folder: Path, seed: int = 0) -> str:
    """A Flux.1-dev-shaped diffusion model (guidance embedding; 1 double and 1 single block) taking CLIP-L's
    768-wide states and pooled output, at the smallest width this core's detector rebuilds it at: one head of 128
    where the detector derives the heads from the width, else its fixed head count times 128."""
    from comfy.model_detection import detect_unet_config

    state = _flux_state_dict(FLUX_HEAD_DIM, seed)
    heads = detect_unet_config(state, "")["num_heads"]
    if heads != 1:
        state = _flux_state_dict(heads * FLUX_HEAD_DIM, seed)
    name = f"random_flux_w{heads * FLUX_HEAD_DIM}.safetensors"
    _save(state, folder / name)
    return name


def write_sd3(folder: Path, seed: int = 0) -> str:
    """An SD3.5-shaped MMDiT (support.models.TINY_SD3: 2 joint blocks, width 128) whose pooled input is SD3's
    encoder's with CLIP-L alone: CLIP-L's 768 and CLIP-G's 1280 zeros."""
    import comfy.supported_models as sm

    config = sm.SD3(dict(TINY_SD3, adm_in_channels=768 + 1280))
    config.set_inference_dtype(torch.float32, None)
    model = _init_scaled(config.get_model({}).diffusion_model, seed)
    with torch.no_grad():            # a buffer, which _init_scaled leaves as allocated
        gen = torch.Generator().manual_seed(seed)
        model.pos_embed.copy_(torch.randn(model.pos_embed.shape, generator=gen) * 0.1)
    name = "random_sd3.safetensors"
    _save(model.state_dict(), folder / name)
    return name
