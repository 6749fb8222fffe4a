"""Score a generated image against the scene its prompt describes, and summarise scores with margins.

Per image: object presence (each prompt object's shape is found, whatever its colour), colour binding (found
with the right colour and shape), relation accuracy (both objects found with the right colour and shape and
their box centres in the stated order; unconditional, so a missing object counts as a wrong relation), and
all-correct (every object bound and every relation right). Detections are used at most once per prompt object.
Colour leak: the share of object-coloured pixels whose colour the prompt does not name (a colour painted where
none was asked for, e.g. one object's colour bleeding into a region guided by another's local prompt).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .detect import Detection, colour_labels
from .scenes import CentreRule, Obj, Scene, relation_holds


@dataclass(frozen=True)
class ImageScore:
    presence: float
    binding: float
    relation: float
    all_correct: float


def _match(objects: tuple[Obj, ...], found: list[Detection], exact: bool) -> dict[int, Detection]:
    """Greedy one-to-one assignment, largest detection first; exact=True needs colour and shape."""
    free, matched = list(found), {}
    for i, obj in enumerate(objects):
        for d in free:
            if d.shape == obj.shape and (not exact or d.colour == obj.colour):
                matched[i] = d
                free.remove(d)
                break
    return matched


def score_image(scene: Scene, found: list[Detection], centre_rule: CentreRule) -> ImageScore:
    """`found` boxes may be at any resolution: relations only compare centres with each other."""
    n = len(scene.objects)
    shapes = _match(scene.objects, found, exact=False)
    bound = _match(scene.objects, found, exact=True)
    relations_ok = []
    for r in scene.relations:
        s, a = bound.get(r.subject), bound.get(r.anchor)
        ok = s is not None and a is not None and relation_holds(
            Obj("", "", s.box), r.relation, Obj("", "", a.box), centre_rule)
        relations_ok.append(ok)
    relation = sum(relations_ok) / len(relations_ok) if relations_ok else 1.0
    return ImageScore(len(shapes) / n, len(bound) / n, relation, float(len(bound) == n and all(relations_ok)))


@dataclass(frozen=True)
class Summary:
    """Mean over images and the half-width of a 95 % interval over prompts (samples of a prompt correlate)."""

    mean: float
    margin: float

    def __str__(self) -> str:
        return f"{100 * self.mean:.1f} ± {100 * self.margin:.1f}"


def summarise(per_prompt: list[list[float]]) -> Summary:
    """`per_prompt[i]` holds the scores of prompt i's samples; the interval treats prompts as the units."""
    means = [sum(v) / len(v) for v in per_prompt if v]
    m = sum(means) / len(means)
    if len(means) < 2:
        return Summary(m, float("nan"))
    var = sum((x - m) ** 2 for x in means) / (len(means) - 1)
    return Summary(m, 1.96 * math.sqrt(var / len(means)))


def in_box_rate(scene: Scene, found: list[Detection], scale: float) -> float:
    """Share of prompt objects with a detection of their colour centred inside their own (gold) box; `scale`
    maps scene pixels to image pixels. Measures placement directly, whatever shape the model drew."""
    hits = 0
    for obj in scene.objects:
        x0, y0, x1, y1 = (v * scale for v in obj.box)
        hits += any(d.colour == obj.colour and x0 <= d.centre[0] <= x1 and y0 <= d.centre[1] <= y1 for d in found)
    return hits / len(scene.objects)


def colour_leak(scene: Scene, image: np.ndarray) -> float:
    """Share of the image's palette-coloured pixels whose colour no prompt object has (0 when none is coloured)."""
    from .scenes import COLOURS

    labels = colour_labels(image)
    coloured = labels >= 0
    if not coloured.any():
        return 0.0
    asked = [i for i, name in enumerate(COLOURS) if any(o.colour == name for o in scene.objects)]
    return float((coloured & ~np.isin(labels, asked)).sum() / coloured.sum())
