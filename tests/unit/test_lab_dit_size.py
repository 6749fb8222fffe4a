"""The DiT lab model's size: read back from its weights (the checkpoint is the record of its shape), and refused
with a message when Flux's heads of 64 cannot hold it."""
from __future__ import annotations

import pytest
import torch

from lab.dit_model import DitSize, dit_size_of


def _flux_keys(width: int, double: int, single: int, prefix: str = "") -> dict[str, torch.Tensor]:
    sd = {prefix + "txt_in.weight": torch.zeros(width, 48), prefix + "img_in.weight": torch.zeros(width, 64)}
    sd.update({f"{prefix}double_blocks.{i}.img_attn.qkv.weight": torch.zeros(3 * width, width) for i in range(double)})
    sd.update({f"{prefix}single_blocks.{i}.linear1.weight": torch.zeros(7 * width, width) for i in range(single)})
    return sd


@pytest.mark.parametrize("size", [DitSize(), DitSize(256, 2, 4), DitSize(192, 3, 12)])
def test_size_is_read_back_from_the_weights(size):
    assert dit_size_of(_flux_keys(size.width, size.double, size.single)) == size
    prefixed = _flux_keys(size.width, size.double, size.single, "model.diffusion_model.")
    assert dit_size_of(prefixed, "model.diffusion_model.") == size


def test_default_is_the_committed_fixture_size():
    assert DitSize() == DitSize(128, 2, 4)


@pytest.mark.parametrize("width, double, single", [(100, 2, 4), (0, 2, 4), (128, 0, 4), (128, 2, -1)])
def test_sizes_flux_cannot_build_are_refused(width, double, single):
    with pytest.raises(ValueError, match="DitSize: width must be a positive multiple of 64"):
        DitSize(width, double, single)
