"""The DiT lab model: the lab's shapes world on ComfyUI's own Flux.1 classes (imported lazily, so `lab` stays
ComfyUI-free), the DiT twin of `lab.model`.

* Transformer: `comfy.ldm.flux.model.Flux` at width 128 (2 heads of 64, 2 double + 4 single blocks, patch 2;
  2.3 M weights; other sizes and head widths through `DitSize`), no guidance embedding (like schnell: sampled with real CFG; the lab trains with 10 % empty
  captions).
  Flow matching as `comfy.model_base.Flux` samples it (ModelSamplingFlux + CONST: velocity noise - x0).
* Text encoder: the lab's SD1 CLIP at width 48 with the real SD1 tokenizer; its hidden states are the Flux
  context (`txt_in` projects 48 -> 128), its projected pooled output the Flux vector input (`vector_in`).
* "VAE": the lab's hand-set TAESD widened to Flux.1's 16 latent channels and Flux.1's latent format (scale and
  shift): model space holds 2 x [R, G, B, intensity] in channels 0-3 at /8, channels 4-15 are 0 (VAEDecode
  ignores them, VAEEncode writes 0). Keeping 16 channels keeps the model a Flux.1-shaped model (EmptyLatentImage,
  the latent format and the pack's Flux path all see what they see on Flux.1), and the pixels-in-latent trick
  needs only the first four.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import torch

from .model import CONTEXT_DIM, TAESD_INPUT_GAIN, lab_clip_model_class, pixels_to_latent

LATENT_CHANNELS = 16
FLUX_SCALE, FLUX_SHIFT = 0.3611, 0.1159  # comfy.latent_formats.Flux
# ComfyUI's ModelSamplingFlux node gives a 256 x 256 image (256 tokens) its base shift, 0.5; the config's
# sampling settings make that the model's own default, so plain KSampler samples it as trained.
SAMPLING_SHIFT = 0.5

DIT_CONFIG: dict[str, Any] = {
    "image_model": "flux", "in_channels": LATENT_CHANNELS, "out_channels": LATENT_CHANNELS, "patch_size": 2,
    "vec_in_dim": CONTEXT_DIM, "context_in_dim": CONTEXT_DIM, "hidden_size": 128, "mlp_ratio": 4.0,
    "num_heads": 2, "depth": 2, "depth_single_blocks": 4, "axes_dim": [16, 24, 24], "theta": 10000,
    "qkv_bias": True, "guidance_embed": False,
}


HEAD_DIM = 64  # the fixture's head width; rope splits a head 1/4 : 3/8 : 3/8 over (index, row, column), as 16/24/24


@dataclass(frozen=True)
class DitSize:
    """Width, block counts and head width of a DiT lab model (the committed fixture: 128, 2 double, 4 single,
    heads of 64)."""

    width: int = DIT_CONFIG["hidden_size"]
    double: int = DIT_CONFIG["depth"]
    single: int = DIT_CONFIG["depth_single_blocks"]
    head: int = HEAD_DIM

    def __post_init__(self) -> None:
        # rope needs an even share of the head on each of its three axes: a multiple of 16
        if self.head <= 0 or self.head % 16:
            raise ValueError(f"DitSize: head width must be a positive multiple of 16; got {self}")
        if self.width <= 0 or self.width % self.head or self.double < 1 or self.single < 0:
            raise ValueError(f"DitSize: width must be a positive multiple of the head width ({self.head}), "
                             f"double >= 1 and single >= 0; got {self}")

    @property
    def axes(self) -> list[int]:
        """Rope's share of a head per axis (index, row, column): Flux.1's proportions, 16/24/24 for heads of 64."""
        return [self.head // 4, 3 * self.head // 8, 3 * self.head // 8]


QUERY_NORM = "double_blocks.0.img_attn.norm.query_norm."  # + "scale" (Flux.1's name) or "weight" (newer cores')


def dit_size_of(model_sd: dict[str, torch.Tensor], prefix: str = "") -> DitSize:
    """The size of the Flux whose weights these are (`prefix` before its key names): the checkpoint is the record."""
    def count(blocks: str) -> int:
        found = {int(m.group(1)) for k in model_sd if (m := re.match(re.escape(prefix + blocks) + r"\.(\d+)\.", k))}
        return max(found) + 1 if found else 0

    norm = model_sd.get(prefix + QUERY_NORM + "scale", model_sd.get(prefix + QUERY_NORM + "weight"))
    head = HEAD_DIM if norm is None else norm.shape[0]
    return DitSize(model_sd[prefix + "txt_in.weight"].shape[0], count("double_blocks"), count("single_blocks"), head)


def dit_config(size: DitSize = DitSize()) -> dict[str, Any]:
    """DIT_CONFIG at `size` for the running core: newer cores' FluxParams need `txt_ids_dims` ([] = Flux.1's
    text at 0)."""
    from comfy.ldm.flux.model import FluxParams

    config = {**DIT_CONFIG, "hidden_size": size.width, "num_heads": size.width // size.head, "depth": size.double,
              "depth_single_blocks": size.single, "axes_dim": size.axes}
    if "txt_ids_dims" in FluxParams.__dataclass_fields__:
        config["txt_ids_dims"] = []
    return config


def pixels_to_dit_latent(pixels: torch.Tensor) -> torch.Tensor:
    """(B, 3, 32, 32) pixels in [0, 1] -> model-space latents (B, 16, 32, 32): the lab's 4 channels, then zeros."""
    lab = pixels_to_latent(pixels)
    return torch.cat([lab, lab.new_zeros(lab.shape[0], LATENT_CHANNELS - lab.shape[1], *lab.shape[2:])], dim=1)


@torch.no_grad()
def fixed_dit_taesd_state_dict() -> dict[str, torch.Tensor]:
    """The lab's hand-set TAESD with 16 latent channels (the extra ones unused) in Flux.1's latent format:
    the decoder sees (raw - shift) * scale / 4 = model space / 4, as the lab's does."""
    from .model import fixed_taesd_state_dict

    sd = fixed_taesd_state_dict()
    dec = sd["taesd_decoder.1.weight"]
    sd["taesd_decoder.1.weight"] = torch.cat([dec, dec.new_zeros(dec.shape[0], LATENT_CHANNELS - dec.shape[1],
                                                                 *dec.shape[2:])], dim=1)
    for key in ("taesd_encoder.14.weight", "taesd_encoder.14.bias"):
        enc = sd[key]
        sd[key] = torch.cat([enc, enc.new_zeros(LATENT_CHANNELS - enc.shape[0], *enc.shape[1:])], dim=0)
    sd["vae_scale"] = torch.tensor(FLUX_SCALE * TAESD_INPUT_GAIN)
    sd["vae_shift"] = torch.tensor(FLUX_SHIFT)
    return sd


def build_dit(size: DitSize = DitSize()) -> torch.nn.Module:
    """A bare Flux with plain torch ops (trainable); the saved checkpoint is loaded through the DiT config."""
    import comfy.ops
    from comfy.ldm.flux.model import Flux

    return Flux(**dit_config(size), operations=comfy.ops.disable_weight_init)


_CONFIG_CLASS: type | None = None


def dit_model_config_class() -> type:
    """The DiT lab's model config: ComfyUI's `Flux` (model_base.Flux, latent format, key prefixes) with the lab's
    text encoder and the 256-token shift. Handed to ComfyUI explicitly, never registered (see `lab.checkpoint`)."""
    global _CONFIG_CLASS
    if _CONFIG_CLASS is None:
        import comfy.sd1_clip
        import comfy.supported_models
        import comfy.supported_models_base as smb

        clip_class = lab_clip_model_class()

        class SpaceTimeLabDiT(comfy.supported_models.Flux):
            sampling_settings = {"shift": SAMPLING_SHIFT}

            def clip_target(self, state_dict: dict | None = None) -> Any:
                return smb.ClipTarget(comfy.sd1_clip.SD1Tokenizer, clip_class)

        _CONFIG_CLASS = SpaceTimeLabDiT
    return _CONFIG_CLASS


def dit_model_sampling() -> Any:
    """ComfyUI's ModelSamplingFlux with the config's shift: training draws sigma = sigma(t), t uniform, which is
    the distribution the `simple` scheduler steps through."""
    import comfy.model_sampling

    return comfy.model_sampling.ModelSamplingFlux(dit_model_config_class()(dit_config()))
