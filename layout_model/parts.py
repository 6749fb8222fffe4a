"""Keep an object's boxes inside the part of the frame its text names ("the left half", "the top third").

The solver pulls the object's centre to the middle of that part but sizes the box from priors and keeps it in the
frame, so a couch in "the left third" is both too wide and pushed off the third's middle. Here the boxes shrink
(keeping their aspect) until they fit the part, and their centre moves only as far as it must to lie inside: where
the solver already reached the part's middle, nothing moves and every relation stays as solved.
"""

from __future__ import annotations

Box = tuple[float, float, float, float]


def fit_inside(boxes: list[Box], part: tuple[float, float, float, float]) -> list[Box]:
    """One object's instance boxes scaled and shifted together so that they lie inside `part` (x0, y0, x1, y1)."""
    lo = (min(b[0] for b in boxes), min(b[1] for b in boxes))
    hi = (max(b[2] for b in boxes), max(b[3] for b in boxes))
    factor = min(1.0, *((part[a + 2] - part[a]) / max(hi[a] - lo[a], 1e-9) for a in (0, 1)))
    old, new = [], []
    for axis in (0, 1):
        centre, half = (lo[axis] + hi[axis]) / 2, factor * (hi[axis] - lo[axis]) / 2
        old.append(centre)
        new.append(min(max(centre, part[axis] + half), part[axis + 2] - half))
    if factor == 1.0 and new == old:
        return boxes
    return [(round(new[0] + (x0 - old[0]) * factor, 4), round(new[1] + (y0 - old[1]) * factor, 4),
             round(new[0] + (x1 - old[0]) * factor, 4), round(new[1] + (y1 - old[1]) * factor, 4))
            for x0, y0, x1, y1 in boxes]
