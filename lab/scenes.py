"""Synthetic scenes of coloured shapes and the captions that describe them.

A scene is a list of objects with pixel boxes on a square canvas; captions name every object and, for two or
more objects, relations between them in varied wording. Some object pairs never appear together in training
(`HELD_OUT_PAIRS`), so the experiment can ask for combinations the model has never seen.
"""
from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (230, 40, 40), "green": (40, 200, 60), "blue": (50, 90, 240), "yellow": (235, 215, 40)}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
KINDS: tuple[tuple[str, str], ...] = tuple(itertools.product(COLOURS, SHAPES))

# Relations a caption can state; "on" and "next to" are phrasings of above / left-or-right with contact.
RELATIONS: tuple[str, ...] = ("left", "right", "above", "below")

# Unordered (colour, shape) pairs that never co-occur in a training scene: the held-out combinations.
HELD_OUT_PAIRS: frozenset[frozenset[tuple[str, str]]] = frozenset(
    frozenset(p) for p in [
        (("red", "circle"), ("blue", "square")), (("green", "triangle"), ("yellow", "circle")),
        (("blue", "circle"), ("red", "triangle")), (("yellow", "square"), ("green", "circle")),
        (("red", "square"), ("yellow", "triangle")), (("blue", "triangle"), ("green", "square")),
        (("yellow", "circle"), ("red", "square")), (("green", "circle"), ("blue", "triangle")),
        (("red", "triangle"), ("green", "square")), (("blue", "square"), ("yellow", "triangle")),
    ])


@dataclass(frozen=True)
class Obj:
    """One shape: colour, shape name and its box (x0, y0, x1, y1) in pixels, x1/y1 exclusive."""

    colour: str
    shape: str
    box: tuple[float, float, float, float]

    @property
    def kind(self) -> tuple[str, str]:
        return (self.colour, self.shape)

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2)

    @property
    def phrase(self) -> str:
        return f"a {self.colour} {self.shape}"


@dataclass(frozen=True)
class Relation:
    """`subject` (index into the scene) is `relation` of `anchor`: left/right/above/below."""

    subject: int
    relation: str
    anchor: int


@dataclass(frozen=True)
class Scene:
    objects: tuple[Obj, ...]
    relations: tuple[Relation, ...]
    size: int


# The lab's relation names -> the pack's (layout_model's), whose centre rule the lab shares.
PACK_RELATIONS: dict[str, str] = {"left": "left of", "right": "right of", "above": "above", "below": "below"}

# layout_model.evaluate.relation_holds, handed in by the caller rather than imported here: inside a ComfyUI host
# the caller takes it from the pack ComfyUI loaded, so one process never holds layout_model under two names.
CentreRule = Callable[[str, tuple[float, float], tuple[float, float]], bool]


def relation_holds(subject: Obj, relation: str, anchor: Obj, centre_rule: CentreRule) -> bool:
    """The evaluation rule (layout_model.evaluate's): compare box centres along the relation's axis (y down)."""
    return centre_rule(PACK_RELATIONS[relation], subject.centre, anchor.centre)


def is_held_out(kinds: list[tuple[str, str]]) -> bool:
    """True when any two of these objects form a held-out pair."""
    return any(frozenset((a, b)) in HELD_OUT_PAIRS for a, b in itertools.combinations(kinds, 2))


def _dominant(subject: tuple[float, float], relation: str, anchor: tuple[float, float], margin: float) -> bool:
    """Generation rule, stricter than evaluation: the stated axis dominates, so the caption is unambiguous."""
    dx, dy = subject[0] - anchor[0], subject[1] - anchor[1]
    return {"left": -dx > margin and -dx > abs(dy), "right": dx > margin and dx > abs(dy),
            "above": -dy > margin and -dy > abs(dx), "below": dy > margin and dy > abs(dx)}[relation]


def _overlaps(box: tuple[float, float, float, float], others: list[Obj], gap: float) -> bool:
    return any(box[0] < o.box[2] + gap and o.box[0] < box[2] + gap and box[1] < o.box[3] + gap
               and o.box[1] < box[3] + gap for o in others)


def _kinds(rng: random.Random, n: int, held_out: bool | None) -> list[tuple[str, str]]:
    """n distinct object kinds; held_out=False avoids held-out pairs, True requires one, None does not care."""
    while True:
        kinds = rng.sample(KINDS, n)
        if held_out is None or is_held_out(kinds) == held_out:
            return kinds


def place(rng: random.Random, kinds: list[tuple[str, str]], rels: list[str], size: int) -> list[Obj] | None:
    """One attempt at placing the objects (anchor first), or None when some object found no room."""
    objects: list[Obj] = []
    for k, (colour, shape) in enumerate(kinds):
        s = rng.uniform(size * 0.25, size * 0.38) if len(kinds) <= 2 else rng.uniform(size * 0.22, size * 0.3)
        for _ in range(30):
            x0, y0 = rng.uniform(1, size - 1 - s), rng.uniform(1, size - 1 - s)
            candidate = Obj(colour, shape, (x0, y0, x0 + s, y0 + s))
            if _overlaps(candidate.box, objects, 1.0):
                continue
            if k > 0 and not _dominant(candidate.centre, rels[k - 1], objects[0].centre, size * 0.12):
                continue
            objects.append(candidate)
            break
        else:
            return None
    return objects


def random_scene(rng: random.Random, size: int = 32, n_objects: int | None = None,
                 held_out: bool | None = False, relations: list[str] | None = None) -> Scene:
    """A non-overlapping scene in which object k (k >= 1) stands `relations[k-1]` of object 0, the anchor.

    Relations are drawn at random unless given; held_out=False keeps held-out pairs out (training), True
    requires one (the experiment), None allows anything.
    """
    n = n_objects or rng.choice((1, 2, 2, 3, 3, 4))
    kinds = _kinds(rng, n, held_out if n > 1 else (False if held_out else None))
    for _ in range(400):
        rels = relations or [rng.choice(RELATIONS) for _ in range(n - 1)]
        objects = place(rng, kinds, rels, size)
        if objects is not None:
            return Scene(tuple(objects), tuple(Relation(k, rels[k - 1], 0) for k in range(1, n)), size)
    raise RuntimeError("could not place the scene")  # never observed with the sizes above
