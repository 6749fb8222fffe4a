"""Random-weight models of the real architectures, built in code (tiny) or cached on disk (full size).

Random weights test shapes, finiteness, determinism and exactness of the patch; not image quality.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

TINY_TE = {"hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 2, "num_hidden_layers": 2}
TINY_TE_G = {"hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 2, "num_hidden_layers": 3,
             "projection_dim": 64}

TINY_SD15_UNET = {
    "use_checkpoint": False, "image_size": 32, "out_channels": 4, "use_spatial_transformer": True,
    "legacy": False, "adm_in_channels": None, "in_channels": 4, "model_channels": 32,
    "num_res_blocks": [2, 2, 2, 2], "transformer_depth": [1, 1, 1, 1, 1, 1, 0, 0], "channel_mult": [1, 2, 4, 4],
    "transformer_depth_middle": 1, "use_linear_in_transformer": False, "context_dim": 64,
    "transformer_depth_output": [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
    "use_temporal_attention": False, "use_temporal_resblock": False,
}

# SDXL layout (linear in/out, depth 2 transformers, no attention at the top level), tiny widths;
# adm = pooled clip_g (64) + 6 size embeddings of 256.
TINY_SDXL_UNET = {
    "use_checkpoint": False, "image_size": 32, "out_channels": 4, "use_spatial_transformer": True,
    "legacy": False, "adm_in_channels": 64 + 6 * 256, "num_classes": "sequential", "in_channels": 4,
    "model_channels": 32, "num_res_blocks": [2, 2, 2], "transformer_depth": [0, 0, 2, 2, 2, 2],
    "channel_mult": [1, 2, 4], "transformer_depth_middle": 2, "use_linear_in_transformer": True,
    "context_dim": 128, "num_head_channels": 16,
    "transformer_depth_output": [0, 0, 0, 2, 2, 2, 2, 2, 2], "use_temporal_attention": False,
    "use_temporal_resblock": False,
}


@torch.no_grad()
def init_random(module: torch.nn.Module, seed: int = 0, scale: float = 0.05) -> torch.nn.Module:
    """ComfyUI's ops leave weights uninitialised: fill them reproducibly."""
    gen = torch.Generator().manual_seed(seed)
    for name, param in module.named_parameters():
        if name.endswith("bias"):
            param.zero_()
        elif param.ndim <= 1:
            param.fill_(1.0)
        else:
            param.copy_(torch.randn(param.shape, generator=gen, dtype=torch.float32).to(param.dtype) * scale)
    return module


@dataclass
class TinyModels:
    model: Any
    clip: Any
    vae: Any


def _tiny_vae(latent_channels: int = 4):
    import comfy.sd
    from comfy.ldm.models.autoencoder import AutoencoderKL

    ddconfig = {"double_z": True, "z_channels": latent_channels, "resolution": 256, "in_channels": 3, "out_ch": 3,
                "ch": 32, "ch_mult": [1, 2, 4, 4], "num_res_blocks": 1, "attn_resolutions": [], "dropout": 0.0}
    config = {"params": {"ddconfig": ddconfig, "embed_dim": latent_channels}}
    return comfy.sd.VAE(sd=init_random(AutoencoderKL(**config["params"])).state_dict(), config=config)


def _random_dit(config, seed: int):
    """The float32 diffusion model a supported-model `config` builds, its weights random (scale 0.1)."""
    config.set_inference_dtype(torch.float32, None)
    model = config.get_model({})
    init_random(model.diffusion_model, seed, scale=0.1)
    return model


def _random_clip(tokenizer, text_encoder, model_options: dict, seed: int, weights=None, **kw):
    """ComfyUI's CLIP of a tokenizer and text-encoder class at the widths `model_options` gives (more keywords go to
    comfy.sd.CLIP), random weights (seed + 1) in ``weights(cond_stage_model)``, by default all of it."""
    import comfy.sd
    import comfy.supported_models_base as smb

    clip = comfy.sd.CLIP(target=smb.ClipTarget(tokenizer, text_encoder), model_options=model_options, **kw)
    init_random(clip.cond_stage_model if weights is None else weights(clip.cond_stage_model), seed + 1)
    return clip


def _patcher(model):
    import comfy.model_management as mm
    import comfy.model_patcher

    return comfy.model_patcher.ModelPatcher(model, load_device=mm.get_torch_device(),
                                            offload_device=mm.unet_offload_device())


def tiny_sd15(dtype: torch.dtype = torch.float32, seed: int = 0) -> TinyModels:
    """An SD1.x-shaped UNet (16 attn2 layers), a tiny SD1 CLIP with the real tokenizer, a tiny VAE."""
    import comfy.sd1_clip
    import comfy.supported_models as sm

    config = sm.SD15(dict(TINY_SD15_UNET))
    config.set_inference_dtype(dtype, None)
    model = config.get_model({})
    init_random(model.diffusion_model, seed)
    clip = _random_clip(comfy.sd1_clip.SD1Tokenizer, comfy.sd1_clip.SD1ClipModel, {"clip_l_model_config": TINY_TE},
                        seed)
    return TinyModels(_patcher(model), clip, _tiny_vae())


def tiny_sdxl(seed: int = 0) -> TinyModels:
    """An SDXL-shaped UNet (adm conditioning, depth-2 linear transformers) and a tiny dual CLIP (l + g)."""
    import comfy.sdxl_clip
    import comfy.supported_models as sm

    config = sm.SDXL(dict(TINY_SDXL_UNET))
    config.set_inference_dtype(torch.float32, None)
    model = config.get_model({})
    init_random(model.diffusion_model, seed)
    clip = _random_clip(comfy.sdxl_clip.SDXLTokenizer, comfy.sdxl_clip.SDXLClipModel,
                        {"clip_l_model_config": dict(TINY_TE, num_hidden_layers=3), "clip_g_model_config": TINY_TE_G},
                        seed)
    return TinyModels(_patcher(model), clip, _tiny_vae())


TINY_T5 = {"d_model": 64, "d_ff": 128, "d_kv": 32, "num_heads": 2, "num_layers": 2}
TINY_FLUX = {"image_model": "flux", "in_channels": 16, "out_channels": 16, "patch_size": 2, "vec_in_dim": 64,
             "context_in_dim": 64, "hidden_size": 64, "mlp_ratio": 2.0, "num_heads": 2, "depth": 2,
             "depth_single_blocks": 2, "axes_dim": [8, 12, 12], "theta": 10000, "qkv_bias": True,
             "guidance_embed": True}


def tiny_flux(seed: int = 0) -> TinyModels:
    """A Flux.1-dev-shaped DiT (2 double and 2 single blocks, guidance embedding), a tiny Flux text encoder
    (T5 + CLIP-L at width 64 with the real tokenizers) and a tiny 16-channel VAE."""
    import comfy.supported_models as sm
    from comfy.ldm.flux.model import FluxParams
    from comfy.text_encoders.flux import FluxTokenizer, flux_clip

    unet_config = dict(TINY_FLUX)
    if "txt_ids_dims" in FluxParams.__dataclass_fields__:      # 2026 cores; Flux.1 gives text no positions
        unet_config["txt_ids_dims"] = []
    model = _random_dit(sm.Flux(unet_config), seed)
    clip = _random_clip(FluxTokenizer, flux_clip(dtype_t5=torch.float32),
                        {"t5xxl_model_config": TINY_T5, "clip_l_model_config": dict(TINY_TE, projection_dim=64)}, seed)
    return TinyModels(_patcher(model), clip, _tiny_vae(16))


# Flux.2: Flux.1's blocks with modulation shared across blocks (as model detection configures Flux.2), 2 heads of 32
# (four RoPE axes of 8, text numbered on the last), 128 latent channels in 1 x 1 patches. Its text encoder is
# Klein's where the core has it (Qwen3 4B's class at width 64, three of its 28 hidden layers side by side, the real
# tokenizer and template, every prompt padded to 512 tokens); on 0.3.75, whose Flux.2 text encoder is dev's Mistral
# (no tokenizer without the real file), Z-Image's Qwen3 at width 64, which pads nothing, as Mistral does.
TINY_FLUX2 = {"image_model": "flux2", "in_channels": 128, "out_channels": 128, "patch_size": 1, "vec_in_dim": None,
              "hidden_size": 64, "mlp_ratio": 3.0, "num_heads": 2, "depth": 2, "depth_single_blocks": 2,
              "axes_dim": [8, 8, 8, 8], "theta": 2000, "qkv_bias": False, "guidance_embed": True,
              "global_modulation": True, "mlp_silu_act": True, "ops_bias": False, "default_ref_method": "index",
              "ref_index_scale": 10.0}


def tiny_flux2(seed: int = 0) -> TinyModels:
    """A Flux.2-shaped DiT (2 double and 2 single blocks, guidance embedding) and a tiny text encoder; no VAE."""
    import comfy.supported_models as sm
    import comfy.text_encoders.flux as flux_te
    from comfy.ldm.flux.model import FluxParams

    unet_config = dict(TINY_FLUX2)
    if "txt_ids_dims" in FluxParams.__dataclass_fields__:      # 2026 cores name the numbered axis
        unet_config["txt_ids_dims"] = [3]
    if hasattr(flux_te, "KleinTokenizer"):
        tokenizer, te, layers, width = flux_te.KleinTokenizer, flux_te.klein_te, 28, 3 * 64
    else:
        from comfy.text_encoders import z_image
        tokenizer, te, layers, width = z_image.ZImageTokenizer, z_image.te, TINY_QWEN3["num_hidden_layers"], 64
    model = _random_dit(sm.Flux2(dict(unet_config, context_in_dim=width)), seed)
    clip = _random_clip(tokenizer, te(dtype_llama=torch.float32),
                        {"qwen3_4b_model_config": dict(TINY_QWEN3, num_hidden_layers=layers)}, seed,
                        weights=lambda encoder: encoder.qwen3_4b.transformer)
    return TinyModels(_patcher(model), clip, None)


# Chroma: Flux.1's blocks without per-block modulation (an approximator gives every modulation vector), T5 alone;
# patch embedding and final layer work on 2x2 patches of the 16-channel latent (64 in, 64 out).
TINY_CHROMA = {"image_model": "chroma", "in_channels": 64, "out_channels": 64, "patch_size": 2,
               "context_in_dim": 64, "hidden_size": 64, "mlp_ratio": 2.0, "num_heads": 2, "depth": 2,
               "depth_single_blocks": 2, "axes_dim": [8, 12, 12], "theta": 10000, "qkv_bias": True,
               "in_dim": 64, "out_dim": 64, "hidden_dim": 128, "n_layers": 2}


def tiny_chroma(seed: int = 0) -> TinyModels:
    """A Chroma-shaped DiT (2 double and 2 single blocks, the distilled guidance approximator), a tiny T5 text
    encoder with the real T5 tokenizer (ComfyUI's Chroma/PixArt text encoder class) and a tiny 16-channel VAE."""
    import comfy.supported_models as sm
    from comfy.ldm.chroma.model import ChromaParams
    from comfy.text_encoders.pixart_t5 import PixArtTokenizer, pixart_te

    unet_config = dict(TINY_CHROMA)
    if "txt_ids_dims" in ChromaParams.__dataclass_fields__:    # 2026 cores: text positions as Flux.1's, none
        unet_config["txt_ids_dims"] = []
    if "vec_in_dim" in ChromaParams.__dataclass_fields__:
        unet_config["vec_in_dim"] = None
    model = _random_dit(sm.Chroma(unet_config), seed)
    clip = _random_clip(PixArtTokenizer, pixart_te(dtype_t5=torch.float32), {"t5xxl_model_config": TINY_T5}, seed)
    return TinyModels(_patcher(model), clip, _tiny_vae(16))


# SD3.5-Medium-like MMDiT: hidden = 64 x depth, rms q/k norm, an image-only attention in block 0; CLIP-L + G text
# (their features padded to 4096 as SD3's encoder does; no T5 at this width).
TINY_SD3 = {"in_channels": 16, "patch_size": 2, "out_channels": 16, "depth": 2, "input_size": None,
            "adm_in_channels": 128, "num_patches": 256, "pos_embed_max_size": 16, "qk_norm": "rms",
            "pos_embed_scaling_factor": None, "x_block_self_attn_layers": [0],
            "context_embedder_config": {"target": "torch.nn.Linear",
                                        "params": {"in_features": 4096, "out_features": 128}}}


def tiny_sd3(seed: int = 0) -> TinyModels:
    """An SD3.5-shaped MMDiT (2 joint blocks, the first with SD3.5 Medium's image-only attention) and a tiny SD3
    text encoder (CLIP-L + CLIP-G with the real tokenizers); no VAE."""
    import comfy.supported_models as sm
    from comfy.text_encoders.sd3_clip import SD3Tokenizer, sd3_clip

    model = _random_dit(sm.SD3(dict(TINY_SD3)), seed)
    with torch.no_grad():          # a buffer, left uninitialised like the weights (a checkpoint fills it)
        gen = torch.Generator().manual_seed(seed)
        pos = model.diffusion_model.pos_embed
        pos.copy_(torch.randn(pos.shape, generator=gen) * 0.1)
    clip = _random_clip(SD3Tokenizer, sd3_clip(clip_l=True, clip_g=True, t5=False),
                        {"clip_l_model_config": dict(TINY_TE, num_hidden_layers=3, projection_dim=64),
                         "clip_g_model_config": TINY_TE_G}, seed)
    return TinyModels(_patcher(model), clip, None)


FULL_SD15_NAME = "random_sd15_fp16.safetensors"


@torch.no_grad()
def _init_full(module: torch.nn.Module, gen: torch.Generator) -> None:
    for name, param in module.named_parameters():
        if name.endswith("bias"):
            param.zero_()
        elif param.ndim == 0:
            param.fill_(math.log(100.0))
        elif param.ndim == 1:
            param.fill_(1.0)
        elif "embedding" in name:
            param.copy_((torch.randn(param.shape, generator=gen) * 0.02).to(param.dtype))
        else:
            fan_in = param[0].numel()
            param.copy_((torch.randn(param.shape, generator=gen) / math.sqrt(fan_in)).to(param.dtype))


def move_out_of_host(host_checkpoints: str | Path, checkpoints_dir: Path) -> None:
    """Earlier test runs generated the random checkpoint into the host's own models folder, where tools/run.sh
    offered it to the user as a model: move it to the tests' folder (it is 2 GB to regenerate)."""
    for suffix in (".safetensors", ".version"):
        old = Path(host_checkpoints) / Path(FULL_SD15_NAME).with_suffix(suffix)
        if old.exists() and old.parent.resolve() != Path(checkpoints_dir).resolve():
            old.replace(Path(checkpoints_dir) / old.name)


def ensure_full_sd15_checkpoint(checkpoints_dir: Path) -> Path:
    """A full-size SD1.5 checkpoint with seeded random weights (2.1 GB), generated once and reused.

    Byte-identical for a given torch version, so its presence plus a marker of that version is the cache key.
    """
    path = Path(checkpoints_dir) / FULL_SD15_NAME
    marker = path.with_suffix(".version")
    version = hashlib.sha256(torch.__version__.encode()).hexdigest()[:12]
    if path.exists() and marker.exists() and marker.read_text() == version:
        return path
    import comfy.sd
    import comfy.supported_models as sm
    from comfy.ldm.models.autoencoder import AutoencoderKL

    unet_config = dict(TINY_SD15_UNET, model_channels=320, context_dim=768, num_heads=8)
    config = sm.SD15(unet_config)
    config.set_inference_dtype(torch.float16, None)
    gen = torch.Generator().manual_seed(1234)
    model = config.get_model({})
    _init_full(model.diffusion_model, gen)
    clip = comfy.sd.CLIP(target=config.clip_target(), model_options={"dtype": torch.float16})
    _init_full(clip.cond_stage_model, gen)
    ddconfig = {"double_z": True, "z_channels": 4, "resolution": 256, "in_channels": 3, "out_ch": 3, "ch": 128,
                "ch_mult": [1, 2, 4, 4], "num_res_blocks": 2, "attn_resolutions": [], "dropout": 0.0}
    vcfg = {"params": {"ddconfig": ddconfig, "embed_dim": 4}}
    vae_model = AutoencoderKL(**vcfg["params"])
    _init_full(vae_model, gen)
    vae = comfy.sd.VAE(sd=vae_model.state_dict(), config=vcfg)
    vae.first_stage_model.to(torch.float16)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".partial")
    comfy.sd.save_checkpoint(str(tmp), _patcher(model), clip, vae)
    tmp.rename(path)
    marker.write_text(version)
    return path


# Qwen-Image: 2 blocks of width 64 (2 heads of 32, RoPE axes 8 + 12 + 12), 16 latent channels patched 2 x 2; its text
# encoder is Qwen2.5-VL 7B's class at width 64 (its vision tower keeps its real size but is left uninitialised and
# never touched: a text prompt does not reach it).
TINY_QWEN25 = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
               "num_key_value_heads": 1}
TINY_QWEN_IMAGE = {"image_model": "qwen_image", "patch_size": 2, "in_channels": 64, "out_channels": 16,
                   "num_layers": 2, "attention_head_dim": 32, "num_attention_heads": 2, "joint_attention_dim": 64,
                   "axes_dims_rope": [8, 12, 12]}


def tiny_qwen_image(seed: int = 0) -> TinyModels:
    """A Qwen-Image-shaped DiT (2 joint blocks) and a tiny Qwen2.5-VL text encoder with the real tokenizer and
    prompt template; no VAE."""
    import comfy.supported_models as sm
    from comfy.text_encoders.qwen_image import QwenImageTokenizer, te

    model = _random_dit(sm.QwenImage(dict(TINY_QWEN_IMAGE)), seed)
    clip = _random_clip(QwenImageTokenizer, te(dtype_llama=torch.float32), {"qwen25_7b_model_config": TINY_QWEN25},
                        seed, weights=lambda encoder: encoder.qwen25_7b.transformer.model)
    return TinyModels(_patcher(model), clip, None)


# Z-Image: NextDiT at width 256 (the narrowest its modulation allows: adaLN reads min(dim, 256) features), 2 heads of
# 128 (RoPE axes 32 + 48 + 48 as the real model), 1 refiner layer of each kind and 2 joint layers, captions padded
# to 32 with the learned pad token; its text encoder is Qwen3 4B's class at width 64 (second-to-last hidden layer).
TINY_QWEN3 = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 3, "num_attention_heads": 2,
              "num_key_value_heads": 1}
TINY_Z_IMAGE = {"image_model": "lumina2", "patch_size": 2, "in_channels": 16, "dim": 256, "n_layers": 2,
                "n_refiner_layers": 1, "n_heads": 2, "n_kv_heads": 2, "multiple_of": 64, "ffn_dim_multiplier": 2.0,
                "norm_eps": 1e-5, "qk_norm": True, "cap_feat_dim": 64, "axes_dims": [32, 48, 48],
                "axes_lens": [1536, 512, 512], "rope_theta": 256.0, "z_image_modulation": True,
                "time_scale": 1000.0, "pad_tokens_multiple": 32}


def tiny_z_image(seed: int = 0) -> TinyModels:
    """A Z-Image-shaped NextDiT and a tiny Qwen3 text encoder with the real tokenizer and chat template; no VAE."""
    import comfy.supported_models as sm
    from comfy.text_encoders.z_image import ZImageTokenizer, te

    model = _random_dit(sm.ZImage(dict(TINY_Z_IMAGE)), seed)
    clip = _random_clip(ZImageTokenizer, te(dtype_llama=torch.float32), {"qwen3_4b_model_config": TINY_QWEN3}, seed,
                        weights=lambda encoder: encoder.qwen3_4b.transformer)
    return TinyModels(_patcher(model), clip, None)


# Cosmos-Predict2 text-to-image: MiniTrainDIT at width 64 (2 heads of 32, AdaLN-LoRA 16 wide), 2 blocks, 16 latent
# channels (+ the padding-mask channel) in 2 x 2 patches, 1 frame; its text encoder is Cosmos's old T5-XXL class
# at width 64 with the real tokenizer (every prompt padded to 512 tokens, the padding zeroed).
TINY_COSMOS = {"image_model": "cosmos_predict2", "max_img_h": 240, "max_img_w": 240, "max_frames": 128,
               "in_channels": 16, "out_channels": 16, "patch_spatial": 2, "patch_temporal": 1, "model_channels": 64,
               "concat_padding_mask": True, "crossattn_emb_channels": 64, "pos_emb_cls": "rope3d",
               "pos_emb_learnable": True, "pos_emb_interpolation": "crop", "min_fps": 1, "max_fps": 30,
               "use_adaln_lora": True, "adaln_lora_dim": 16, "num_blocks": 2, "num_heads": 2,
               "extra_per_block_abs_pos_emb": False, "rope_h_extrapolation_ratio": 4.0,
               "rope_w_extrapolation_ratio": 4.0, "rope_t_extrapolation_ratio": 1.0}


@torch.no_grad()
def _scale_qk_norms(model: torch.nn.Module, seed: int) -> None:
    """Cosmos's per-head query/key RMSNorm scales, away from init_random's 1, so that a test sees them act."""
    gen = torch.Generator().manual_seed(seed)
    for name, param in model.named_parameters():
        if name.endswith(("q_norm.weight", "k_norm.weight")):
            param.copy_(1.0 + 0.3 * torch.randn(param.shape, generator=gen))


def tiny_cosmos(seed: int = 0) -> TinyModels:
    """A Cosmos-Predict2-shaped DiT (2 blocks) and a tiny Cosmos T5-XXL with the real tokenizer; no VAE."""
    import comfy.supported_models as sm
    from comfy.text_encoders.cosmos import CosmosT5Tokenizer, te

    model = _random_dit(sm.CosmosT2IPredict2(dict(TINY_COSMOS)), seed)
    _scale_qk_norms(model.diffusion_model, seed)
    clip = _random_clip(CosmosT5Tokenizer, te(dtype_t5=torch.float32), {"t5xxl_model_config": TINY_T5}, seed)
    return TinyModels(_patcher(model), clip, None)


def tiny_anima(seed: int = 0) -> TinyModels | None:
    """An Anima-shaped DiT (Cosmos-Predict2's blocks at width 64 with ComfyUI's LLMAdapter at width 64, 2 layers,
    in place of the real 1024-wide one the class builds) and a tiny Qwen3 0.6B with the real Qwen and T5
    tokenizers; no VAE. None on cores without Anima."""
    import comfy.ops
    import comfy.supported_models as sm

    if not hasattr(sm, "Anima"):
        return None
    from comfy.ldm.anima.model import LLMAdapter
    from comfy.text_encoders.anima import AnimaTokenizer, te

    config = sm.Anima(dict(TINY_COSMOS, image_model="anima"))
    config.set_inference_dtype(torch.float32, None)
    model = config.get_model({})
    model.diffusion_model.llm_adapter = LLMAdapter(source_dim=64, target_dim=64, model_dim=64, num_layers=2,
                                                   num_heads=2, operations=comfy.ops.disable_weight_init)
    init_random(model.diffusion_model, seed, scale=0.1)
    _scale_qk_norms(model.diffusion_model, seed)
    clip = _random_clip(AnimaTokenizer, te(dtype_llama=torch.float32), {"qwen3_06b_model_config": TINY_QWEN3}, seed,
                        weights=lambda encoder: encoder.qwen3_06b.transformer)
    return TinyModels(_patcher(model), clip, None)
