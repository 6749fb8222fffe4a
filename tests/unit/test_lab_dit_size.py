"""The DiT lab model's size: read back from its weights (the checkpoint is the record of its shape), and refused
with a message when Flux cannot build it."""
from __future__ import annotations

import pytest
import torch

from lab.dit_model import DitSize, dit_size_of


def _flux_keys(width: int, double: int, single: int, prefix: str = "", head: int = 64,
               norm: str = "scale") -> dict[str, torch.Tensor]:
    sd = {prefix + "txt_in.weight": torch.zeros(width, 48), prefix + "img_in.weight": torch.zeros(width, 64),
          f"{prefix}double_blocks.0.img_attn.norm.query_norm.{norm}": torch.ones(head)}
    sd.update({f"{prefix}double_blocks.{i}.img_attn.qkv.weight": torch.zeros(3 * width, width) for i in range(double)})
    sd.update({f"{prefix}single_blocks.{i}.linear1.weight": torch.zeros(7 * width, width) for i in range(single)})
    return sd


@pytest.mark.parametrize("norm", ["scale", "weight"])
@pytest.mark.parametrize("size", [DitSize(), DitSize(256, 2, 4), DitSize(192, 3, 12), DitSize(128, 2, 4, 32)])
def test_size_is_read_back_from_the_weights(size, norm):
    assert dit_size_of(_flux_keys(size.width, size.double, size.single, head=size.head, norm=norm)) == size
    prefixed = _flux_keys(size.width, size.double, size.single, "model.diffusion_model.", size.head, norm)
    assert dit_size_of(prefixed, "model.diffusion_model.") == size


@pytest.mark.parametrize("head, axes", [(64, [16, 24, 24]), (32, [8, 12, 12]), (128, [32, 48, 48])])
def test_rope_splits_a_head_as_flux1_does(head, axes):
    assert DitSize(256, 2, 4, head).axes == axes
    assert sum(axes) == head


def test_default_is_the_committed_fixture_size():
    assert DitSize() == DitSize(128, 2, 4)


@pytest.mark.parametrize("width, double, single", [(100, 2, 4), (0, 2, 4), (128, 0, 4), (128, 2, -1)])
def test_sizes_flux_cannot_build_are_refused(width, double, single):
    with pytest.raises(ValueError, match=r"DitSize: width must be a positive multiple of the head width \(64\)"):
        DitSize(width, double, single)


@pytest.mark.parametrize("head", [0, 24, 40])
def test_head_widths_rope_cannot_split_are_refused(head):
    with pytest.raises(ValueError, match="DitSize: head width must be a positive multiple of 16"):
        DitSize(192, 2, 4, head)
