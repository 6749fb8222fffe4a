"""Replayable units (spacetime.replay) with a recording capture: when a call runs eagerly, captures or replays."""
from __future__ import annotations

import torch

from spacetime.replay import MAX_SHAPES_PER_LAYER, Replays


class RecordingCapture:
    """Captures by remembering the function; a replay reruns it into the same output tensor."""

    def __init__(self):
        self.fn, self.output = None, None

    def capture(self, fn):
        self.fn = fn
        self.output = torch.full_like(fn(), float("nan"))
        return self.output

    def replay(self):
        self.output.copy_(self.fn())


def _double(x, y):
    return x * 2 + (0 if y is None else y)


def test_first_call_warms_second_captures_later_calls_replay_into_one_buffer():
    replays = Replays(RecordingCapture)
    outs = []
    for v in (1.0, 2.0, 3.0, 4.0):
        out, eager = replays.run("layer", "k", _double, [torch.full((2, 3), v), None])
        assert eager == "" and torch.equal(out, torch.full((2, 3), 2 * v))
        outs.append(out)
    assert replays.captures == 1
    assert outs[1] is outs[2] is outs[3] and outs[0] is not outs[1]      # the static output, reused


def test_each_input_shape_gets_its_own_unit_up_to_a_limit():
    replays = Replays(RecordingCapture)
    for n in range(1, MAX_SHAPES_PER_LAYER + 2):
        for _ in range(3):
            out, eager = replays.run("layer", "k", _double, [torch.ones(n), torch.ones(n)])
            assert torch.equal(out, torch.full((n,), 3.0))
    assert replays.captures == MAX_SHAPES_PER_LAYER
    assert "input shapes" in eager                                       # the last shape stays eager
    out, eager = replays.run("other layer", "k", _double, [torch.ones(1), None])
    out, eager = replays.run("other layer", "k", _double, [torch.ones(1), None])
    assert replays.captures == MAX_SHAPES_PER_LAYER + 1 and eager == ""


def test_a_blocker_keeps_the_call_eager_and_says_why():
    replays = Replays(RecordingCapture)
    for _ in range(3):
        out, eager = replays.run("layer", "k", _double, [torch.ones(2), None], blocker="weights move")
        assert eager == "weights move" and torch.equal(out, torch.full((2,), 2.0))
    assert replays.captures == 0


def test_a_capture_that_fails_disables_capture_for_the_run():
    class Failing(RecordingCapture):
        def capture(self, fn):
            raise RuntimeError("operation not permitted when stream is capturing")

    replays = Replays(Failing)
    results = [replays.run("layer", "k", _double, [torch.ones(2), None]) for _ in range(3)]
    assert all(torch.equal(out, torch.full((2,), 2.0)) for out, _ in results)
    assert results[0][1] == "" and "capture failed" in results[1][1] and "capture failed" in results[2][1]
    assert replays.captures == 0 and replays.units == {}
