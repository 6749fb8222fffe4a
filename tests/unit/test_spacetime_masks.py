"""Region masks: geometry conventions, the paper's disc, feathering, gather indices."""
import pytest
import torch

from spacetime.masks import RegionIndex, region_masks
from support import reference


@pytest.mark.parametrize("size", [8, 16, 32, 64])
def test_disc_matches_paper_formula(size):
    centers = torch.tensor([[0.3, 0.4], [0.8, 0.1]])
    m = region_masks(torch.zeros(2, 4), centers, size, size, "disc", radius=0.2)
    for i, (cx, cy) in enumerate(centers.tolist()):
        assert torch.equal(m[i].double(), reference.disc_mask(cx, cy, size, size, 0.2))


@pytest.mark.parametrize("hw", [(8, 8), (8, 12), (12, 8), (16, 24)])
def test_box_matches_reference_on_any_aspect(hw):
    h, w = hw
    boxes = torch.tensor([[0.1, 0.2, 0.55, 0.9], [0.5, 0.0, 1.0, 0.5]])
    m = region_masks(boxes, torch.zeros(2, 2), h, w, "box")
    for i in range(2):
        assert torch.equal(m[i].double(), reference.box_mask(boxes[i].tolist(), h, w))


def test_adjacent_boxes_tile_without_overlap():
    boxes = torch.tensor([[0.0, 0.0, 0.5, 1.0], [0.5, 0.0, 1.0, 1.0]])
    m = region_masks(boxes, torch.zeros(2, 2), 8, 8, "box")
    assert torch.equal(m.sum(0), torch.ones(64))


def test_disc_is_round_on_non_square_grid():
    m = region_masks(torch.zeros(1, 4), torch.tensor([[0.5, 0.5]]), 16, 32, "disc", radius=0.25).view(16, 32)
    # radius 0.25 of the shorter side (16 cells) = 4 cells in both directions
    rows = m.sum(1).nonzero().flatten()
    cols = m.sum(0).nonzero().flatten()
    assert rows.numel() == cols.numel() == 8


def test_feather_is_soft_and_keeps_the_core():
    box = torch.tensor([[0.25, 0.25, 0.75, 0.75]])
    hard = region_masks(box, torch.zeros(1, 2), 32, 32, "box")
    soft = region_masks(box, torch.zeros(1, 2), 32, 32, "box", feather=0.3)
    assert soft.min() >= 0 and soft.max() <= 1
    assert ((soft > 0) & (soft < 1)).sum() > 0
    core = region_masks(torch.tensor([[0.4, 0.4, 0.6, 0.6]]), torch.zeros(1, 2), 32, 32, "box")
    assert torch.all(soft[core > 0] == 1)
    assert abs(float(soft.sum() - hard.sum())) < 0.1 * float(hard.sum())


def test_tiny_region_gets_nearest_cell():
    m = region_masks(torch.tensor([[0.51, 0.51, 0.52, 0.52]]), torch.zeros(1, 2), 4, 4, "box")
    assert m.sum() == 1 and m.view(4, 4)[2, 2] == 1


def dense(index: RegionIndex, region: int) -> torch.Tensor:
    """The flat ``[h*w]`` mask of one region rebuilt from the index, to compare with the masks it came from."""
    out = torch.zeros(index.height * index.width)
    out[index.union[index.pos[region]]] = index.values[region]
    return out


def test_region_index_round_trip():
    boxes = torch.tensor([[0.0, 0.0, 0.6, 0.6], [0.4, 0.4, 1.0, 1.0]])
    masks = region_masks(boxes, torch.zeros(2, 2), 8, 8, "box", feather=0.2)
    idx = RegionIndex.from_masks(masks, 8, 8)
    for i in range(2):
        assert torch.equal(dense(idx, i), masks[i])
    assert idx.union.numel() == int((masks.amax(0) > 0).sum())


def test_bad_shape_rejected():
    with pytest.raises(ValueError, match="mask shape"):
        region_masks(torch.zeros(1, 4), torch.zeros(1, 2), 4, 4, "star")
