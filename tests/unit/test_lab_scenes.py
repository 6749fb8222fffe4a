"""The shapes world: relations hold as captioned, held-out pairs stay out of training, captions vary."""
from __future__ import annotations

import itertools
import random

from lab.captions import canonical_caption, random_caption
from lab.heldout import heldout_scenes, validation_scenes
from lab.metrics import score_image, summarise
from lab.detect import Detection
from lab.scenes import HELD_OUT_PAIRS, is_held_out, random_scene, relation_holds
from layout_model.evaluate import relation_holds as centre_rule


def test_training_scenes_hold_their_relations_and_avoid_held_out_pairs():
    rng = random.Random(0)
    for _ in range(300):
        scene = random_scene(rng)
        kinds = [o.kind for o in scene.objects]
        assert len(set(kinds)) == len(kinds) and not is_held_out(kinds)
        for r in scene.relations:
            assert relation_holds(scene.objects[r.subject], r.relation, scene.objects[r.anchor], centre_rule)
        boxes = [o.box for o in scene.objects]
        for a, b in itertools.combinations(boxes, 2):
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def test_scene_stream_is_reproducible():
    a = [random_scene(random.Random(5)) for _ in range(3)]
    assert a[0] == a[1] == a[2]


def test_captions_vary_and_use_on_and_next_to():
    rng = random.Random(0)
    captions = {random_caption(random_scene(rng, n_objects=2), rng) for _ in range(400)}
    assert len(captions) > 300
    assert any(" on " in c for c in captions) and any(" next to " in c for c in captions)


def test_heldout_set_is_fixed_unseen_and_consistent():
    scenes = heldout_scenes()
    assert scenes == heldout_scenes()
    assert [len(s.objects) for s in scenes].count(2) == 40 and [len(s.objects) for s in scenes].count(3) == 12
    for scene in scenes:
        assert is_held_out([o.kind for o in scene.objects])
        for r in scene.relations:
            assert relation_holds(scene.objects[r.subject], r.relation, scene.objects[r.anchor], centre_rule)
    assert len(HELD_OUT_PAIRS) == 10


def test_validation_set_is_fixed_seen_in_training_and_apart_from_the_heldout_set():
    scenes = validation_scenes()
    assert scenes == validation_scenes() and len(scenes) == 24
    heldout_captions = {canonical_caption(s) for s in heldout_scenes()}
    for scene in scenes:
        assert len(scene.objects) == 2 and not is_held_out([o.kind for o in scene.objects])
        assert canonical_caption(scene) not in heldout_captions
        r = scene.relations[0]
        assert relation_holds(scene.objects[r.subject], r.relation, scene.objects[r.anchor], centre_rule)
    assert {s.relations[0].relation for s in scenes} == {"left", "right", "above", "below"}


def test_validation_three_object_scenes_are_seen_combinations_and_leave_the_two_object_ones_alone():
    scenes = validation_scenes(n_three=12)
    assert scenes[:24] == validation_scenes() and len(scenes) == 36
    heldout_captions = {canonical_caption(s) for s in heldout_scenes()}
    for scene in scenes[24:]:
        assert len(scene.objects) == 3 and not is_held_out([o.kind for o in scene.objects])
        assert canonical_caption(scene) not in heldout_captions
        for r in scene.relations:
            assert relation_holds(scene.objects[r.subject], r.relation, scene.objects[r.anchor], centre_rule)


def test_canonical_caption_names_a_repeated_anchor_with_the():
    scene = heldout_scenes()[-1]
    caption = canonical_caption(scene)
    anchor = scene.objects[0]
    assert caption.count(f"a {anchor.colour} {anchor.shape}") == 1
    assert f"the {anchor.colour} {anchor.shape}" in caption


def test_scores_of_a_perfect_a_swapped_and_an_empty_detection():
    scene = heldout_scenes()[0]
    perfect = [Detection(o.colour, o.shape, tuple(int(v) for v in o.box), 50) for o in scene.objects]
    assert score_image(scene, perfect, centre_rule).all_correct == 1.0
    a, b = perfect
    swapped = [Detection(a.colour, a.shape, b.box, 50), Detection(b.colour, b.shape, a.box, 50)]
    s = score_image(scene, swapped, centre_rule)
    assert (s.binding, s.relation) == (1.0, 0.0)
    recoloured = [Detection("red" if d.colour != "red" else "blue", d.shape, d.box, 50) for d in perfect]
    s = score_image(scene, recoloured, centre_rule)
    assert (s.presence, s.binding, s.relation) == (1.0, 0.0, 0.0)
    assert score_image(scene, [], centre_rule).presence == 0.0


def test_summary_margin_is_over_prompts():
    summary = summarise([[1.0, 1.0], [0.0, 0.0], [1.0, 0.0]])
    assert abs(summary.mean - 0.5) < 1e-9 and summary.margin > 0.4


def test_in_box_rate_counts_colour_centred_in_own_box():
    from lab.metrics import in_box_rate

    scene = heldout_scenes()[0]
    own = [Detection(o.colour, "square", tuple(int(v * 8) for v in o.box), 50) for o in scene.objects]
    assert in_box_rate(scene, own, 8.0) == 1.0
    a, b = own
    swapped = [Detection(a.colour, a.shape, b.box, 50), Detection(b.colour, b.shape, a.box, 50)]
    assert in_box_rate(scene, swapped, 8.0) == 0.0
