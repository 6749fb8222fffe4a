"""Find the coloured shapes in an image: colour segmentation, connected components, template shape test.

Works at any resolution (the 32x32 scenes, the 256x256 images ComfyUI decodes); sizes are judged relative to
the image. Colours are classified by chromaticity (pixel / its brightest channel), so anti-aliased or dim edges
keep their hue; shapes by the best IoU against an ideal circle, square and triangle in the component's box.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .scenes import COLOURS, SHAPES

_PALETTE = np.array([np.asarray(c, np.float32) / max(c) for c in COLOURS.values()])
_NAMES = list(COLOURS)
MIN_BRIGHTNESS = 0.35  # below this a pixel is background (black canvas, or a blurred rim)
MAX_CHROMA_DISTANCE = 0.45  # further than this from every palette hue: not an object colour
MIN_AREA_FRACTION = 0.004  # components smaller than this share of the image are speckles


@dataclass(frozen=True)
class Detection:
    """One found shape: its colour, shape, box (x0, y0, x1, y1; pixels, exclusive end) and pixel area."""

    colour: str
    shape: str
    box: tuple[int, int, int, int]
    area: int

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2)


def _as_float(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image, np.float32)
    return img / 255.0 if img.max() > 1.5 else img


def colour_labels(image: np.ndarray) -> np.ndarray:
    """Per-pixel palette index (H, W), -1 for background; `image` is (H, W, 3) in [0, 1] or uint8."""
    img = _as_float(image)
    brightness = img.max(axis=-1)
    chroma = img / np.maximum(brightness, 1e-6)[..., None]
    distance = np.linalg.norm(chroma[..., None, :] - _PALETTE, axis=-1)
    labels = distance.argmin(axis=-1)
    labels[(brightness < MIN_BRIGHTNESS) | (distance.min(axis=-1) > MAX_CHROMA_DISTANCE)] = -1
    return labels


def _templates(h: int, w: int) -> dict[str, np.ndarray]:
    y, x = np.mgrid[0:h, 0:w]
    u, v = (x + 0.5) / w, (y + 0.5) / h
    return {"circle": (u - 0.5) ** 2 + (v - 0.5) ** 2 <= 0.25, "square": np.ones((h, w), bool),
            "triangle": np.abs(u - 0.5) <= v / 2}


def classify_shape(mask: np.ndarray) -> str:
    """The shape whose ideal mask, stretched to this mask's box, overlaps it best (IoU)."""
    ys, xs = np.nonzero(mask)
    crop = mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    scores = {}
    for name, template in _templates(*crop.shape).items():
        scores[name] = (crop & template).sum() / max((crop | template).sum(), 1)
    return max(SHAPES, key=lambda s: scores[s])


def _fine_mask(brightness: np.ndarray, region: tuple[slice, slice], peak: float) -> np.ndarray:
    """The component's shape at >= 48 px across: small crops (a 7-pixel circle on the 32-pixel canvas is
    nearly square once thresholded) are upsampled from their anti-aliased coverage before thresholding."""
    ys, xs = region
    y0, x0 = max(ys.start - 1, 0), max(xs.start - 1, 0)
    crop = brightness[y0:ys.stop + 1, x0:xs.stop + 1] / peak
    factor = max(1, int(np.ceil(48 / max(min(crop.shape), 1))))
    if factor > 1:
        crop = ndimage.zoom(crop, factor, order=1)
    mask = crop >= 0.5
    components, count = ndimage.label(mask)
    if count > 1:
        mask = components == 1 + np.argmax(ndimage.sum(mask, components, range(1, count + 1)))
    return mask


def detect(image: np.ndarray) -> list[Detection]:
    """All shapes found, largest first."""
    img = _as_float(image)
    brightness = img.max(axis=-1)
    labels = colour_labels(img)
    min_area = MIN_AREA_FRACTION * labels.size
    found = []
    for index, name in enumerate(_NAMES):
        components, count = ndimage.label(labels == index)
        for k, region in enumerate(ndimage.find_objects(components), start=1):
            mask = components[region] == k
            area = int(mask.sum())
            if area < min_area:
                continue
            box = (region[1].start, region[0].start, region[1].stop, region[0].stop)
            peak = float(np.percentile(brightness[region][mask], 90))
            found.append(Detection(name, classify_shape(_fine_mask(brightness, region, peak)), box, area))
    return sorted(found, key=lambda d: -d.area)
