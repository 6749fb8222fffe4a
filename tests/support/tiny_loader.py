"""A test-only loader node with CheckpointLoaderSimple's outputs (MODEL, CLIP, VAE): graphs written for real loaders
run on tiny models built in code. Registered in the in-process host for the duration of a test (tiny_loader), or
served by a test server from the test-only extension support/server_nodes/spacetime_tiny_models."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping


def loader_class(models: Mapping[str, Callable[[], Any]]) -> type:
    """The node class: its `ckpt_name` picks one of `models`, each a function giving an object with .model, .clip
    and .vae (the in-process tests hand over models they built; a server builds them when the node runs)."""

    class TinyCheckpoint:
        RETURN_TYPES = ("MODEL", "CLIP", "VAE")
        FUNCTION = "load"
        CATEGORY = "testing"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"ckpt_name": (sorted(models),)}}

        def load(self, ckpt_name):
            m = models[ckpt_name]()
            return (m.model, m.clip, m.vae)

    return TinyCheckpoint


@contextmanager
def tiny_loader(comfy: Any, name: str, models: dict[str, Any]) -> Iterator[str]:
    """Registers node `name`, whose `ckpt_name` picks one of `models` (each with .model, .clip, .vae)."""
    comfy.nodes.NODE_CLASS_MAPPINGS[name] = loader_class({key: (lambda m=m: m) for key, m in models.items()})
    try:
        yield name
    finally:
        del comfy.nodes.NODE_CLASS_MAPPINGS[name]
