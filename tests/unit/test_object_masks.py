"""Object masks: a segmentation's shape rides in the layout, relative to its box, and the patch's "mask" shape
acts on exactly the cells the shape covers."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from layout_model import Layout, LayoutError
from layout_model.object_masks import crop_to_box, decode_mask, encode_mask
from layout_model.pixel_boxes import masks_to_layout
from layout_model.regions import layout_regions
from layout_model.schema import MAX_MASK_SIDE, check_mask
from spacetime.masks import region_masks
from spacetime.regions import Regions


def _ring(size: int = 64) -> torch.Tensor:
    """A ring (its box centre is outside the shape) in the left half of a 2 x size x 2size batch, and a square."""
    masks = torch.zeros(2, size, 2 * size)
    ys, xs = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(2 * size) + 0.5, indexing="ij")
    d = ((xs - size / 2) ** 2 + (ys - size / 2) ** 2).sqrt()
    masks[0] = ((d < size * 0.4) & (d > size * 0.2)).float()
    masks[1, 8:24, 80:120] = 1.0
    return masks


@pytest.mark.parametrize("grid", [
    np.array([[0, 1, 1], [1, 0, 0]], dtype=bool),
    np.array([[1, 1], [1, 1]], dtype=bool),
    np.eye(5, dtype=bool),
])
def test_encoding_round_trips_and_starts_with_an_outside_run(grid):
    data = encode_mask(grid)
    assert data["runs"][0] == (0 if grid.flat[0] else data["runs"][0])
    assert np.array_equal(decode_mask(check_mask(json.loads(json.dumps(data)), "m")), grid)


def test_a_mask_layout_keeps_each_shape_relative_to_its_box():
    layout = masks_to_layout(_ring(), ["a ring", "a bar"])
    ring, bar = layout.objects
    assert ring.box == [0.0469, 0.0938, 0.4531, 0.9062]         # pixels 6..58 of 128 wide, 6..58 of 64 high
    grid = decode_mask(ring.mask)
    assert grid.shape == (52, 52)
    assert not grid[grid.shape[0] // 2, grid.shape[1] // 2]          # the hole stays a hole
    assert grid[grid.shape[0] // 2, 0] and grid.any(axis=0).all()    # the rim spans the box
    assert decode_mask(bar.mask).all()                               # a filled rectangle is its whole box
    again = Layout.from_json(layout.to_json())
    assert [o.mask for o in again.objects] == [ring.mask, bar.mask]


def test_large_masks_are_reduced_without_losing_thin_parts():
    mask = np.zeros((1000, 600), dtype=np.float32)
    mask[0:1000, 300] = 1.0            # a one-pixel leash
    mask[0:10, 0:600] = 1.0
    (x0, y0, x1, y1), grid = crop_to_box(mask, 0.5)
    assert (x0, y0, x1, y1) == (0, 0, 600, 1000)
    assert max(grid.shape) == MAX_MASK_SIDE
    assert grid[:, grid.shape[1] // 2].all()        # the leash survives in every reduced row
    assert crop_to_box(np.zeros((4, 4)), 0.5) is None


@pytest.mark.parametrize("mask, field", [
    ([1, 2], "objects[0].mask"),
    ({"width": 0, "height": 2, "runs": [0]}, "objects[0].mask.width"),
    ({"width": 2, "height": MAX_MASK_SIDE + 1, "runs": [0]}, "objects[0].mask.height"),
    ({"width": 2, "height": 2, "runs": [1, -1, 4]}, "objects[0].mask.runs"),
    ({"width": 2, "height": 2, "runs": [1, 2]}, "objects[0].mask.runs"),
    ({"width": 2, "height": 2, "runs": [4]}, "objects[0].mask"),
    ({"width": 2, "height": 2, "runs": [True, 3]}, "objects[0].mask.runs"),
])
def test_bad_masks_name_their_field(mask, field):
    data = {"schema": "spacetime-layout", "version": 1,
            "objects": [{"phrase": "a cat", "box": [0.1, 0.1, 0.5, 0.5], "mask": mask}]}
    with pytest.raises(LayoutError) as err:
        Layout.from_dict(data)
    assert err.value.field == field


def test_layouts_without_masks_write_no_mask_key():
    layout = Layout.from_dict({"schema": "spacetime-layout", "version": 1,
                               "objects": [{"phrase": "a cat", "box": [0.1, 0.1, 0.5, 0.5]}]})
    assert "mask" not in layout.to_dict()["objects"][0]


def _regions_masks(layout: Layout, h: int, w: int, shape: str) -> torch.Tensor:
    regions = layout_regions(layout)
    boxes = torch.tensor([r.box for r in regions])
    centers = torch.tensor([r.center for r in regions])
    shapes = [None if r.mask is None else torch.from_numpy(r.mask) for r in regions]
    return region_masks(boxes, centers, h, w, shape, shapes=shapes).reshape(len(regions), h, w)


def test_mask_shape_covers_the_shape_cells_and_box_shape_ignores_them():
    layout = masks_to_layout(_ring(), ["a ring", "a bar"])
    source = _ring()
    shaped = _regions_masks(layout, 64, 128, "mask")
    boxed = _regions_masks(layout, 64, 128, "box")
    assert torch.equal(shaped[0].bool(), source[0].bool())      # at the mask's own resolution: exactly the ring
    assert torch.equal(shaped[1], boxed[1])                     # a full rectangle is its box
    assert boxed[0].sum() > shaped[0].sum() and boxed[0][32, 32] == 1 and shaped[0][32, 32] == 0
    coarse = _regions_masks(layout, 8, 16, "mask")              # an attention grid 8x coarser
    assert coarse[0][4, 4] == 0 and coarse[0].sum() > 0


def test_a_moved_box_carries_its_shape():
    layout = masks_to_layout(_ring(), ["a ring", "a bar"])
    before = _regions_masks(layout, 64, 128, "mask")[0]
    data = layout.to_dict()
    data["objects"][0]["box"] = [b + (0.5 if k % 2 == 0 else 0.0) for k, b in enumerate(data["objects"][0]["box"])]
    after = _regions_masks(Layout.from_dict(data), 64, 128, "mask")[0]
    assert torch.equal(after[:, 64:], before[:, :64])            # half the canvas width = 64 cells to the right


def test_regions_without_a_mask_fall_back_to_their_box_under_mask_shape():
    layout = Layout.from_dict({"schema": "spacetime-layout", "version": 1, "width": 64, "height": 64,
                               "objects": [{"phrase": "a cat", "box": [0.25, 0.25, 0.75, 0.5]}]})
    assert torch.equal(_regions_masks(layout, 16, 16, "mask"), _regions_masks(layout, 16, 16, "box"))


def test_regions_need_one_shape_entry_per_region():
    empty = torch.zeros(1, 4, 8)
    kwargs = dict(embeddings=[empty], pooled=[None], boxes=torch.zeros(1, 4), centers=torch.zeros(1, 2),
                  names=["a"], prompts=["a"], empty=empty)
    assert Regions(**kwargs).shapes == [None]
    with pytest.raises(ValueError, match="shapes"):
        Regions(**kwargs, shapes=[None, None])


def test_the_preview_paints_a_masked_object_s_silhouette_over_its_box():
    from layout_model.render import render_preview

    layout = masks_to_layout(_ring(), ["a ring", "a bar"])
    image = np.asarray(render_preview(layout, 256, 128)).astype(int)
    rim, hole, outside = image[64, 20], image[64, 64], image[120, 250]
    assert hole.sum() > outside.sum(), "the box around the hole is tinted"
    assert rim[0] - hole[0] > 60, "the ring itself is painted in its colour, the hole is not"
