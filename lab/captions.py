"""Captions for scenes, in varied wording, plus the one canonical wording the experiment uses.

Training sees many phrasings of each relation ("to the left of", "left of", "next to", "on", inverted
subject/anchor...), so the model learns objects and words rather than one template.
"""
from __future__ import annotations

import random

from .scenes import Obj, Scene

_INVERSE = {"left": "right", "right": "left", "above": "below", "below": "above"}

_PHRASES: dict[str, tuple[str, ...]] = {
    "left": ("to the left of", "left of", "is to the left of", "on the left of", "next to"),
    "right": ("to the right of", "right of", "is to the right of", "on the right of", "next to"),
    "above": ("above", "is above", "over", "on", "on top of"),
    "below": ("below", "is below", "under", "beneath", "underneath"),
}

CANONICAL: dict[str, str] = {"left": "to the left of", "right": "to the right of", "above": "above",
                             "below": "below"}


def canonical_caption(scene: Scene) -> str:
    """The experiment's wording: '<subject> <relation> <anchor>' per relation, joined with 'and'; the anchor
    is 'a ...' at its first mention and 'the ...' after (so a layout parser sees one object, not two)."""
    objs = scene.objects
    if not scene.relations:
        return objs[0].phrase
    clauses, named = [], set()
    for r in scene.relations:
        anchor = objs[r.anchor]
        anchor_text = f"the {anchor.colour} {anchor.shape}" if r.anchor in named else anchor.phrase
        named.update((r.anchor, r.subject))
        clauses.append(f"{objs[r.subject].phrase} {CANONICAL[r.relation]} {anchor_text}")
    return " and ".join(clauses)


def random_caption(scene: Scene, rng: random.Random) -> str:
    """One of many wordings of the scene; relations may be stated from either side or left out (lists)."""
    objs = scene.objects
    if not scene.relations:
        return rng.choice(("", "there is ", "an image of ")) + objs[0].phrase
    if len(objs) >= 3 and rng.random() < 0.15:
        names = [o.phrase for o in rng.sample(objs, len(objs))]
        return ", ".join(names[:-1]) + " and " + names[-1]
    clauses = [_clause(objs[r.subject], r.relation, objs[r.anchor], rng) for r in scene.relations]
    rng.shuffle(clauses)
    return rng.choice((" and ", ", ", " and ")).join(clauses)


def _clause(subject: Obj, relation: str, anchor: Obj, rng: random.Random) -> str:
    if rng.random() < 0.35:
        subject, anchor, relation = anchor, subject, _INVERSE[relation]
    return f"{subject.phrase} {rng.choice(_PHRASES[relation])} {anchor.phrase}"
