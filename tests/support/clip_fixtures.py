"""A tiny random `transformers` CLIPModel folder for the optimiser's `clip` objective (no download)."""
from __future__ import annotations

import shutil
from pathlib import Path

import torch

from .paths import comfy_dir

TINY_CLIP_NAME = "tiny-clip"


def write_tiny_clip(folder: Path) -> Path:
    """A CLIPModel with 32-wide 1-layer towers and ComfyUI's bundled SD1 tokenizer files, saved to `folder`."""
    from transformers import CLIPConfig, CLIPModel

    torch.manual_seed(0)
    cfg = CLIPConfig(text_config=dict(hidden_size=32, intermediate_size=64, num_attention_heads=2,
                                      num_hidden_layers=1, max_position_embeddings=77),
                     vision_config=dict(hidden_size=32, intermediate_size=64, num_attention_heads=2,
                                        num_hidden_layers=1, image_size=32, patch_size=8), projection_dim=16)
    CLIPModel(cfg).save_pretrained(folder)
    tok = comfy_dir() / "comfy" / "sd1_tokenizer"
    for name in ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"]:
        shutil.copy(tok / name, Path(folder) / name)
    return Path(folder)


def extra_model_paths_yaml(root: Path, checkpoints: Path) -> Path:
    """An extra_model_paths.yaml giving a server `root/spacetime_clip/tiny-clip` as a CLIP model folder and
    `checkpoints` (the tests' own, outside the host) among its checkpoints."""
    write_tiny_clip(root / "spacetime_clip" / TINY_CLIP_NAME)
    path = root / "extra_model_paths.yaml"
    path.write_text(f"spacetime_tests:\n  base_path: {root}\n  spacetime_clip: spacetime_clip\n"
                    f"  checkpoints: {checkpoints}\n")
    return path
