"""Tokenisation with character offsets, sentence numbers and cheap word-class tests.

The parser works on lower-cased tokens but keeps offsets so that phrases are cut from the
original text (case and spelling preserved).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .lexicon import CLOSED_CLASS, ING_ED_EXCEPTIONS, LY_EXCEPTIONS, VERBS

_TOKEN_RE = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]")
_SENTENCE_END = frozenset({".", "!", "?", ";"})


@dataclass(frozen=True)
class Token:
    """One word or punctuation mark of the prompt."""

    text: str
    low: str  # lower case, curly apostrophe normalised, possessive "'s" removed
    start: int
    end: int
    sent: int
    possessive: bool = False

    @property
    def is_word(self) -> bool:
        return self.low[:1].isalnum()


def tokenize(text: str) -> list[Token]:
    """Split text into tokens; a new sentence starts after . ! ? ; or a line break."""
    tokens: list[Token] = []
    sent = 0
    last_end = 0
    for match in _TOKEN_RE.finditer(text):
        if tokens and "\n" in text[last_end:match.start()] and tokens[-1].sent == sent:
            sent += 1
        low = match.group().lower().replace("’", "'")
        possessive = low.endswith("'s") and len(low) > 2
        if possessive:
            low = low[:-2]
        tokens.append(Token(match.group(), low, match.start(), match.end(), sent, possessive))
        last_end = match.end()
        if low in _SENTENCE_END:
            sent += 1
    return tokens


def is_verbish(low: str) -> bool:
    """Verb forms that end a noun chunk: listed verbs, -ing and -ed words."""
    if low in VERBS:
        return True
    if low in ING_ED_EXCEPTIONS:
        return False
    return (low.endswith("ing") and len(low) > 4) or (low.endswith("ed") and len(low) > 4)


def is_adverb(low: str) -> bool:
    """-ly adverbs ("gracefully"), which never belong to a noun chunk."""
    return low.endswith("ly") and len(low) > 4 and low not in LY_EXCEPTIONS


def is_content_word(tok: Token) -> bool:
    """A word that may sit inside a noun chunk (not punctuation, function word, verb, adverb)."""
    return (tok.is_word and tok.low not in CLOSED_CLASS and not is_verbish(tok.low)
            and not is_adverb(tok.low) and not tok.low.isdigit())
