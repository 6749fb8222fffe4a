"""Where each object's name sits in its local prompt, as the SD1/SDXL CLIP tokenizer bundled with ComfyUI splits
it (the attention objective reads the attention to those tokens)."""
from __future__ import annotations

import os
from typing import Any

from ..spacetime.optimize.attention import phrase_positions


def _sd_tokenizer() -> Any:
    import comfy.sd1_clip
    from transformers import CLIPTokenizer

    folder = os.path.join(os.path.dirname(os.path.realpath(comfy.sd1_clip.__file__)), "sd1_tokenizer")
    return CLIPTokenizer.from_pretrained(folder, local_files_only=True)


def phrase_token_positions(regions: Any) -> list[list[int]]:
    """Per region, the positions of its name in its local prompt."""
    tok = _sd_tokenizer()
    out = []
    for prompt, name, emb in zip(regions.prompts, regions.names, regions.embeddings):
        ids = tok(prompt)["input_ids"]
        name_ids = tok(name, add_special_tokens=False)["input_ids"] if name else []
        out.append(phrase_positions(ids, name_ids, int(emb.shape[1])))
    return out
