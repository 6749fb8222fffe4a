"""Which transformer blocks of a DiT the patch acts in, from the words a user types.

Peers patch every other block or only the double-stream blocks; which is best differs by model, so the choice is
the user's: ``all``, ``double``, ``single``, ``every other`` (blocks 0, 2, 4, ... of each kind) or a list such as
``d0-d9, s0, s4`` (``d`` = double-stream, ``s`` = single-stream block, ranges inclusive).
"""
from __future__ import annotations

import re

KEYWORDS = ("all", "double", "single", "every other")
KINDS = {"d": "double", "s": "single"}
_ITEM = re.compile(r"^([ds])(\d+)(?:\s*-\s*[ds]?(\d+))?$")


def parse_blocks(text: str, counts: dict[str, int]) -> frozenset[tuple[str, int]] | None:
    """The selected ``(kind, index)`` blocks, or None for all of them; `counts` gives the model's blocks of each
    kind. Raises ValueError saying what is wrong with `text`."""
    spec = " ".join(str(text).lower().split())
    if spec in ("", "all"):
        return None
    if spec in ("double", "single"):
        return frozenset((spec, i) for i in range(counts.get(spec, 0)))
    if spec == "every other":
        return frozenset((kind, i) for kind, n in counts.items() for i in range(0, n, 2))
    chosen: set[tuple[str, int]] = set()
    for item in filter(None, (part.strip() for part in spec.split(","))):
        match = _ITEM.match(item)
        if match is None:
            raise ValueError(f"cannot read {item!r}: write {', '.join(KEYWORDS)}, or a list like 'd0-d9, s0, s4' "
                             f"(d = double-stream, s = single-stream block)")
        kind = KINDS[match.group(1)]
        first = int(match.group(2))
        last = int(match.group(3)) if match.group(3) is not None else first
        available = counts.get(kind, 0)
        if not available:
            raise ValueError(f"{item!r}: this model has no {kind}-stream blocks")
        if first > last or last >= available:
            raise ValueError(f"{item!r} is outside this model's {available} {kind}-stream blocks "
                             f"(0..{available - 1})")
        chosen.update((kind, i) for i in range(first, last + 1))
    if not chosen:
        raise ValueError("no block selected")
    return frozenset(chosen)
