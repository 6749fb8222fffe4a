"""What the families that hook blocks share: hooks that clones share, chaining an object patch on a module's
``forward`` or a ``dit`` block replace on the one another pack set, and which of a DiT's ``blocks[i].cross_attn``
the ``blocks`` setting selects."""
from __future__ import annotations

import functools
from typing import Any, Callable

import torch

from ...spacetime.blocks import parse_blocks
from ..runtime import SpaceTimeRuntime


class SharedHook:
    """Base of the callables stored on a patcher: ModelPatcher.clone deep-copies its options and object patches,
    and every copy must reach the same hook (and its state)."""

    def __deepcopy__(self, memo):
        return self


def chain_object_patch(clone: Any, name: str, module: torch.nn.Module,
                       make: Callable[[Callable], Callable]) -> None:
    """Object patch `name` (``module``'s forward) on the clone, wrapping the one another pack set there, if any."""
    previous = clone.object_patches.get(name) or functools.partial(type(module).forward, module)
    clone.add_object_patch(name, make(previous))


class ChainedBlockReplace(SharedHook):
    """A ``dit`` block replace that changes what a block is handed (`adjust`) and passes it on to the replace that
    was there before, or to the block itself."""

    def __init__(self, previous: Callable | None = None):
        self.previous = previous

    def adjust(self, args: dict) -> dict:
        raise NotImplementedError

    def __call__(self, args: dict, extra: dict) -> dict:
        args = self.adjust(args)
        if self.previous is not None:
            return self.previous(args, extra)
        return extra["original_block"](args)


def chain_block_replace(clone: Any, kind: str, index: int, make: Callable[[Callable | None], ChainedBlockReplace]
                        ) -> None:
    """``dit`` replace of block `index` of `kind` ("double_block", "single_block") on the clone, made by
    ``make(previous replace or None)``."""
    replaces = clone.model_options.get("transformer_options", {}).get("patches_replace", {}).get("dit", {})
    clone.set_model_patch_replace(make(replaces.get((kind, index))), "dit", kind, index)


def block_cross_attention(model: Any | None) -> dict[tuple[str, int], torch.nn.Module]:
    """``{("double", i): blocks[i].cross_attn}``: a cross-attention DiT's text layers, keyed so that ``blocks`` reads
    ``d0-d27``, ``every other``, ...; empty for None (the patcher holds another family's model)."""
    if model is None:
        return {}
    return {("double", i): block.cross_attn for i, block in enumerate(model.blocks)}


def patch_cross_attention(clone: Any, runtime: SpaceTimeRuntime, family: str,
                          make: Callable[[tuple[str, int], torch.nn.Module, Callable], Callable]) -> None:
    """Object patches, made by ``make(layer key, cross_attn, previous forward)``, on the cross-attention of the
    blocks the ``blocks`` setting selects; says once that ``region_attention`` (a joint-attention control) does not
    apply to `family`."""
    if runtime.config.region_attention != "open":
        runtime.warn_once(f"{family}_region_attention", f"region_attention applies to joint-attention DiTs; {family} "
                                                        "keeps its self-attention as it is")
    model = clone.model.diffusion_model
    try:
        selected = parse_blocks(runtime.config.blocks, {"double": len(model.blocks)})
    except ValueError as err:
        raise ValueError(f"blocks: {err}") from None
    for key, attn in block_cross_attention(model).items():
        if key in runtime.layers and (selected is None or key in selected):
            chain_object_patch(clone, f"diffusion_model.blocks.{key[1]}.cross_attn.forward", attn,
                               functools.partial(make, key, attn))
