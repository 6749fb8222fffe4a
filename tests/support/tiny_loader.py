"""A test-only loader node with CheckpointLoaderSimple's outputs (MODEL, CLIP, VAE), registered in the in-process
host for the duration of a test: graphs written for real loaders run on tiny models built in code."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator


@contextmanager
def tiny_loader(comfy: Any, name: str, models: dict[str, Any]) -> Iterator[str]:
    """Registers node `name`, whose `ckpt_name` picks one of `models` (each with .model, .clip, .vae)."""

    class TinyCheckpoint:
        RETURN_TYPES = ("MODEL", "CLIP", "VAE")
        FUNCTION = "load"
        CATEGORY = "testing"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"ckpt_name": (sorted(models),)}}

        def load(self, ckpt_name):
            m = models[ckpt_name]
            return (m.model, m.clip, m.vae)

    comfy.nodes.NODE_CLASS_MAPPINGS[name] = TinyCheckpoint
    try:
        yield name
    finally:
        del comfy.nodes.NODE_CLASS_MAPPINGS[name]
