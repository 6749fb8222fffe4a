"""Tiny Wan 2.1 models from ComfyUI's own classes (random weights): text-to-video and image-to-video DiTs at width
64 (2 heads of 32, 2 blocks, 16 latent channels in (1, 2, 2) patches) and Wan's UMT5-XXL text encoder class at
width 64. The UMT5 tokenizer's SentencePiece model lives in the text encoder's checkpoint, which the tests do not
have: a tiny SentencePiece model trained here on a few phrases stands in, with UMT5's special ids (pad 0, end 1),
so ComfyUI's own tokenizer and encoder classes pad and zero the text as they do for the real one."""
from __future__ import annotations

import io

import torch

from .models import TINY_T5, TinyModels, _patcher, _random_clip, _random_dit

TINY_UMT5 = dict(TINY_T5, vocab_size=128)
WORDS = ("a red cat and a blue dog on the grass under a tree photo of an astronaut riding horse in the city at night "
         "with blurry background bird flying over river mountain snow car street").split()
TINY_WAN = {"image_model": "wan2.1", "model_type": "t2v", "patch_size": (1, 2, 2), "text_len": 512, "in_dim": 16,
            "dim": 64, "ffn_dim": 128, "freq_dim": 64, "text_dim": 64, "out_dim": 16, "num_heads": 2,
            "num_layers": 2, "eps": 1e-6, "qk_norm": True, "cross_attn_norm": True}
IMAGE_TOKENS = 257          # CLIP-vision tokens an image-to-video Wan reads (ViT-H penultimate states, 1280 wide)


@torch.no_grad()
def _perturb(model: torch.nn.Module, seed: int) -> None:
    """Biases and norm scales away from init_random's 0 and 1, so that a test sees Wan's biases and RMSNorms act."""
    gen = torch.Generator().manual_seed(seed)
    for name, param in model.named_parameters():
        if name.endswith("bias"):
            param.copy_(0.05 * torch.randn(param.shape, generator=gen))
        elif name.endswith(("norm_q.weight", "norm_k.weight", "norm_k_img.weight")):
            param.copy_(1.0 + 0.3 * torch.randn(param.shape, generator=gen))
        elif name.endswith("modulation"):
            param.copy_(0.1 * torch.randn(param.shape, generator=gen))


def _spiece_model() -> bytes:
    """A SentencePiece model (deterministic, ~60 pieces) with UMT5's ids: pad 0, end 1, unknown 2."""
    import sentencepiece

    corpus = [" ".join(WORDS[i:] + WORDS[:i]) for i in range(len(WORDS))]
    out = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(sentence_iterator=iter(corpus), model_writer=out, vocab_size=120,
                                             pad_id=0, eos_id=1, unk_id=2, bos_id=-1, hard_vocab_limit=False,
                                             minloglevel=2)
    return out.getvalue()


def _clip(seed: int):
    from comfy.text_encoders import wan

    spiece = torch.frombuffer(bytearray(_spiece_model()), dtype=torch.uint8)
    return _random_clip(wan.WanT5Tokenizer, wan.te(dtype_t5=torch.float32), {"umt5xxl_model_config": TINY_UMT5},
                        seed, tokenizer_data={"spiece_model": spiece})


def tiny_wan(seed: int = 0, image_to_video: bool = False) -> TinyModels:
    """A Wan 2.1-shaped DiT (2 blocks; image-to-video: 36 input channels and the CLIP-image projection) and a tiny
    UMT5-XXL; no VAE."""
    import comfy.supported_models as sm

    if image_to_video:
        config = sm.WAN21_I2V(dict(TINY_WAN, model_type="i2v", in_dim=36))
    else:
        config = sm.WAN21_T2V(dict(TINY_WAN))
    model = _random_dit(config, seed)
    _perturb(model.diffusion_model, seed)
    return TinyModels(_patcher(model), _clip(seed), None)
