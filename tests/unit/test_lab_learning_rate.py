"""The lab's fine-tuning tail: a constant rate, then a linear fall to 1 % of it, decided by the step alone so that a
resumed run follows the rates an uninterrupted one does."""
from __future__ import annotations

import pytest

from lab.train import FINAL_LR_SHARE, learning_rate


def test_constant_without_a_tail_and_before_it():
    assert [learning_rate(s, 100, 1e-3, None) for s in (0, 50, 99)] == [1e-3] * 3
    assert [learning_rate(s, 100, 1e-3, 60) for s in (0, 59, 60)] == [1e-3] * 3


def test_the_tail_falls_linearly_to_its_final_share():
    rates = [learning_rate(s, 100, 1e-3, 60) for s in range(60, 101)]
    steps = [b - a for a, b in zip(rates, rates[1:])]
    assert all(d < 0 for d in steps) and max(steps) - min(steps) < 1e-15
    assert rates[-1] == pytest.approx(FINAL_LR_SHARE * 1e-3)
    assert learning_rate(80, 100, 1e-3, 60) == pytest.approx((1e-3 + FINAL_LR_SHARE * 1e-3) / 2)
