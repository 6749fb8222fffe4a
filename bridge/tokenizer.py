"""What ComfyUI's tokenizers say about a local prompt: where each object's name sits in it, as the SD1/SDXL CLIP
tokenizer bundled with ComfyUI splits it (the attention objective reads the attention to those tokens), and how
many of its encoded tokens carry the prompt rather than padding."""
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


def prompt_length(tokens: dict[str, Any], encoded: int) -> int:
    """How many of the `encoded` tokens of ``clip.tokenize(text)``'s encoding carry the prompt: up to the padding
    that fills it to the tokenizer's minimum length (one padding token is kept). The tokenizer whose token count
    matches the encoding tells (T5's 256 for Flux, beside CLIP-L's 77); without one, all tokens count."""
    for batches in tokens.values():
        ids = [t[0] for batch in batches for t in batch] if isinstance(batches, list) else []
        if len(ids) != encoded or not ids or not all(isinstance(i, int) for i in ids):
            continue
        start = len(ids) - 1
        while start > 0 and ids[start - 1] == ids[-1]:
            start -= 1
        return min(encoded, start + 1)
    return encoded
