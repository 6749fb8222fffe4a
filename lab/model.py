"""The lab model's architecture, built from ComfyUI's own classes (imported lazily, so `lab` stays ComfyUI-free).

* UNet: `comfy.ldm.modules.diffusionmodules.openaimodel.UNetModel` at 32/32/64 channels with 7 SpatialTransformer
  cross-attention layers (attn2), the same code path the pack patches on SD1.x.
* Text encoder: ComfyUI's SD1 CLIP class at width 48 with the real SD1 tokenizer, trained jointly.
* "VAE": a TAESD whose weights are set by hand, not trained: the 4 latent channels at /8 hold the image itself
  (RGB box-averaged to 32x32, plus an intensity channel), so decoding is a smooth x8 upsampling and encoding a
  box filter. Model space (after SD15's latent scale) is 2 x pixels: the black canvas is 0, because with SD's
  schedule (non-zero terminal SNR) a model cannot shift an image's mean far from 0 while sampling.
"""
from __future__ import annotations

from typing import Any

import torch

CONTEXT_DIM = 48
LATENT_SIZE = 32
IMAGE_SIZE = LATENT_SIZE * 8
SD15_LATENT_SCALE = 0.18215
PIXEL_GAIN = 2.0  # model space = PIXEL_GAIN * pixels
TAESD_INPUT_GAIN = 0.25  # the decoder sees model space / 4, where its tanh input clamp is nearly linear

UNET_CONFIG: dict[str, Any] = {
    "use_checkpoint": False, "image_size": LATENT_SIZE, "out_channels": 4, "use_spatial_transformer": True,
    "legacy": False, "adm_in_channels": None, "in_channels": 4, "model_channels": 32,
    "num_res_blocks": [1, 1, 1], "transformer_depth": [0, 1, 1], "channel_mult": [1, 1, 2],
    "transformer_depth_middle": 1, "use_linear_in_transformer": False, "context_dim": CONTEXT_DIM,
    "transformer_depth_output": [1, 1, 1, 1, 0, 0], "use_temporal_attention": False,
    "use_temporal_resblock": False, "num_heads": -1, "num_head_channels": 32,
}

TEXT_CONFIG: dict[str, Any] = {"hidden_size": CONTEXT_DIM, "intermediate_size": 2 * CONTEXT_DIM,
                               "num_attention_heads": 2, "num_hidden_layers": 2, "projection_dim": CONTEXT_DIM}


def pixels_to_latent(pixels: torch.Tensor) -> torch.Tensor:
    """(B, 3, 32, 32) pixels in [0, 1] -> model-space latents (B, 4, 32, 32): RGB and intensity, black = 0."""
    intensity = pixels.mean(dim=1, keepdim=True)
    return PIXEL_GAIN * torch.cat([pixels, intensity], dim=1)


@torch.no_grad()
def fixed_taesd_state_dict() -> dict[str, torch.Tensor]:
    """Hand-set TAESD weights (keys `taesd_encoder.*`, `taesd_decoder.*`, `vae_scale`, `vae_shift`).

    Residual blocks are zeroed (identity through their ReLU, as all activations are >= 0); the 3x3 convs after
    each upsampling blur, the strided encoder convs average 2x2, so both directions are plain linear filters
    (up to the decoder's input clamp, tanh(x/3)*3, which is within 1 % of x on its inputs in [0, 0.5]).
    """
    from comfy.taesd.taesd import TAESD, Block

    taesd = TAESD(latent_channels=4)
    for p in taesd.parameters():
        p.zero_()
    blur = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16
    gain = PIXEL_GAIN * TAESD_INPUT_GAIN  # decoder input per unit of pixel value
    dec = taesd.taesd_decoder
    for c in range(3):
        dec[1].weight[c, c, 1, 1] = 1 / gain
        for i in (7, 12, 17):
            dec[i].weight[c, c] = blur
        dec[19].weight[c, c, 1, 1] = 1.0
    enc = taesd.taesd_encoder
    for c in range(3):
        enc[0].weight[c, c, 1, 1] = 1.0
        for i in (2, 6, 10):
            enc[i].weight[c, c, 1:, 1:] = 0.25
        enc[14].weight[c, c, 1, 1] = gain
        enc[14].weight[3, c, 1, 1] = gain / 3
    assert all(isinstance(m, Block) for m in (dec[3], enc[1]))
    taesd.vae_scale.fill_(SD15_LATENT_SCALE * TAESD_INPUT_GAIN)
    return {k: v.clone() for k, v in taesd.state_dict().items()}


def build_text_encoder(train: bool = False) -> Any:
    """ComfyUI's SD1 CLIP (real tokenizer) at lab width; plain torch ops when training so gradients flow."""
    import comfy.ops
    import comfy.sd
    import comfy.sd1_clip
    import comfy.supported_models_base as smb

    options: dict[str, Any] = {"clip_l_model_config": dict(TEXT_CONFIG)}
    if train:
        options.update(custom_operations=comfy.ops.disable_weight_init, dtype=torch.float32)
    return comfy.sd.CLIP(target=smb.ClipTarget(comfy.sd1_clip.SD1Tokenizer, comfy.sd1_clip.SD1ClipModel),
                         model_options=options)


def build_unet() -> torch.nn.Module:
    """A bare UNetModel with plain torch ops (trainable); the saved checkpoint is loaded by ComfyUI's config."""
    import comfy.ops
    from comfy.ldm.modules.diffusionmodules.openaimodel import UNetModel

    return UNetModel(**UNET_CONFIG, operations=comfy.ops.disable_weight_init)


def sd15_alphas_cumprod() -> torch.Tensor:
    """ComfyUI's SD15 discrete schedule (linear in sqrt(beta), 1000 steps), so its samplers match training."""
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
    return torch.cumprod(1 - betas, dim=0).float()


def lab_clip_model_class() -> type:
    """SD1's text-encoder class pinned to the lab width, for the config's clip target (the loader passes no
    sizes: only the class and the state dict)."""
    import comfy.sd1_clip

    class SpaceTimeLabClipModel(comfy.sd1_clip.SD1ClipModel):
        def __init__(self, device: str = "cpu", dtype: torch.dtype | None = None,
                     model_options: dict[str, Any] | None = None, **kwargs: Any) -> None:
            options = {**(model_options or {}), "clip_l_model_config": dict(TEXT_CONFIG)}
            super().__init__(device=device, dtype=dtype, model_options=options, **kwargs)

    return SpaceTimeLabClipModel


_CONFIG_CLASS: type | None = None


def lab_model_config_class() -> type:
    """The lab's model config: ComfyUI's `SD15` (schedule, latent format, VAE and CLIP key prefixes) with the lab
    UNet and text encoder, built once. It is handed to ComfyUI explicitly (`lab.checkpoint`), never put into
    ComfyUI's detection list, so it needs no `unet_config` to match against."""
    global _CONFIG_CLASS
    if _CONFIG_CLASS is None:
        import comfy.sd1_clip
        import comfy.supported_models
        import comfy.supported_models_base as smb

        clip_class = lab_clip_model_class()

        class SpaceTimeLab(comfy.supported_models.SD15):
            unet_extra_config: dict[str, Any] = {}  # UNET_CONFIG is complete; SD15's would set num_heads 8

            def clip_target(self, state_dict: dict | None = None) -> Any:
                return smb.ClipTarget(comfy.sd1_clip.SD1Tokenizer, clip_class)

        _CONFIG_CLASS = SpaceTimeLab
    return _CONFIG_CLASS
