"""The lab's seed sets: set 0 is the original seeds and placements, so recorded numbers stay reproducible; other
sets keep every caption and change the sampler seeds and the placements."""
from __future__ import annotations

import hashlib

import pytest

from lab.captions import canonical_caption
from lab.heldout import heldout_scenes, sampler_seed, validation_scenes
from lab.scenes import relation_holds

# sha256 of the repr of heldout_scenes(40, 12) + validation_scenes(24, n_three=12), taken before seed sets existed.
ORIGINAL_PLACEMENTS = "ee4779f8ece66c6ce1d2689176e6cbd866915aa67aca493b9ac6e32e947dab38"


def placements_digest(seed_set: int) -> str:
    scenes = heldout_scenes(40, 12, seed_set=seed_set) + validation_scenes(24, n_three=12, seed_set=seed_set)
    return hashlib.sha256("".join(repr(s) for s in scenes).encode()).hexdigest()


def centre_rule(relation: str, subject: tuple[float, float], anchor: tuple[float, float]) -> bool:
    """The generator's axis test, enough to check that a new placement still shows the stated relation."""
    dx, dy = subject[0] - anchor[0], subject[1] - anchor[1]
    return {"left of": dx < 0, "right of": dx > 0, "above": dy < 0, "below": dy > 0}[relation]


def test_seed_set_0_keeps_the_original_seeds_and_placements():
    assert placements_digest(0) == ORIGINAL_PLACEMENTS
    assert [sampler_seed(i) for i in range(52)] == [1000 + i for i in range(52)]
    assert [sampler_seed(i, 0) for i in range(3)] == [1000, 1001, 1002]


@pytest.mark.parametrize("split", ["heldout", "validation"])
def test_seed_set_1_keeps_the_captions_and_moves_every_object(split):
    scenes = {k: (heldout_scenes(40, 12, seed_set=k) if split == "heldout" else validation_scenes(24, n_three=12,
                                                                                                   seed_set=k))
              for k in (0, 1, 2)}
    assert [canonical_caption(s) for s in scenes[1]] == [canonical_caption(s) for s in scenes[0]]
    for before, after in zip(scenes[0], scenes[1]):
        assert [o.box for o in before.objects] != [o.box for o in after.objects]
        assert all(relation_holds(after.objects[r.subject], r.relation, after.objects[r.anchor], centre_rule)
                   for r in after.relations)
    assert scenes[2] != scenes[1] and scenes[1] == (heldout_scenes(40, 12, seed_set=1) if split == "heldout"
                                                    else validation_scenes(24, n_three=12, seed_set=1))


def test_seed_sets_do_not_share_sampler_seeds():
    seeds = [sampler_seed(i, k) for k in range(3) for i in range(52)]
    assert len(set(seeds)) == len(seeds)


def test_two_object_placements_do_not_depend_on_how_many_three_object_scenes_run():
    assert heldout_scenes(40, 0, seed_set=1) == heldout_scenes(40, 12, seed_set=1)[:40]
    assert validation_scenes(24, seed_set=1) == validation_scenes(24, n_three=12, seed_set=1)[:24]


def test_a_negative_seed_set_is_refused():
    with pytest.raises(ValueError, match="seed_set must be 0 or more"):
        heldout_scenes(seed_set=-1)
