"""Spatial relations and absolute anchors: who each phrase of `phrases.py` relates to whom.

A relation phrase ("to the right of", "beneath", "to its left") has a landmark after it (a
mention or a pronoun) and a trajector before it (found by `_trajectors`). Anchors ("on the
left", "in the background") attach to a trajector only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .lexicon import CLOSED_CLASS, FRAME_NOUNS, NON_OBJECTS, PAIR_NOUNS
from .phrases import ANCHORS, PARTS, Phrase, find_phrases
from .references import ordinal_at, ordinal_entity, recent_pair, reciprocal_at
from .scene import Mention
from .tokens import Token, is_adverb, is_content_word, is_verbish

_PRONOUNS = frozenset({"it", "they", "them", "he", "him", "she", "her"})
_PRONOUN_REACH = 3  # sentences a pronoun may look back (its own included)
_PLURAL_PRONOUNS = frozenset({"they", "them", "their"})
_PERSON_PRONOUNS = frozenset({"he", "him", "his", "she", "her"})
# A mention right after one of these is a prepositional object, not a trajector.
_PP_PREPS = frozenset({"in", "on", "at", "inside", "into", "onto", "against", "along", "across",
                       "through", "from", "of", "under", "near", "over", "around", "within",
                       "atop", "upon", "beside", "behind", "above", "below", "beneath", "past"})
_RELATIVE_PRONOUNS = frozenset({"which", "that", "who"})
# Words that end the scope of "with" for pronoun resolution ("..., while a cat is above it").
_SCOPE_BREAKERS = frozenset({"while", "whereas", "which", "who", "but", "although", "though",
                             "where", "when", ";"})
_CLAUSE_OPENERS = frozenset({",", "and", "while", "but", "whereas", "then", ":"})
_COORD = frozenset({"and", ",", "but", "also", "both", "is", "are", "was", "were", "then"})
_LINKS = frozenset({",", "and", "but"})
_VERTICAL_SURFACES = frozenset({"wall", "door", "window", "fence", "board", "screen", "curtain"})


@dataclass
class _Ref:
    """Something that can be a trajector or landmark: a mention or a pronoun token."""

    start: int
    end: int
    entity: int = -1  # -1 for a pronoun, resolved on use
    pronoun: str = ""


@dataclass
class _Done:
    """A processed relation phrase, kept for chaining and coordination."""

    found: Phrase
    trajectors: list[int]
    landmarks: list[int]
    landmark_end: int


@dataclass
class Extraction:
    """Relations `(i, relation, j)` between entity ids, anchors and parts of the frame per entity id."""

    relations: list[tuple[int, str, int]] = field(default_factory=list)
    anchors: dict[int, tuple[float | None, float | None, float]] = field(default_factory=dict)
    parts: dict[int, tuple[float, float, float, float]] = field(default_factory=dict)


def extract(tokens: list[Token], mentions: list[Mention]) -> Extraction:
    """Find relation and anchor phrases and attach them to entities."""
    return _Extractor(tokens, mentions).run()


class _Extractor:
    def __init__(self, tokens: list[Token], mentions: list[Mention]):
        self.tokens = tokens
        self.mentions = [m for m in mentions if not m.negated and m.entity >= 0]
        self.counts: dict[int, int] = {}
        for m in self.mentions:
            self.counts[m.entity] = max(self.counts.get(m.entity, 1), m.count)
        self.persons = {m.entity for m in self.mentions if m.category == "person"}
        # things "they/them" can name alone: people (singular "they"), groups and plural-only nouns ("scissors")
        self.plural = self.persons | {e for e, n in self.counts.items() if n > 1} | {
            m.entity for m in self.mentions if m.noun in PAIR_NOUNS or m.category in PAIR_NOUNS}
        self.refs = self._refs()
        self.refs_in: dict[int, list[_Ref]] = {}  # sentence -> its refs in text order
        for ref in self.refs:
            self.refs_in.setdefault(tokens[ref.start].sent, []).append(ref)
        self.mentions_in: dict[int, list[Mention]] = {}
        for m in self.mentions:
            self.mentions_in.setdefault(tokens[m.start].sent, []).append(m)
        self.ref_starting = {ref.start: ref for ref in self.refs}
        self.ref_ending = {ref.end: ref for ref in self.refs}
        in_mention = {k for m in self.mentions for k in range(m.start, m.end)}
        self.phrases = [f for f in find_phrases(tokens)
                        if not in_mention & set(range(f.start, f.end))]
        self.phrase_at = {f.start: f for f in self.phrases}
        self.done: list[_Done] = []
        self.landmark_ends: dict[int, _Done] = {}  # chainable relations by landmark end
        self.subjects: dict[int, int] = {}
        self.out = Extraction()

    # -- references -------------------------------------------------------------------------

    def _refs(self) -> list[_Ref]:
        refs = [_Ref(m.start, m.end, m.entity) for m in self.mentions]
        covered = {k for m in self.mentions for k in range(m.start, m.end)}
        for i, tok in enumerate(self.tokens):
            if ordinal_at(self.tokens, i):
                refs.append(_Ref(i, i + 2, -1, ordinal_at(self.tokens, i)))
            elif tok.low == "both" and i not in covered and not self._opens_phrase(i + 1, covered):
                refs.append(_Ref(i, i + 1, -1, "both"))  # "the cup and the plate both sit on a table"
            if tok.low in _PRONOUNS and i not in covered:
                if tok.low == "her" and i + 1 < len(self.tokens) and self.tokens[i + 1].is_word \
                        and self.tokens[i + 1].low not in CLOSED_CLASS:
                    continue  # possessive "her"
                refs.append(_Ref(i, i + 1, -1, tok.low))
        refs.sort(key=lambda r: r.start)
        return refs

    def _opens_phrase(self, k: int, covered: set[int]) -> bool:
        """Whether token k starts the noun phrase a "both" before it counts ("both the cup and the plate")."""
        return k < len(self.tokens) and (k in covered or self.tokens[k].low in ("the", "of"))

    def _subject(self, sent: int) -> int:
        """The first thing a sentence talks about (not a prepositional object or landmark)."""
        if sent in self.subjects:
            return self.subjects[sent]
        subject = -1
        phrase_ends = {f.end for f in self.phrases}
        for ref in self.refs_in.get(sent, []):
            if ref.start in phrase_ends or self._is_pp_object(ref):
                continue
            if ref.pronoun:
                subject = self._resolve(ref.start, ref.pronoun, set(), previous_only=True)
            else:
                subject = ref.entity
            break
        self.subjects[sent] = subject
        return subject

    def _is_pp_object(self, ref: _Ref) -> bool:
        """A ref right after a preposition ("on the beach"), except "a photo of <ref>"."""
        if ref.start == 0 or self.tokens[ref.start - 1].low not in _PP_PREPS:
            return False
        return not (ref.start > 1 and self.tokens[ref.start - 1].low == "of"
                    and self.tokens[ref.start - 2].low in FRAME_NOUNS)

    def _resolve(self, index: int, pronoun: str, exclude: set[int],
                 previous_only: bool = False) -> int:
        """Entity a pronoun at token `index` points to; -1 if none.

        Inside a "with" phrase the clause subject is preferred ("the laptop sat on the stand,
        with a tv below it"), elsewhere the most recent fitting entity ("..., while a cat is
        above it"). "it" fits a singular non-person, "they/them/their" a person (singular
        they) or a group, "he/she" a person.
        """
        sent = self.tokens[index].sent
        last = sent - 1 if previous_only else sent
        before = [m.entity for s in range(last, max(last - _PRONOUN_REACH, -1), -1)
                  for m in reversed(self.mentions_in.get(s, []))
                  if m.end <= index and m.entity not in exclude]
        if not before:
            return -1
        if pronoun in _PLURAL_PRONOUNS:
            wanted = [e for e in before if e in self.plural]
        elif pronoun in _PERSON_PRONOUNS:
            wanted = [e for e in before if e in self.persons]
        else:
            wanted = [e for e in before if e not in self.persons and self.counts.get(e, 1) == 1]
        if previous_only:
            subject = self._subject(sent - 1) if sent > 0 else -1
        else:
            subject = self._subject(sent) if self._in_with_scope(index) else -1
        if subject in wanted:
            return subject
        return (wanted or before)[0]

    def _in_with_scope(self, index: int) -> bool:
        """Whether the token sits in a "with" (or "between") phrase: "X, with Y below it"."""
        sent = self.tokens[index].sent
        for j in range(index - 1, -1, -1):
            tok = self.tokens[j]
            if tok.sent != sent or tok.low in _SCOPE_BREAKERS:
                return False
            if tok.low in ("with", "between", "flanked"):
                return True
        return False

    def _ref_entities(self, ref: _Ref, exclude: set[int]) -> list[int]:
        if not ref.pronoun:
            return [ref.entity]
        if ref.pronoun in ("former", "latter"):
            entity = ordinal_entity(self.tokens, self.mentions, ref.start, ref.pronoun, _PRONOUN_REACH)
            return [entity] if entity >= 0 and entity not in exclude else []
        if self._names_pair(ref):
            pair = recent_pair(self.tokens, self.mentions, ref.start, _PRONOUN_REACH, exclude,
                               conjoined=ref.pronoun != "both")
            if pair:
                return pair
        entity = self._resolve(ref.start, ref.pronoun, exclude)
        return [entity] if entity >= 0 else []

    def _names_pair(self, ref: _Ref) -> bool:
        """"both", or "they/them/their" with no person (singular "they"), group or plural-only noun
        ("scissors") before it to name: then "a car and a truck ... above them" names the last two things."""
        if ref.pronoun == "both":
            return True
        if ref.pronoun not in _PLURAL_PRONOUNS:
            return False
        sent = self.tokens[ref.start].sent
        return not any(m.entity in self.plural for s in range(sent, max(sent - _PRONOUN_REACH, -1), -1)
                       for m in self.mentions_in.get(s, []) if m.end <= ref.start)

    def _ref_at(self, index: int) -> _Ref | None:
        return self.ref_starting.get(index)

    # -- main loop ------------------------------------------------------------------------

    def run(self) -> Extraction:
        for found in self.phrases:
            if self._negated(found):
                continue
            if found.pattern.kind == "anchor":
                self._anchor(found)
            elif found.pattern.value == "between":
                self._between(found)
            else:
                self._relation(found)
        return self.out

    def _negated(self, found: Phrase) -> bool:
        j = found.start - 1
        while j >= 0 and (is_adverb(self.tokens[j].low) or is_verbish(self.tokens[j].low)):
            j -= 1
        return j >= 0 and (self.tokens[j].low in ("not", "never", "neither", "nor")
                           or self.tokens[j].low.endswith("n't"))

    def _relation(self, found: Phrase) -> None:
        pattern = found.pattern
        landmark_ref, landmark_end = self._landmark_ref(found)
        exclude = {landmark_ref.entity} if landmark_ref and not landmark_ref.pronoun else set()
        trajectors = self._trajectors(found, exclude, landmark_end)
        if landmark_ref is not None and landmark_ref.pronoun == "reciprocal":
            for a, b in zip(trajectors, trajectors[1:]):  # "a dog and a cat next to each other"
                self._emit(found, [a], pattern.value, [b], landmark_end)
            return
        if landmark_ref is not None:
            landmarks = self._ref_entities(landmark_ref, set(trajectors))
            if not landmarks and self._names_pair(landmark_ref):
                # "a cup and a plate, and a fork right of both": the list made all three trajectors
                landmarks = self._ref_entities(landmark_ref, set(trajectors[-1:]))
            extra = self._conjoined_landmark(landmark_end)
            if extra is not None:
                landmarks += [e for e in self._ref_entities(extra, set(trajectors))
                              if e not in landmarks]
                landmark_end = extra.end
        elif pattern.implicit or pattern.kind == "poss":
            landmarks = self._implicit_landmarks(found, trajectors)
        else:
            return
        value = pattern.value
        if value == "on" and landmark_ref is not None and not landmark_ref.pronoun \
                and self.tokens[landmark_ref.end - 1].low in _VERTICAL_SURFACES:
            value = "in front of"
        self._emit(found, trajectors, value, landmarks, landmark_end)

    def _landmark_ref(self, found: Phrase) -> tuple[_Ref | None, int]:
        """The ref right after the phrase (or the possessive inside it) and where it ends."""
        if found.pattern.kind == "poss":
            for k in range(found.start, found.end):
                low = self.tokens[k].low
                if low in ("its", "his", "her", "their"):
                    return _Ref(k, k + 1, -1, low), found.end
        k = found.end
        if reciprocal_at(self.tokens, k):
            return _Ref(k, k + 2, -1, "reciprocal"), k + 2
        ref = self._ref_at(k)
        if ref is None and k < len(self.tokens) and self.tokens[k].low in ("both", "each", "either"):
            k += 1
            ref = self._ref_at(k)
        if ref is not None:
            return ref, ref.end
        if k < len(self.tokens) and self.tokens[k].low in ("that", "this") and (
                k + 1 == len(self.tokens) or not is_content_word(self.tokens[k + 1])):
            return _Ref(k, k + 1, -1, "it"), k + 1  # "beneath that is an oven"
        if k + 1 < len(self.tokens) and self.tokens[k].low in ("its", "his", "her", "their") \
                and self.tokens[k + 1].low in NON_OBJECTS:
            return _Ref(k, k + 1, -1, self.tokens[k].low), k + 2
        return None, found.end

    def _conjoined_landmark(self, end: int) -> _Ref | None:
        """"above the fork and the knife": a second landmark that is not a new subject."""
        if end >= len(self.tokens) or self.tokens[end].low != "and":
            return None
        ref = self._ref_at(end + 1)
        if ref is None or ref.pronoun:
            return None
        after = self.tokens[ref.end].low if ref.end < len(self.tokens) else "."
        if after in (".", ",", ";", "!", "?", "with", "while", "and"):
            return ref
        return None

    def _implicit_landmarks(self, found: Phrase, trajectors: list[int]) -> list[int]:
        """"with a cat below" / "above and to the left of X": the subject or a shared landmark."""
        subject = self._subject(self.tokens[found.start].sent)
        if subject >= 0 and subject not in trajectors:
            return [subject]
        following = self.phrase_at.get(found.end + 1)
        if following and self.tokens[found.end].low == "and" and following.pattern.kind == "rel":
            ref, _ = self._landmark_ref(following)
            if ref is not None:
                return self._ref_entities(ref, set(trajectors))
        return []

    def _between(self, found: Phrase) -> None:
        first, end = self._landmark_ref(found)
        if first is None:
            landmarks = self._previous_between(found)
            if not landmarks:
                return
            trajectors = self._trajectors(found, set(landmarks), found.end)
            self._emit(found, trajectors, "between", landmarks, found.end)
            return
        if first.pronoun in _PLURAL_PRONOUNS:
            trajectors = self._trajectors(found, set(), end)
            landmarks = self._two_before(first.start, set(trajectors))
        else:
            landmarks = self._ref_entities(first, set())
            second = self._second_landmark(end)
            if second is not None:
                landmarks += self._ref_entities(second, set(landmarks))
                end = max(end, second.end)
            trajectors = self._trajectors(found, set(landmarks), end)
        self._emit(found, trajectors, "between", landmarks, end)

    def _second_landmark(self, after: int) -> _Ref | None:
        """The ref after the next "and" ("between a chair to the right and a table")."""
        sent = self.tokens[after - 1].sent
        for k in range(after, min(after + 8, len(self.tokens))):
            if self.tokens[k].sent != sent:
                return None
            if self.tokens[k].low == "and":
                return self._ref_at(k + 1)
        return None

    def _previous_between(self, found: Phrase) -> list[int]:
        for done in reversed(self.done):
            if done.found.pattern.value == "between" and \
                    self.tokens[done.found.start].sent == self.tokens[found.start].sent:
                return list(done.landmarks)
        return []

    def _two_before(self, index: int, exclude: set[int]) -> list[int]:
        """"between them": a group's instances are handled by the solver; else two entities."""
        seen: list[int] = []
        for m in reversed(self.mentions):
            if m.end <= index and m.entity not in exclude and m.entity not in seen:
                seen.append(m.entity)
        for e in seen:
            if self.counts.get(e, 1) > 1 and e not in self.persons:
                return [e]
        return list(reversed(seen[:2]))

    def _anchor(self, found: Phrase) -> None:
        trajectors = self._trajectors(found, set(), found.end)
        if not trajectors:
            return
        pattern = found.pattern
        subject = self._subject(self.tokens[found.start].sent)
        if pattern.relative and subject >= 0 and subject not in trajectors:
            self._emit(found, trajectors, f"{pattern.value} of", [subject], found.end)
            return
        tx, ty, scale = ANCHORS[pattern.value]
        for entity in trajectors:
            old = self.out.anchors.get(entity, (None, None, 1.0))
            self.out.anchors[entity] = (tx if tx is not None else old[0],
                                        ty if ty is not None else old[1], scale * old[2])
            if pattern.value in PARTS:
                self.out.parts[entity] = _intersect(self.out.parts.get(entity), PARTS[pattern.value])

    def _emit(self, found: Phrase, trajectors: list[int], value: str, landmarks: list[int],
              landmark_end: int) -> None:
        trajectors = [t for t in trajectors if t not in landmarks]
        for t in trajectors:
            for lm in landmarks:
                triple = (lm, value, t) if found.pattern.reverse else (t, value, lm)
                if triple not in self.out.relations:
                    self.out.relations.append(triple)
        done = _Done(found, trajectors, landmarks, landmark_end)
        self.done.append(done)
        if landmarks and value != "between" and not found.pattern.reverse:
            self.landmark_ends[landmark_end] = done  # "between A and B" and verbs never chain

    # -- trajectors -----------------------------------------------------------------------

    def _trajectors(self, found: Phrase, exclude: set[int], landmark_end: int) -> list[int]:
        """Who the phrase is about.

        1. Inverted order "Below the person was a plant": the ref after the landmark.
        2. Coordination "X is above Y and left of Z": the previous phrase's trajectors.
        3. The nearest ref to the left in the sentence, skipping prepositional objects; a
           landmark directly followed by this phrase chains ("X on the beach left of Y": X),
           a relative pronoun keeps its antecedent ("Y, which is below Z").
        4. No ref to the left: the first ref after the landmark.
        """
        sent = self.tokens[found.start].sent
        inverted = self._inverted(found, landmark_end, exclude)
        if inverted:
            return inverted
        coordinated = self._coordinated(found)
        if coordinated:
            return coordinated
        subject = self._subject(sent)
        left = [r for r in reversed(self.refs_in.get(sent, [])) if r.end <= found.start]
        fallback: list[int] = []
        for ref in left:
            chained = self._chained(ref, found)
            if chained is not None:
                return [t for t in chained.trajectors if t not in exclude]
            entities = [e for e in self._ref_entities(ref, exclude) if e not in exclude]
            if not entities:
                continue
            if ref.pronoun and not self._subject_pronoun(ref) and entities[0] == subject:
                continue  # "a car passing them from the left": the phrase is about the car
            gap = [t.low for t in self.tokens[ref.end:found.start] if t.low != ","]
            if gap and gap[0] in _RELATIVE_PRONOUNS:  # "X, which is above Y"
                return entities
            if self._is_pp_object(ref):
                fallback = fallback or entities
                continue
            return self._with_conjuncts(ref, entities, exclude)
        if fallback:
            return fallback
        for ref in self.refs_in.get(sent, []):
            if ref.start >= landmark_end:
                entities = [e for e in self._ref_entities(ref, exclude) if e not in exclude]
                if entities:
                    return entities
        return []

    def _subject_pronoun(self, ref: _Ref) -> bool:
        """"they/he/she", or "it" not right after a verb or preposition ("leaving it")."""
        if ref.pronoun in ("them", "him", "her"):
            return False
        before = self.tokens[ref.start - 1].low if ref.start > 0 else "."
        return not (is_verbish(before) or before in _PP_PREPS or before in CLOSED_CLASS
                    and before not in _CLAUSE_OPENERS and before not in _SCOPE_BREAKERS)

    def _inverted(self, found: Phrase, landmark_end: int, exclude: set[int]) -> list[int]:
        """"Above it is a red tv" / "Below the person, a plant": the ref after the landmark."""
        if found.start > 0 and self.tokens[found.start - 1].low not in _CLAUSE_OPENERS \
                and self.tokens[found.start - 1].sent == self.tokens[found.start].sent:
            return []
        k = landmark_end
        if k < len(self.tokens) and self.tokens[k].low == ",":
            k += 1
        while k < len(self.tokens) and k - landmark_end <= 3 and self._ref_at(k) is None \
                and (self.tokens[k].low in ("there", "is", "are", "was", "were")
                     or is_verbish(self.tokens[k].low) or is_adverb(self.tokens[k].low)):
            k += 1
        ref = self._ref_at(k)
        if ref is None or ref.pronoun:
            return []
        return [e for e in self._ref_entities(ref, exclude) if e not in exclude]

    def _chained(self, ref: _Ref, found: Phrase) -> _Done | None:
        """The relation whose landmark is `ref`, if this phrase follows it directly."""
        done = self.landmark_ends.get(ref.end)
        if done is not None and all(is_adverb(t.low) for t in self.tokens[ref.end:found.start]):
            return done
        return None

    def _coordinated(self, found: Phrase) -> list[int]:
        if not self.done:
            return []
        previous = self.done[-1]
        if self.tokens[previous.found.start].sent != self.tokens[found.start].sent:
            return []
        gap = self.tokens[previous.landmark_end:found.start]
        sent = self.tokens[found.start].sent
        if not gap or any(r.start >= previous.landmark_end and r.end <= found.start
                          for r in self.refs_in.get(sent, [])):
            return []
        lows = [t.low for t in gap]
        if not any(low in _LINKS for low in lows):
            return []
        if all(low in _COORD or is_adverb(low) or is_verbish(low) for low in lows):
            return list(previous.trajectors)
        return []

    def _with_conjuncts(self, ref: _Ref, entities: list[int], exclude: set[int]) -> list[int]:
        """"X and Y are left of Z": add refs joined to the trajector by "and" / ","."""
        result = list(entities)
        current = ref
        while current.start >= 2 and self.tokens[current.start - 1].low in ("and", ","):
            link = current.start - 1
            if self.tokens[link].low == "and" and self.tokens[link - 1].low == ",":
                link -= 1  # "X, Y, and Z"
            previous = self.ref_ending.get(link)
            if previous is None or previous.pronoun or self._is_pp_object(previous) \
                    or any(d.landmark_end == previous.end for d in self.done):
                break
            if previous.entity not in exclude and previous.entity not in result:
                result.insert(0, previous.entity)
            current = previous
        return result


def _intersect(old: tuple[float, float, float, float] | None, new: tuple[float, float, float, float]
               ) -> tuple[float, float, float, float]:
    """"in the left half ... in the top half": the box stays in both parts (the top-left quarter)."""
    if old is None:
        return new
    return max(old[0], new[0]), max(old[1], new[1]), min(old[2], new[2]), min(old[3], new[3])
