"""Regions over a video's frames: the pixel frames each latent frame covers, the boxes interpolated over pixel
frames, and the per-frame masks in the tokens' (frame, row, column) order."""
import pytest
import torch

from spacetime.frames import TimeScale, frame_boxes, frame_masks, frame_positions
from spacetime.masks import region_masks, with_background
from support import reference

WAN = TimeScale(stride=4, first_alone=True)


def test_wan_vae_maps_4t_minus_3_pixel_frames_to_t_latent_frames():
    """F = 4(T-1)+1: latent frame 0 is pixel frame 0, latent frame j >= 1 covers pixel frames 4j-3 .. 4j."""
    assert [WAN.pixel_frames(t) for t in (1, 2, 5, 21)] == [1, 5, 17, 81]
    assert list(WAN.covered(0)) == [0]
    for j in range(1, 6):
        assert list(WAN.covered(j)) == [4 * j - 3, 4 * j - 2, 4 * j - 1, 4 * j]
    covered = [p for j in range(5) for p in WAN.covered(j)]
    assert covered == list(range(17)), "the latent frames tile the pixel frames once each"


def test_positions_are_the_mean_covered_pixel_frame_over_the_last():
    # 5 latent frames = 17 pixel frames (0..16): means 0, 2.5, 6.5, 10.5, 14.5
    assert torch.allclose(frame_positions(5, WAN), torch.tensor([0.0, 2.5, 6.5, 10.5, 14.5], dtype=torch.float64) / 16)
    assert frame_positions(1, WAN).tolist() == [0.0]
    # without the lone first frame: 2 latent frames of 3 pixel frames (0..5): means 1 and 4
    assert frame_positions(2, TimeScale(3, first_alone=False)).tolist() == [0.2, 0.8]
    # a temporal patch of 2 latent frames: token frame 0 covers pixel frames 0..4, token frame 1 5..12
    assert torch.allclose(frame_positions(4, TimeScale(4, True, patch=2)),
                          torch.tensor([2.0, 8.5], dtype=torch.float64) / 12)


def test_boxes_move_linearly_over_pixel_frames():
    boxes = torch.tensor([[0.0, 0.0, 0.4, 0.4], [0.5, 0.5, 1.0, 1.0]])
    end = torch.tensor([[0.6, 0.2, 1.0, 0.6], [0.5, 0.5, 1.0, 1.0]])
    per_frame = frame_boxes(boxes, end, 5, WAN)
    assert per_frame.shape == (5, 2, 4)
    t = torch.tensor([0.0, 2.5, 6.5, 10.5, 14.5], dtype=torch.float64) / 16
    for j in range(5):
        want = boxes.double() + t[j] * (end.double() - boxes.double())
        assert torch.allclose(per_frame[j], want)
    assert torch.equal(per_frame[0], boxes.double()), "latent frame 0 is pixel frame 0: the start boxes"
    assert torch.equal(per_frame[:, 1], boxes[1].double().expand(5, 4)), "a box whose end is itself stays put"


def test_frame_masks_stack_each_frames_box_mask():
    boxes = torch.tensor([[0.0, 0.0, 0.25, 0.5]])
    end = torch.tensor([[0.75, 0.5, 1.0, 1.0]])
    h, w = 4, 6
    masks = frame_masks(boxes, torch.tensor([[0.125, 0.25]]), end, 5, WAN, h, w)
    assert masks.shape == (1, 5 * h * w)
    per_frame = masks.view(1, 5, h * w)
    for j, box in enumerate(frame_boxes(boxes, end, 5, WAN)[:, 0]):
        assert torch.equal(per_frame[0, j].double(), reference.box_mask(box.tolist(), h, w))
    assert not torch.equal(per_frame[0, 0], per_frame[0, 4]), "the region moved"


def test_frame_masks_move_discs_with_their_box_and_keep_the_background_per_frame():
    boxes = torch.tensor([[0.0, 0.0, 0.5, 0.5], [0.0, 0.0, 1.0, 1.0]])
    end = torch.tensor([[0.5, 0.5, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
    centers = torch.tensor([[0.25, 0.25], [0.5, 0.5]])
    size = 8
    disc = frame_masks(boxes, centers, end, 3, WAN, size, size, "disc", radius=0.2).view(2, 3, -1)
    for j, b in enumerate(frame_boxes(boxes, end, 3, WAN)):
        cx, cy = float(b[0, 0] + b[0, 2]) / 2, float(b[0, 1] + b[0, 3]) / 2
        assert torch.equal(disc[0, j].double(), reference.disc_mask(cx, cy, size, size, 0.2))
    masks = frame_masks(boxes, centers, end, 3, WAN, size, size, background=True).view(2, 3, -1)
    for j, b in enumerate(frame_boxes(boxes, end, 3, WAN)):
        want = with_background(region_masks(b, centers, size, size))
        assert torch.equal(masks[:, j], want)


def test_time_scale_refuses_nonpositive_stride():
    with pytest.raises(ValueError, match="stride and patch must be at least 1"):
        TimeScale(stride=0)
