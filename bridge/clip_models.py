"""CLIP image-text models for the clip objective: ``models/spacetime_clip/<name>/``, a ``transformers``
CLIPModel folder such as ``openai/clip-vit-base-patch32`` saved with save_pretrained, loaded offline."""
from __future__ import annotations

import contextlib
import json
import os
from typing import Any

import torch

from ..spacetime.optimize.clip_score import OPENAI_MEAN, OPENAI_STD
from .folders import register_folder, sub_folder_path, sub_folders

CLIP_FOLDER = "spacetime_clip"
NO_CLIP = "none"


def register_clip_folder() -> None:
    register_folder(CLIP_FOLDER)


def clip_model_names() -> list[str]:
    """Sub-folders of every registered ``spacetime_clip`` path, sorted; ``none`` first."""
    return [NO_CLIP] + sub_folders(CLIP_FOLDER)


def clip_model_path(name: str) -> str | None:
    return None if name == NO_CLIP else sub_folder_path(CLIP_FOLDER, name)


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
