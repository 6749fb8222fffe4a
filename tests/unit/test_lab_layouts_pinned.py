"""The lab's predicted layouts stay what the committed lab fixture was measured with.

The lab experiment's "predicted boxes" variants run Predict Layout on each scene's canonical caption at 256 px with
seed 0; the numbers in docs/benchmarks.md depend on those boxes. Predictor work must leave them byte-identical, so
this digest was taken from the predictor that produced the recorded table. If a deliberate change moves a lab box,
the lab table must be re-measured and this digest replaced in the same commit.
"""
from __future__ import annotations

import hashlib
import json

from lab.captions import canonical_caption
from lab.graphs import IMAGE_SIZE
from lab.heldout import heldout_scenes, validation_scenes
from layout_model import predict

PINNED_DIGEST = "6e0c0302ca003b2d8fe4437eb76fec94a8f494a29ab1033b1f6da1c13813bd68"


def lab_layouts_digest() -> str:
    scenes = heldout_scenes(40, 12) + validation_scenes(40, n_three=12) + validation_scenes()
    digest = hashlib.sha256()
    for scene in scenes:
        layout = predict(canonical_caption(scene), IMAGE_SIZE, IMAGE_SIZE, 0).to_dict()
        digest.update(json.dumps(layout, sort_keys=True).encode())
    return digest.hexdigest()


def test_lab_caption_layouts_are_unchanged():
    assert lab_layouts_digest() == PINNED_DIGEST
