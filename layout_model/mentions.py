"""Find the noun phrases that name things: lexicon nouns first, then determiner-anchored chunks.

Each mention carries its attributes, count and negation; linking mentions to entities
(coreference) is `coref.py`'s job.
"""

from __future__ import annotations

from .lexicon import (
    ADJECTIVE_NOUNS, COLOURS, COMPOUND_HEADS, DETERMINERS, FRAME_NOUNS, GEOMETRIC_SHAPES, MATERIAL_NOUNS, MATERIALS,
    MAX_NAME_TOKENS, MULTIPLIERS,
    NON_OBJECTS, NOUN_FORMS, NUMBER_WORDS, PAIR_NOUNS, PARTITIVES, PERSON_GROUPS, POSSESSIVES,
    SETTING_PREPOSITIONS, SETTINGS,
    SIZE_WORDS, VERBS, looks_plural, singular,
)
from .scene import Mention
from .tokens import Token, is_content_word, is_verbish

DEFAULT_PLURAL_COUNT = 2  # a bare plural ("dogs") becomes this many instances
MAX_COUNT = 30  # instances per mention ("a hundred birds" -> 30): more would leave each box a few pixels
_MAX_LEFT = 7  # tokens a phrase may grow leftwards from its noun

_DEFINITE = frozenset({"the", "this", "that", "these", "those"}) | POSSESSIVES
_NEW_FORCING = frozenset({"another", "other", "second", "third"})
# Determiners that may open an open-vocabulary chunk ("a lighthouse", "two castles").
_CHUNK_OPENERS = DETERMINERS - {"this", "that", "these", "those", "each", "every", "any"}
_NEGATORS = frozenset({"no", "not", "without", "never", "nor", "neither"})
_KNOWN_ATTRIBUTES = COLOURS | MATERIALS | frozenset(SIZE_WORDS)
_ADJECTIVES = _KNOWN_ATTRIBUTES - MATERIAL_NOUNS  # never the head of a chunk ("the red one")
_INTENSIFIERS = frozenset({"very", "really", "quite", "rather", "extremely", "fairly"})

Name = tuple[str, str, bool]  # (category, noun, is_plural)


def number(low: str) -> int | None:
    """Value of a count word or ASCII numeral ("two" -> 2, "12" -> 12, "twenty-one" -> 21), else None."""
    if low.isascii() and low.isdigit():
        return int(low) if len(low) <= 3 else MAX_COUNT
    tens, _, units = low.partition("-")
    if units and NUMBER_WORDS.get(tens, 0) % 10 == 0 and NUMBER_WORDS.get(tens, 0) >= 20 \
            and 1 <= NUMBER_WORDS.get(units, 0) <= 9:
        return NUMBER_WORDS[tens] + NUMBER_WORDS[units]
    return NUMBER_WORDS.get(low)


def _counted(count: int | None, low: str) -> int | None:
    """The count after reading `low`: "dozen" multiplies a number already read ("two dozen"), others replace it."""
    value = number(low)
    if value is not None and count is not None and low in MULTIPLIERS:
        return count * value
    return value


def find_mentions(tokens: list[Token]) -> list[Mention]:
    """All mentions in text order; lexicon nouns win over open-vocabulary chunks."""
    mentions = _lexicon_mentions(tokens)
    covered = {k for m in mentions for k in range(m.start, m.end)}
    mentions += _open_vocabulary_mentions(tokens, covered)
    mentions += _bare_shape_mentions(tokens, covered)
    mentions.sort(key=lambda m: m.start)
    _propagate_negation(tokens, mentions)
    return mentions


def match_name(tokens: list[Token], i: int) -> tuple[int, Name] | None:
    """Longest lexicon name starting at token i, as (number of tokens, name)."""
    for length in range(min(MAX_NAME_TOKENS, len(tokens) - i), 0, -1):
        words = tokens[i:i + length]
        if not all(t.is_word for t in words) or any(t.possessive for t in words[:-1]):
            continue
        hit = NOUN_FORMS.get(tuple(t.low for t in words))
        if hit:
            return length, hit
    return None


def _lexicon_mentions(tokens: list[Token]) -> list[Mention]:
    mentions: list[Mention] = []
    i = 0
    while i < len(tokens):
        match = match_name(tokens, i)
        if match is None:
            group = _person_group(tokens, i)
            if group:
                mentions.append(group)
            i += 1
            continue
        length, (category, noun, is_plural) = match
        head = i + length - 1
        if _is_modifier(tokens, head, length):
            i += 1
            continue
        mentions.append(_extend_left(tokens, i, head, noun, category, is_plural))
        i = head + 1
    return mentions


def _is_modifier(tokens: list[Token], head: int, length: int) -> bool:
    """A lexicon noun used as a modifier of the next word ("glass vase", "pizza box")."""
    if head + 1 >= len(tokens) or tokens[head].possessive:
        return False
    nxt = tokens[head + 1]
    if not nxt.is_word:
        return False
    if nxt.low in COMPOUND_HEADS:
        return True
    following = match_name(tokens, head + 1)
    if following and not following[1][2]:  # a singular noun follows: "dog bed"
        return True
    return (length == 1 and tokens[head].low in ADJECTIVE_NOUNS and is_content_word(nxt)
            and nxt.low not in NON_OBJECTS)


def _person_group(tokens: list[Token], i: int) -> Mention | None:
    """"a couple", "a crowd" (not followed by "of") name several people."""
    low = tokens[i].low
    if low not in PERSON_GROUPS or i == 0 or tokens[i - 1].low not in ("a", "an", "the"):
        return None
    if i + 1 < len(tokens) and tokens[i + 1].low == "of":
        return None
    mention = _extend_left(tokens, i, i, "person", "person", True)
    if not mention.explicit_count:
        mention.count = PERSON_GROUPS[low]
    return mention


def _extend_left(tokens: list[Token], first: int, head: int, noun: str, category: str | None,
                 is_plural: bool) -> Mention:
    """Grow a noun leftwards over attributes, numbers, partitives and one determiner.

    Unknown words ("the sleek car") are kept only when a determiner closes the phrase, so that
    verbs and nouns of a previous phrase are not swallowed ("dogs chasing cats").
    """
    attributes: list[str] = []
    pending: list[str] = []
    count: int | None = None
    partitive: int | None = None
    det: str | None = None
    start = first
    j = first - 1
    while j >= 0 and first - j <= _MAX_LEFT:
        tok = tokens[j]
        low = tok.low
        if low in _KNOWN_ATTRIBUTES or _is_colour_compound(low):
            attributes[:0] = pending + [low]
            pending = []
            start = j
        elif low in ("and", ",") and attributes and j > 0 and (
                tokens[j - 1].low in _KNOWN_ATTRIBUTES or _is_colour_compound(tokens[j - 1].low)):
            start = j
        elif low == "of" and j > 0 and tokens[j - 1].low in PARTITIVES:
            partitive = PARTITIVES[tokens[j - 1].low]
            attributes[:0] = pending
            pending = []
            start = j - 1
            j -= 2
            continue
        elif number(low) is not None:
            count = number(low) * count if count is not None and tokens[j + 1].low in MULTIPLIERS \
                else number(low)
            attributes[:0] = pending
            pending = []
            start = j
        elif low in DETERMINERS or low in POSSESSIVES:
            det = low
            attributes[:0] = pending
            pending = []
            start = j
            break
        elif low in _INTENSIFIERS or low in _NEW_FORCING:
            pending.insert(0, low)
        elif (is_content_word(tok) or (is_verbish(low) and low not in VERBS)) \
                and not tok.possessive and match_name(tokens, j) is None:
            pending.insert(0, low)
        else:
            break
        j -= 1
    attributes = [a for a in attributes if a not in _INTENSIFIERS]
    return _make_mention(tokens, start, head, noun, category, is_plural, attributes, det,
                         count, partitive)


def _is_colour_compound(low: str) -> bool:
    """"black-and-white", "dark-blue" and similar hyphenated colour words."""
    parts = [p for p in low.split("-") if p != "and"]
    return len(parts) > 1 and all(p in COLOURS for p in parts)


def _make_mention(tokens: list[Token], start: int, head: int, noun: str, category: str | None,
                  is_plural: bool, attributes: list[str], det: str | None, count: int | None,
                  partitive: int | None) -> Mention:
    """Settle count, definiteness and negation of a phrase spanning tokens [start, head]."""
    explicit = count is not None or partitive is not None
    one_object_pair = noun in PAIR_NOUNS or category == "skis"
    if count is None:
        if partitive is not None:
            count = 1 if one_object_pair else partitive
        else:
            count = DEFAULT_PLURAL_COUNT if is_plural else 1
    new_forced = det == "another" or any(a in _NEW_FORCING for a in attributes)
    return Mention(start=start, end=head + 1, head=head, noun=noun, category=category,
                   attributes=[a for a in attributes if a not in _NEW_FORCING],
                   count=max(1, min(count, MAX_COUNT)), definite=det in _DEFINITE,
                   bare=det is None and count == 1, new_forced=new_forced,
                   negated=det == "no" or _negated_before(tokens, start), explicit_count=explicit)


def _negated_before(tokens: list[Token], start: int) -> bool:
    """"without a car", "not a cat", "isn't a dog" (with an optional "any")."""
    j = start - 1
    if j >= 0 and tokens[j].low == "any":
        j -= 1
    return j >= 0 and (tokens[j].low in _NEGATORS or tokens[j].low.endswith("n't"))


def _open_vocabulary_mentions(tokens: list[Token], covered: set[int]) -> list[Mention]:
    """Determiner-anchored chunks with unknown heads ("a lighthouse", "the old castle")."""
    mentions: list[Mention] = []
    for d, tok in enumerate(tokens):
        if d in covered or not (tok.low in _CHUNK_OPENERS or number(tok.low) is not None):
            continue
        mention = _chunk_after(tokens, d, covered)
        if mention is not None:
            mentions.append(mention)
            covered.update(range(mention.start, mention.end))
    return mentions


def _chunk_after(tokens: list[Token], d: int, covered: set[int]) -> Mention | None:
    """The open-vocabulary mention opened by the determiner at d, if its head is a thing."""
    det = tokens[d].low
    count = number(det)
    k = d + 1
    while k < len(tokens) and number(tokens[k].low) is not None:
        count = _counted(count, tokens[k].low)
        k += 1
    if det == "both" and k < len(tokens) and tokens[k].low in VERBS:
        return None  # "the cup and the plate both sit": a verb follows
    run = _content_run(tokens, k, covered)
    if not run:
        return None
    head = run[-1]
    partitive: int | None = None
    followed_by_of = head + 1 < len(tokens) and tokens[head + 1].low == "of"
    if followed_by_of and (tokens[head].low in PARTITIVES or tokens[head].low in FRAME_NOUNS):
        nxt = head + 2  # the word after "of"
        if nxt >= len(tokens) or nxt in covered or tokens[nxt].low in DETERMINERS:
            return None  # the complement is a mention of its own
        partitive = PARTITIVES.get(tokens[head].low)
        run = _content_run(tokens, nxt, covered)
        if not run:
            return None
        head = run[-1]
    low = tokens[head].low
    if (low in NON_OBJECTS or low in FRAME_NOUNS or low in _ADJECTIVES
            or len(low) < 2 or not low.replace("-", "").isalpha()):
        return None
    if low in SETTINGS and d > 0 and tokens[d - 1].low in SETTING_PREPOSITIONS:
        return None  # "in a sunny garden": the setting of the whole picture
    if det in ("a", "an", "another") and partitive is None and looks_plural(low):
        return None  # "another guides his dog": a verb, not a noun
    attributes = [tokens[i].low for i in run[:-1]]
    return _make_mention(tokens, d, head, singular(low), None, looks_plural(low), attributes,
                         det, count, partitive)


def _bare_shape_mentions(tokens: list[Token], covered: set[int]) -> list[Mention]:
    """Geometric shapes without a determiner ("red circle left of blue square"): a shape word that ends its
    phrase (no content word follows, so not "square table") names a thing, grown leftwards over attributes."""
    mentions: list[Mention] = []
    for k, tok in enumerate(tokens):
        noun = singular(tok.low)
        if (not tok.is_word or k in covered or noun not in GEOMETRIC_SHAPES
                or (k + 1 < len(tokens) and is_content_word(tokens[k + 1]))):
            continue
        mention = _extend_left(tokens, k, k, noun, None, noun != tok.low)
        if any(i in covered for i in range(mention.start, mention.end)):
            continue
        mentions.append(mention)
        covered.update(range(mention.start, mention.end))
    return mentions


def _content_run(tokens: list[Token], k: int, covered: set[int]) -> list[int]:
    """Indices of up to four chunk words from k; a trailing -ing/-ed word is a verb, not a head.

    A listed verb right after the determiner is a noun ("a park"); later it ends the chunk.
    """
    run: list[int] = []
    while k < len(tokens) and k not in covered and len(run) < 4:
        tok = tokens[k]
        noun_after_determiner = not run and tok.low in VERBS  # "a park", "the stand"
        # a participle modifies a noun only before it ("a red rotating fan", not "a light
        # indicating whether")
        modifier = tok.is_word and is_verbish(tok.low) and tok.low not in VERBS and all(
            tokens[i].low in _KNOWN_ATTRIBUTES or is_verbish(tokens[i].low) for i in run)
        if not (is_content_word(tok) or noun_after_determiner or modifier):
            break
        run.append(k)
        k += 1
        if tok.possessive:
            break
    while run and tokens[run[-1]].low not in VERBS and is_verbish(tokens[run[-1]].low):
        run.pop()
    return run


def _propagate_negation(tokens: list[Token], mentions: list[Mention]) -> None:
    """"no cats or dogs", "without a car and a bike": the negation covers the coordinated noun."""
    for prev, cur in zip(mentions, mentions[1:]):
        if not prev.negated or cur.negated:
            continue
        between = [t.low for t in tokens[prev.end:cur.start]]
        if between in (["or"], ["nor"], [",", "or"], [",", "nor"]):
            cur.negated = True
        elif between == ["and"] and prev.start > 0 and tokens[prev.start - 1].low == "without":
            cur.negated = True
