"""A random-weight PixArt (Alpha or Sigma) built in code from ComfyUI's own classes, for the patch's host tests."""
from __future__ import annotations

import torch

from .models import TINY_T5, TinyModels, _patcher, _random_clip, _random_dit

# PixArt: PixArtMS at width 96 (2 heads of 48; the micro-conditioning embedders of Alpha split the width in thirds),
# 2 blocks, 4 latent channels in 8 x 8 patches (the real model's are 2 x 2; its position embedding needs a latent
# over 32 wide on average, so larger patches keep the token grid small: 256 x 384 px is 4 x 6 tokens), learned
# sigma (8 output channels, the first 4 returned); its text
# encoder is ComfyUI's PixArt T5-XXL class at width 64 with the real tokenizer (no padding: each prompt is as long
# as its tokens).
TINY_PIXART = {"patch_size": 8, "in_channels": 4, "hidden_size": 96, "depth": 2, "num_heads": 2,
               "caption_channels": 64, "pred_sigma": True}


@torch.no_grad()
def _random_biases(module: torch.nn.Module, seed: int) -> None:
    """PixArt's projections have biases (init_random zeroes them): random ones, so that a test sees them act."""
    gen = torch.Generator().manual_seed(seed)
    for name, param in module.named_parameters():
        if name.endswith("bias"):
            param.copy_(0.1 * torch.randn(param.shape, generator=gen))


def tiny_pixart(seed: int = 0, alpha: bool = False) -> TinyModels:
    """A PixArt-Sigma-shaped DiT (or with `alpha`, PixArt-Alpha's: micro-conditioning on size and aspect ratio,
    SD1.5's latent format), 2 blocks with random biases, and a tiny PixArt T5-XXL; no VAE."""
    import comfy.supported_models as sm
    from comfy.text_encoders.pixart_t5 import PixArtTokenizer, pixart_te

    if alpha:
        config = sm.PixArtAlpha(dict(TINY_PIXART, image_model="pixart_alpha", micro_condition=True,
                                     model_max_length=120))
    else:
        config = sm.PixArtSigma(dict(TINY_PIXART, image_model="pixart_sigma", micro_condition=False,
                                     model_max_length=300))
    model = _random_dit(config, seed)
    _random_biases(model.diffusion_model, seed)
    clip = _random_clip(PixArtTokenizer, pixart_te(dtype_t5=torch.float32), {"t5xxl_model_config": TINY_T5}, seed)
    return TinyModels(_patcher(model), clip, None)
