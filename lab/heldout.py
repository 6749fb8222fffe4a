"""The experiment's fixed held-out prompt set (object combinations that never co-occur in training), and a
validation set of seen combinations on which settings such as the weight schedule are chosen.

Two-object prompts: every held-out pair in each of the four relations (subject order alternating); three-object
prompts: a held-out pair plus a third object related to the same anchor. Gold boxes come from placing the scene
on the 32-pixel canvas with the generator's own rules, so they satisfy the stated relations.

Seed sets: a result on one set of sampler seeds and placements can be luck, so `seed_set` K > 0 keeps every
caption (same objects, same relations, same order) and places the objects anew, each generated list in order
from `random.Random(1000 * its generator seed + K)`; K = 0 is the original placement. `sampler_seed` gives the
matching KSampler seeds. The predicted layouts do not change with K: Predict Layout runs at seed 0, the node's
default, so the measured boxes are the ones a user gets.
"""
from __future__ import annotations

import random
from collections.abc import Sequence

from .scenes import HELD_OUT_PAIRS, KINDS, RELATIONS, Relation, Scene, is_held_out, place


def _scene(rng: random.Random, kinds: list[tuple[str, str]], rels: list[str], size: int = 32) -> Scene:
    for _ in range(1000):
        objects = place(rng, kinds, rels, size)
        if objects is not None:
            return Scene(tuple(objects), tuple(Relation(k, rels[k - 1], 0) for k in range(1, len(kinds))), size)
    raise RuntimeError(f"cannot place {kinds} {rels}")


def sampler_seed(index: int, seed_set: int = 0) -> int:
    """KSampler's seed for the caption at `index`: 1000 + index in seed set 0, moved by 1000 per seed set (more
    than any split's caption count, so no two sets share a seed)."""
    return 1000 + 1000 * seed_set + index


def placed_anew(scenes: list[Scene], seed: int, seed_set: int) -> list[Scene]:
    """The same scenes (objects, relations, order) placed anew for seed set `seed_set`; 0 returns them as given."""
    if seed_set == 0:
        return scenes
    if seed_set < 0:
        raise ValueError(f"seed_set must be 0 or more, got {seed_set}")
    rng = random.Random(1000 * seed + seed_set)
    return [_scene(rng, [o.kind for o in s.objects], [r.relation for r in s.relations], s.size) for s in scenes]


def heldout_scenes(n_two: int = 40, n_three: int = 12, seed: int = 1234, seed_set: int = 0) -> list[Scene]:
    """A deterministic list: `n_two` two-object scenes (first), then `n_three` three-object scenes; `seed_set`
    re-places them (module docstring)."""
    rng = random.Random(seed)
    pairs = sorted(sorted(p) for p in HELD_OUT_PAIRS)
    two = []
    for i, (a, b) in enumerate(pair for pair in pairs for _ in RELATIONS):
        relation = RELATIONS[i % len(RELATIONS)]
        subject, anchor = (a, b) if (i // len(RELATIONS)) % 2 == 0 else (b, a)
        two.append(_scene(rng, [anchor, subject], [relation]))
    rng.shuffle(two)
    return placed_anew(two[:n_two] + _three_object_scenes(rng, pairs, n_three, allow_held_out=True), seed, seed_set)


def validation_scenes(n: int = 24, seed: int = 4321, n_three: int = 0, seed_set: int = 0) -> list[Scene]:
    """`n` two-object scenes of pairs that do appear in training (none is held out), each pair in the four
    relations, then `n_three` three-object scenes built like the held-out ones (a pair, a third object related to
    the same anchor) from kinds of which no two are held out: choosing a setting here keeps the held-out numbers
    an unbiased test. The three-object scenes come from their own generator, so the two-object ones do not
    depend on `n_three`; `seed_set` re-places them (module docstring)."""
    rng = random.Random(seed)
    pairs = [(a, b) for i, a in enumerate(KINDS) for b in KINDS[i + 1:]
             if a[0] != b[0] and a[1] != b[1] and not is_held_out([a, b])]  # like the held-out pairs
    rng.shuffle(pairs)
    scenes = []
    for k in range(n):
        a, b = pairs[k // len(RELATIONS)]
        subject, anchor = (a, b) if (k // len(RELATIONS)) % 2 == 0 else (b, a)
        scenes.append(_scene(rng, [anchor, subject], [RELATIONS[k % len(RELATIONS)]]))
    three = _three_object_scenes(random.Random(seed + 1), pairs, n_three, allow_held_out=False)
    return placed_anew(scenes, seed, seed_set) + placed_anew(three, seed + 1, seed_set)


def _three_object_scenes(rng: random.Random, pairs: Sequence[Sequence[tuple[str, str]]], n: int,
                         allow_held_out: bool) -> list[Scene]:
    """`n` scenes of a pair (cycling through `pairs`) and a third kind, both related to the pair's second object
    (the anchor) by relations that rotate with i; allow_held_out=False keeps the third out of held-out pairs."""
    scenes = []
    for i in range(n):
        a, b = pairs[i % len(pairs)]
        third = rng.choice([k for k in KINDS if k not in (a, b) and (allow_held_out or not is_held_out([a, b, k]))])
        scenes.append(_scene(rng, [b, a, third], [RELATIONS[i % 4], RELATIONS[(i + 1 + i // 4) % 4]]))
    return scenes
