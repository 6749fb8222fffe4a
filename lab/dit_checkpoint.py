"""The DiT lab checkpoint: written and loaded with the DiT config given explicitly, like `lab.checkpoint`.

ComfyUI's own loaders cannot load it: their Flux detection fixes the head layout of the real model (24 heads,
rope axes 16/56/56, i.e. width 3072), so a 128-wide Flux is misbuilt there. The file keeps Flux.1's own key names
(`*_norm.scale` for the q/k RMSNorms), which every core reads: newer cores rename them to `.weight` on loading.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .checkpoint import UNET_PREFIX, load_with_config, save_with_config
from .dit_model import dit_config, dit_model_config_class, dit_size_of, fixed_dit_taesd_state_dict
from .model import CONTEXT_DIM

TXT_IN_KEY = UNET_PREFIX + "txt_in.weight"
NORM_WEIGHT, NORM_SCALE = "_norm.weight", "_norm.scale"


def save_dit_lab_checkpoint(path: str | Path, model_sd: dict[str, torch.Tensor], text_sd: dict[str, torch.Tensor],
                            metadata: dict[str, str] | None = None, dtype: torch.dtype = torch.float16) -> None:
    """Write Flux weights (either core's names), the text encoder and the 16-channel TAESD as one safetensors file."""
    from safetensors.torch import load_file, save_file

    config = dit_model_config_class()(dit_config(dit_size_of(model_sd)))
    model_sd = config.process_unet_state_dict(_flux1_names(model_sd))  # this core's names
    save_with_config(path, config, model_sd, text_sd, fixed_dit_taesd_state_dict(), metadata, dtype)
    written = load_file(str(path))
    save_file({(_flux1_name(k) if k.startswith(UNET_PREFIX) else k): v for k, v in written.items()}, str(path),
              metadata=_file_metadata(path))


def load_dit_lab_checkpoint(path: str | Path, embedding_directory: Any = None) -> tuple[Any, Any, Any]:
    """(ModelPatcher, CLIP, VAE) of a DiT lab checkpoint, built as `lab.checkpoint` builds the UNet lab's."""
    import comfy.utils

    sd, metadata = comfy.utils.load_torch_file(str(path), return_metadata=True)
    if TXT_IN_KEY not in sd or sd[TXT_IN_KEY].shape[-1] != CONTEXT_DIM:
        raise ValueError(f"{Path(path).name} is not a DiT lab checkpoint: the lab DiT reads {CONTEXT_DIM}-wide "
                         "text embeddings (lab/fixtures/spacetime_lab_dit.safetensors is one)")
    config = dit_model_config_class()(dit_config(dit_size_of(sd, UNET_PREFIX)))
    return load_with_config(sd, metadata, config, embedding_directory)


def is_dit_lab_checkpoint(path: str | Path) -> bool:
    """Whether a safetensors file holds a Flux (reads only the header)."""
    from safetensors import safe_open

    if Path(path).suffix != ".safetensors":
        return False
    with safe_open(str(path), framework="pt") as f:
        return TXT_IN_KEY in f.keys()


def _flux1_name(key: str) -> str:
    return key[:-len(NORM_WEIGHT)] + NORM_SCALE if key.endswith(NORM_WEIGHT) else key


def _flux1_names(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {_flux1_name(k): v for k, v in sd.items()}


def _file_metadata(path: str | Path) -> dict[str, str] | None:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return f.metadata()
