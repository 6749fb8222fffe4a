"""Pluggable object detectors for scoring: a local `transformers` model folder, or any Python callable.

A detector maps a PIL image to `[(label, score, [x0, y0, x1, y1]), ...]` in pixels, labels being COCO class
names ("dining table", "tv"). The paper used detrex DINO Swin-L; any COCO detector saved with
`save_pretrained` (e.g. facebook/detr-resnet-50) works offline through `transformers:FOLDER`.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Callable

from . import ReproduceError

Detection = tuple[str, float, list[float]]
Detector = Callable[..., list[Detection]]
MIN_SCORE = 0.3  # below both thresholds of the protocol (0.4 objects, 0.5 relations): dropped early


class TransformersDetector:
    """`AutoModelForObjectDetection` from a local folder, on CPU or the first GPU, no downloads."""

    def __init__(self, folder: str | Path):
        folder = Path(folder)
        if not (folder / "config.json").is_file():
            raise ReproduceError(f"no transformers detector in {folder} (expected config.json and weights saved "
                                 "with save_pretrained)")
        import torch
        from transformers import AutoImageProcessor, AutoModelForObjectDetection

        try:
            self.processor = AutoImageProcessor.from_pretrained(folder, local_files_only=True)
            self.model = AutoModelForObjectDetection.from_pretrained(folder, local_files_only=True).eval()
        except (OSError, ValueError) as err:
            raise ReproduceError(f"cannot load the detector in {folder}: {str(err).splitlines()[0]}") from None
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model.to(self.device)
        self.torch = torch

    def __call__(self, image) -> list[Detection]:
        inputs = self.processor(images=image.convert("RGB"), return_tensors="pt").to(self.device)
        with self.torch.no_grad():
            outputs = self.model(**inputs)
        result = self.processor.post_process_object_detection(
            outputs, threshold=MIN_SCORE, target_sizes=[(image.height, image.width)])[0]
        names = self.model.config.id2label
        return [(names[int(label)], float(score), [float(v) for v in box])
                for score, label, box in zip(result["scores"], result["labels"], result["boxes"])]


def load_detector(spec: str) -> Detector:
    """`transformers:FOLDER` or `package.module:callable` (imported by name; no code is evaluated)."""
    kind, sep, rest = spec.partition(":")
    if not sep or not rest:
        raise ReproduceError(f"detector {spec!r}: use transformers:FOLDER or module:callable")
    if kind == "transformers":
        return TransformersDetector(rest)
    try:
        target = importlib.import_module(kind)
        for part in rest.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as err:
        raise ReproduceError(f"detector {spec!r}: {err}") from None
    if not callable(target):
        raise ReproduceError(f"detector {spec!r} is not callable")
    return target
