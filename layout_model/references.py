"""Words that point back at two earlier things: "the former ... the latter", "both", "them", "each other".

`relations.py` resolves single pronouns ("it", "he"); these words need the two most recent things instead, so
the arithmetic lives here, on the mentions in text order.
"""

from __future__ import annotations

from .scene import Mention
from .tokens import Token

ORDINALS = frozenset({"former", "latter"})
RECIPROCALS = (("each", "other"), ("one", "another"))


def ordinal_at(tokens: list[Token], k: int) -> str:
    """"former"/"latter" when tokens k, k+1 read "the former" / "the latter", else ""."""
    if k + 1 < len(tokens) and tokens[k].low == "the" and tokens[k + 1].low in ORDINALS:
        return tokens[k + 1].low
    return ""


def reciprocal_at(tokens: list[Token], k: int) -> bool:
    """Whether tokens k, k+1 read "each other" or "one another"."""
    return k + 1 < len(tokens) and (tokens[k].low, tokens[k + 1].low) in RECIPROCALS


def recent_pair(tokens: list[Token], mentions: list[Mention], index: int, reach: int,
                exclude: set[int], conjoined: bool = False) -> list[int]:
    """The two most recent distinct entities before token `index` (within `reach` sentences), earlier first.

    With `conjoined`, only if they were named together ("a car and a truck"), as "them" needs: in "sheep on
    a platform with a dog behind them" the sheep and the platform are no pair.
    """
    sent = tokens[index].sent
    found: list[Mention] = []
    for m in reversed(mentions):
        if m.end <= index and sent - tokens[m.start].sent < reach and m.entity not in exclude \
                and all(m.entity != f.entity for f in found):
            found.append(m)
            if len(found) == 2:
                break
    if len(found) < 2:
        return []
    later, earlier = found
    if conjoined and not _joined(tokens[earlier.end:later.start]):
        return []
    return [earlier.entity, later.entity]


def _joined(between: list[Token]) -> bool:
    """"X and Y", "X, Y", "both X and Y": nothing but a conjunction between two mentions."""
    return bool(between) and all(t.low in ("and", ",", "or", "both", "as", "well") for t in between)


def ordinal_entity(tokens: list[Token], mentions: list[Mention], index: int, which: str, reach: int) -> int:
    """What "the former"/"the latter" at token `index` names: of the last two things mentioned before the
    sentence's first "former"/"latter" ("a car and a bus; the former is left of the latter"), the earlier or
    the later one; -1 without two."""
    first = index
    while first > 0 and tokens[first - 1].sent == tokens[index].sent:
        first -= 1
    ordinals = [k for k in range(first, index + 1) if tokens[k].low in ORDINALS]
    pair = recent_pair(tokens, mentions, ordinals[0] if ordinals else index, reach, set())
    if len(pair) < 2:
        return -1
    return pair[0] if which == "former" else pair[1]
