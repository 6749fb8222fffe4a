"""Relation and anchor phrases ("to the right of", "beneath", "in the top-left corner").

A table of regular expressions over the lower-cased tokens; `find_phrases` returns the
non-overlapping matches, longest first. Who the phrases relate is `relations.py`'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .tokens import Token

_FRAME = r"(?: of the (?:image|picture|scene|frame|photo|photograph|canvas|painting|view))?"
_LR_TAIL = r"(?:-hand side| hand side| side| edge| half| part| corner)?"
_BODY = "(?:its|his|her|their)"
_SIDE_WORDS = {"top": "(?:top|upper)", "bottom": "(?:bottom|lower)", "left": "left", "right": "right"}
# Verbs and prepositions before "the left half" / "the top third": the object takes up that part of the frame.
_OCCUPY = (r"(?:(?:in|on|at|across|within|into|to|occupies|occupy|occupying|fills|fill|filling|covers|cover"
           r"|covering|spans|span|spanning|takes up|take up|taking up|dominates|dominate|dominating) )?")


@dataclass(frozen=True)
class Pattern:
    """One phrase pattern; `regex` matches lower-cased tokens joined by single spaces."""

    kind: str  # "rel" (landmark follows), "poss" (landmark is the possessive), "anchor"
    value: str  # relation name or anchor name
    regex: str
    implicit: bool = False  # without a landmark, relate to the sentence subject
    relative: bool = False  # anchor that means "relative to the subject" for a non-subject
    reverse: bool = False  # a verb whose object is located ("X holding Y": Y in front of X)


def _lr(side: str) -> list[Pattern]:
    """Patterns for one side; for equal spans the earlier pattern wins (relative anchor)."""
    rel = f"{side} of"
    return [
        Pattern("rel", rel, rf"(?:(?:to|on|at|towards?|toward|in) )?the (?:far |immediate )?"
                            rf"{side}(?:-hand| hand)?(?: side| edge)? of"),
        Pattern("rel", rel, rf"{side} of"),
        Pattern("poss", rel, rf"(?:to|on|at) {_BODY} (?:far |immediate )?{side}{_LR_TAIL}"),
        Pattern("anchor", side, rf"(?:to|from) the (?:far )?{side}{_LR_TAIL}", relative=True),
        Pattern("anchor", side, rf"(?:on|at|in|to|towards?|near|along) the (?:far |very )?{side}{_LR_TAIL}"
                                rf"{_FRAME}"),
    ]


def _part(side: str, part: str) -> Pattern:
    """"occupies the left half", "in the top third": a centre target plus a part the box stays inside."""
    return Pattern("anchor", f"{side}-{part}",
                   rf"{_OCCUPY}the {_SIDE_WORDS[side]}(?:-hand)? {part}{_FRAME}")


def _corner(vertical: str, horizontal: str) -> Pattern:
    return Pattern("anchor", f"{vertical}-{horizontal}",
                   rf"(?:(?:in|at|on|near|into|towards?) the )?(?:far |very )?{_SIDE_WORDS[vertical]}[- ]"
                   rf"{horizontal}(?:-hand)?(?: corner| side| part| area| half| edge)?{_FRAME}")


PATTERNS: tuple[Pattern, ...] = (
    *(_part(side, part) for part in ("half", "third") for side in ("left", "right", "top", "bottom")),
    *_lr("left"), *_lr("right"),
    Pattern("rel", "above", r"above|over|atop|on top of|on the top of|higher than|up above",
             implicit=True),
    Pattern("rel", "above", r"on top|higher", implicit=True),
    Pattern("rel", "below", r"below|beneath|lower than|at the (?:foot|bottom|base) of",
             implicit=True),
    Pattern("rel", "below", r"lower", implicit=True),
    Pattern("rel", "under", r"under|underneath", implicit=True),
    Pattern("poss", "below", rf"at {_BODY} (?:feet|foot|base)"),
    *(Pattern("poss", f"{side} of", rf"(?:in|on|over|under|by|at) {_BODY} {side}"
                                    r"(?: hand| shoulder| arm| paw| foot| leg)s?")
      for side in ("left", "right")),
    Pattern("rel", "on", r"on|onto|upon|riding|rides|rode"),
    Pattern("poss", "in front of", rf"in {_BODY} (?:hands?|arms|grip|mouth|paws?|lap)"),
    Pattern("rel", "in front of", r"holding|holds|held|carrying|carries|carried",
            reverse=True),
    Pattern("rel", "next to", r"next to|beside|alongside|adjacent to|near(?: to)?|close to"
                              r"|by the side of|across from|opposite(?: to)?"),
    Pattern("rel", "next to", r"nearby|close by", implicit=True),
    Pattern("rel", "next to", r"(?:facing|faces?|looking at|looks? at|turned towards?)(?= each other| one another)"),
    Pattern("rel", "in front of", r"in front of|ahead of"),
    Pattern("rel", "behind", r"behind|in back of|at the back of|to the rear of|beyond",
             implicit=True),
    Pattern("rel", "between", r"(?:in )?between|flanked by|sandwiched between", implicit=True),
    *(_corner(v, h) for v in ("top", "bottom") for h in ("left", "right")),
    Pattern("anchor", "top", rf"(?:at|on|in|near|along|towards?) the (?:very )?top{_LR_TAIL}{_FRAME}"),
    Pattern("anchor", "bottom", rf"(?:at|on|in|near|along|towards?) the (?:very )?bottom{_LR_TAIL}{_FRAME}"),
    Pattern("anchor", "center", rf"(?:in|at) the (?:very )?(?:center|centre|middle){_FRAME}"
                                r"|centered|centred"),
    Pattern("anchor", "background", r"in the (?:far )?(?:background|distance)|far away|far off"
                                    r"|on the horizon|further away|from a distance"
                                    r"|at a distance"),
    Pattern("anchor", "foreground", r"in the (?:foreground|front)|up front|up close"),
)

# Anchor name -> (target x or None, target y or None, size scale).
ANCHORS: dict[str, tuple[float | None, float | None, float]] = {
    "left": (0.17, None, 1.0), "right": (0.83, None, 1.0), "top": (None, 0.17, 1.0),
    "bottom": (None, 0.83, 1.0), "center": (0.5, 0.5, 1.0), "top-left": (0.17, 0.17, 1.0),
    "top-right": (0.83, 0.17, 1.0), "bottom-left": (0.17, 0.83, 1.0),
    "bottom-right": (0.83, 0.83, 1.0), "background": (None, 0.35, 0.7),
    "foreground": (None, 0.72, 1.25),
    "left-half": (0.25, None, 1.0), "right-half": (0.75, None, 1.0), "top-half": (None, 0.25, 1.0),
    "bottom-half": (None, 0.75, 1.0), "left-third": (1 / 6, None, 1.0), "right-third": (5 / 6, None, 1.0),
    "top-third": (None, 1 / 6, 1.0), "bottom-third": (None, 5 / 6, 1.0),
}

# Anchor name -> the part of the frame (x0, y0, x1, y1) the object's box stays inside.
PARTS: dict[str, tuple[float, float, float, float]] = {
    "left-half": (0.0, 0.0, 0.5, 1.0), "right-half": (0.5, 0.0, 1.0, 1.0),
    "top-half": (0.0, 0.0, 1.0, 0.5), "bottom-half": (0.0, 0.5, 1.0, 1.0),
    "left-third": (0.0, 0.0, 1 / 3, 1.0), "right-third": (2 / 3, 0.0, 1.0, 1.0),
    "top-third": (0.0, 0.0, 1.0, 1 / 3), "bottom-third": (0.0, 2 / 3, 1.0, 1.0),
}

_COMPILED = tuple((p, re.compile(rf"(?<![^ ])(?:{p.regex})(?![^ ])")) for p in PATTERNS)
@dataclass
class Phrase:
    """One matched phrase: tokens [start, end)."""

    pattern: Pattern
    start: int
    end: int


def find_phrases(tokens: list[Token]) -> list[Phrase]:
    """Non-overlapping relation/anchor phrases, longest first, in text order."""
    joined, offsets = _join(tokens)
    found: list[Phrase] = []
    for pattern, regex in _COMPILED:
        for m in regex.finditer(joined):
            start, end = offsets[m.start()], offsets[m.end() - 1] + 1
            if tokens[start].sent != tokens[end - 1].sent:
                continue
            if pattern.kind == "anchor" and end < len(tokens) and tokens[end].low == "of":
                continue
            found.append(Phrase(pattern, start, end))
    found.sort(key=lambda f: (f.start - f.end, f.start))
    taken: set[int] = set()
    chosen: list[Phrase] = []
    for item in found:
        span = set(range(item.start, item.end))
        if not span & taken:
            chosen.append(item)
            taken |= span
    chosen.sort(key=lambda f: f.start)
    return chosen


def _join(tokens: list[Token]) -> tuple[str, dict[int, int]]:
    """Lower-cased tokens joined by spaces, and character offset -> token index."""
    parts: list[str] = []
    offsets: dict[int, int] = {}
    pos = 0
    for index, tok in enumerate(tokens):
        for k in range(len(tok.low)):
            offsets[pos + k] = index
        parts.append(tok.low)
        pos += len(tok.low) + 1
    return " ".join(parts), offsets
