"""Score the predictor on the paper's prompt sets (gpt.txt, vsr.txt, mscoco.txt).

Relations are checked on box centres with the paper's rule (above: y1 < y2, below: y1 > y2,
left of: x1 < x2, right of: x1 > x2). A gold object is matched to the predicted entity of
the same COCO category (or head noun), preferring one whose attributes contain the gold
attributes; a multi-instance entity is scored by the centre of its instances. A relation
whose object was not found counts as wrong (the paper's script would skip it).

Each failed relation is put in one category, judged from the layout's own relations:
"missing object"; "contradicted" (the relations, as parsed from the sentence, imply the
opposite order: usually a label that disagrees with its sentence); "self-contradictory" (the
parsed relations imply both orders, the solver kept the first); "not stated" (nothing orders
the pair, the solver chose); "violated" (implied but the boxes disagree: a solver bug).

Three checks read the sentence themselves, with their own small word patterns rather than the
parser's, so that they can disagree with it:
* counts: "<number> [up to two words] <plural COCO noun>" ("two hot dogs", "6 people") is right
  when the layout has a group of that category with exactly that many instances;
* absolute positions: "in the top left corner", "on the left", "at the bottom of the image",
  "in the right third", "in the center of the scene" name a part of the canvas ("... of the table"
  does not); the nearest gold object mentioned before the phrase in its sentence (or the first
  after a phrase that opens the sentence) must have its centre there;
* unrelated overlap: pairs of boxes of different entities that no relation of the layout joins
  directly, overlapping by more than 10 % of the smaller box (the patch adds both local prompts
  to those pixels).
"""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

from .lexicon import COCO80, MAX_NAME_TOKENS, NOUN_FORMS, NUMBER_WORDS, plural
from .predictor import predict
from .schema import Layout

_VSR_RE = re.compile(r"^(?:the|a|an) (.+?) is (above|below|left of|right of|at the left side of|"
                     r"at the right side of) (?:the|a|an) (.+?)\s*\.?\s*$", re.IGNORECASE)
_GPT_REL_RE = re.compile(r"^(.+?) (left of|right of|above|below) (.+)$")
_VSR_NAMES = {"at the left side of": "left of", "at the right side of": "right of"}
OVERLAP_LIMIT = 0.1  # unrelated boxes overlapping more than this share of the smaller box are counted

# Exact counts only: "several", "few", "many" name no number to check.
_COUNT_WORDS = {word: value for word, value in NUMBER_WORDS.items()
                if value >= 2 and word not in ("several", "few", "many", "multiple", "numerous")}
_WORD_RE = re.compile(r"[a-z0-9]+(?:-[a-z]+)*")
_IMAGE = r"(?: of the (?:image|picture|photo|photograph|scene|frame|canvas|view))"
# Ends a position phrase unless a longer one continues into "... of X" (then X, not the image, is the landmark).
_NOT_RELATIVE = r"\b(?!(?:[- ]hand)?(?: side| edge| part| corner| area| half| third)? of\b)"
_SIDE = {"left": (0, "low"), "right": (0, "high"), "top": (1, "low"), "upper": (1, "low"),
         "bottom": (1, "high"), "lower": (1, "high")}
# Pattern -> how its groups name the part: corner (vertical, horizontal), part (side, half/third), side, centre.
_POSITION_RES: list[tuple[str, re.Pattern[str]]] = [
    ("corner", re.compile(r"\b(?:in|at|on|near|towards?) the (?:far |very )?(top|upper|bottom|lower)[- ](left|right)"
                          r"(?:[- ]hand)?(?: corner| side| part| area)?" + _IMAGE + "?" + _NOT_RELATIVE)),
    ("part", re.compile(r"\b(?:(?:in|on|at|fills|filling|covers|covering|occupies|occupying) )?the "
                        r"(left|right|top|upper|bottom|lower)(?:[- ]hand)? (half|third)" + _IMAGE + "?"
                        + _NOT_RELATIVE)),
    ("side", re.compile(r"\b(?:(?:on|at|in|near|along|towards?) the (?:far |very )?(left|right|top|bottom)"
                        r"(?:[- ]hand side| side| edge| part)?" + _IMAGE + r"?|to the (?:far )?(left|right)"
                        r"(?:[- ]hand side| side| edge)?" + _IMAGE + ")" + _NOT_RELATIVE)),
    ("centre", re.compile(r"\b(?:in|at) the (?:very )?(?:center|centre|middle)" + _IMAGE + "?" + _NOT_RELATIVE)),
]


@dataclass
class Example:
    """One prompt with its gold objects and relations `(object, relation, object)`."""

    sentence: str
    objects: list[str]
    relations: list[tuple[str, str, str]]


@dataclass
class Report:
    """Aggregate scores and a sample of failures."""

    dataset: str
    prompts: int = 0
    objects: int = 0
    objects_found: int = 0
    relations: int = 0
    relations_correct: int = 0
    relations_missing_object: int = 0
    counts: int = 0
    counts_correct: int = 0
    positions: int = 0
    positions_correct: int = 0
    unrelated_pairs: int = 0
    unrelated_overlapping: int = 0
    times_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    categories: dict[str, int] = field(default_factory=dict)

    @property
    def object_recall(self) -> float:
        return self.objects_found / self.objects if self.objects else 1.0

    @property
    def relation_accuracy(self) -> float:
        return self.relations_correct / self.relations if self.relations else 1.0

    @property
    def count_accuracy(self) -> float:
        return self.counts_correct / self.counts if self.counts else 1.0

    @property
    def position_accuracy(self) -> float:
        return self.positions_correct / self.positions if self.positions else 1.0

    @property
    def unrelated_overlap_rate(self) -> float:
        return self.unrelated_overlapping / self.unrelated_pairs if self.unrelated_pairs else 0.0

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times_ms) if self.times_ms else 0.0

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.times_ms)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else 0.0

    def as_dict(self) -> dict[str, object]:
        """Every score as JSON-ready values (`eval --json`), the per-prompt times as median and p95."""
        return {
            "dataset": self.dataset, "prompts": self.prompts,
            "objects": self.objects, "objects_found": self.objects_found, "object_recall": self.object_recall,
            "relations": self.relations, "relations_correct": self.relations_correct,
            "relation_accuracy": self.relation_accuracy, "failure_categories": self.categories,
            "counts": self.counts, "counts_correct": self.counts_correct, "count_accuracy": self.count_accuracy,
            "positions": self.positions, "positions_correct": self.positions_correct,
            "position_accuracy": self.position_accuracy,
            "unrelated_pairs": self.unrelated_pairs, "unrelated_overlapping": self.unrelated_overlapping,
            "unrelated_overlap_rate": self.unrelated_overlap_rate,
            "median_ms": self.median_ms, "p95_ms": self.p95_ms, "failures": self.failures}

    def summary(self) -> str:
        lines = [f"dataset: {self.dataset}   prompts: {self.prompts}",
                 f"object recall: {self.objects_found}/{self.objects} = "
                 f"{100 * self.object_recall:.1f} %"]
        if self.relations:
            lines.append(f"relation accuracy: {self.relations_correct}/{self.relations} = "
                         f"{100 * self.relation_accuracy:.1f} % "
                         f"({self.relations_missing_object} with an unmatched object)")
        if self.categories:
            lines.append("failed relations: " + ", ".join(
                f"{name} {count}" for name, count in sorted(self.categories.items())))
        if self.counts:
            lines.append(f"counts: {self.counts_correct}/{self.counts} = {100 * self.count_accuracy:.1f} %")
        if self.positions:
            lines.append(f"absolute positions: {self.positions_correct}/{self.positions} = "
                         f"{100 * self.position_accuracy:.1f} %")
        lines.append(f"unrelated pairs overlapping > {100 * OVERLAP_LIMIT:.0f} %: {self.unrelated_overlapping}/"
                     f"{self.unrelated_pairs} = {100 * self.unrelated_overlap_rate:.1f} %")
        lines.append(f"time per prompt: median {self.median_ms:.2f} ms, p95 {self.p95_ms:.2f} ms")
        return "\n".join(lines)


def read_gpt(path: str) -> list[Example]:
    """Records of `Objects:` / `Relation:` / `Sentence:` lines separated by blank lines."""
    examples: list[Example] = []
    objects: list[str] = []
    relations: list[tuple[str, str, str]] = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line.startswith("Objects:"):
                objects = [o.strip() for o in line[8:].split(",") if o.strip()]
                relations = []
            elif line.startswith("Relation:"):
                for part in line[9:].split(","):
                    match = _GPT_REL_RE.match(part.strip())
                    if match:
                        relations.append((match.group(1), match.group(2), match.group(3)))
            elif line.startswith("Sentence:"):
                examples.append(Example(line[9:].strip(), objects, relations))
    return examples


def read_vsr(path: str) -> list[Example]:
    """Lines "The X is <relation> the Y."; lines of another shape are skipped."""
    examples = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            match = _VSR_RE.match(line.strip())
            if match:
                a, rel, b = match.group(1), match.group(2).lower(), match.group(3)
                examples.append(Example(line.strip(), [a, b],
                                        [(a, _VSR_NAMES.get(rel, rel), b)]))
    return examples


def read_mscoco(path: str) -> list[Example]:
    """Captions; gold objects are the COCO-80 names (or their plurals) written in them.

    This is only a sanity check: it rewards finding the literal category names.
    """
    examples = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            caption = line.strip()
            if not caption:
                continue
            low = " " + re.sub(r"[^a-z ]+", " ", caption.lower()) + " "
            names = [n for n in COCO80 if f" {n} " in low or f" {_plural_name(n)} " in low]
            names = [n for n in names if not any(n != m and n in m.split() for m in names)]
            examples.append(Example(caption, names, []))
    return examples


def _plural_name(name: str) -> str:
    words = name.split()
    return " ".join(words[:-1] + [plural(words[-1])])


READERS: dict[str, Callable[[str], list[Example]]] = {
    "gpt": read_gpt, "vsr": read_vsr, "mscoco": read_mscoco}


def evaluate(dataset: str, examples: list[Example],
             predictor: Callable[[str], Layout] = predict, max_failures: int = 20) -> Report:
    """Run the predictor on every example and score objects, relations and time."""
    report = Report(dataset=dataset)
    for example in examples:
        start = time.perf_counter()
        layout = predictor(example.sentence)
        report.times_ms.append(1000 * (time.perf_counter() - start))
        report.prompts += 1
        matches = {name: match_object(layout, name)
                   for name in example.objects + [x for a, _, b in example.relations
                                                  for x in (a, b)]}
        for name in example.objects:
            report.objects += 1
            if matches[name]:
                report.objects_found += 1
            elif len(report.failures) < max_failures:
                report.failures.append(f"missing object {name!r}: {example.sentence}")
        for a, rel, b in example.relations:
            report.relations += 1
            ma, mb = matches[a], matches[b]
            if not ma or not mb:
                report.relations_missing_object += 1
                category = "missing object"
            elif relation_holds(rel, _centre(layout, ma), _centre(layout, mb)):
                report.relations_correct += 1
                continue
            else:
                category = {1: "violated", -1: "contradicted", 0: "not stated",
                            2: "self-contradictory"}[_implied(layout, ma, mb, rel)]
            report.categories[category] = report.categories.get(category, 0) + 1
            if len(report.failures) < max_failures:
                report.failures.append(f"{category}: '{a} {rel} {b}': {example.sentence}")
        _score_layout(report, example, layout, max_failures)
    return report


def _score_layout(report: Report, example: Example, layout: Layout, max_failures: int) -> None:
    """Counts, absolute positions and unrelated overlaps of one layout (see the module docstring)."""
    failures: list[str] = []
    for category, count in stated_counts(example.sentence):
        report.counts += 1
        if has_group_of(layout, category, count):
            report.counts_correct += 1
        else:
            failures.append(f"count: {count} x {category}: {example.sentence}")
    for name, part in stated_positions(example.sentence, example.objects):
        report.positions += 1
        members = match_object(layout, name)
        if members and in_part(_centre(layout, members), part):
            report.positions_correct += 1
        else:
            failures.append(f"position: {name} {part}: {example.sentence}")
    pairs, overlapping = unrelated_overlaps(layout)
    report.unrelated_pairs += pairs
    report.unrelated_overlapping += overlapping
    report.failures.extend(failures[:max(0, max_failures - len(report.failures))])


def stated_counts(sentence: str) -> list[tuple[str, int]]:
    """`(COCO category, count)` for each "<number> [up to two words] <plural noun>" of the sentence."""
    words = _WORD_RE.findall(sentence.lower())
    found = []
    for k, word in enumerate(words):
        value = int(word) if word.isdigit() else _COUNT_WORDS.get(word)
        if value is None or value < 2:
            continue
        hit = next((hit for start in range(k + 1, min(k + 4, len(words)))
                    for size in range(MAX_NAME_TOKENS, 0, -1)
                    if (hit := NOUN_FORMS.get(tuple(words[start:start + size]))) and hit[2]), None)
        if hit:
            found.append((hit[0], value))
    return found


def has_group_of(layout: Layout, category: str, count: int) -> bool:
    """Whether some entity of the layout of this category has exactly `count` instances."""
    sizes: dict[tuple[str, int], int] = {}
    for index, obj in enumerate(layout.objects):
        if obj.category == category:
            key = ("group", obj.group) if obj.group is not None else ("object", index)
            sizes[key] = sizes.get(key, 0) + 1
    return count in sizes.values()


def stated_positions(sentence: str, objects: list[str]) -> list[tuple[str, str]]:
    """`(gold object, part)` for each absolute position the sentence names; part is "centre", a side ("left",
    "top"), a corner ("top left") or a half/third ("left third"). The object is the nearest gold object mentioned
    before the phrase in its sentence, or the first after a phrase that opens its sentence ("In the top left
    corner, a cat ..."); other phrases are skipped (their subject is no gold object)."""
    low = sentence.lower()
    mentions = sorted((start, name) for name in objects for start in _mention_starts(low, name))
    found, claimed = [], []
    for kind, pattern in _POSITION_RES:  # most specific first: "in the top left corner" is not also "in the top"
        for match in pattern.finditer(low):
            if any(match.start() < end and start < match.end() for start, end in claimed):
                continue
            claimed.append(match.span())
            opening = max(low.rfind(stop, 0, match.start()) for stop in ".!?;") + 1
            before = [name for start, name in mentions if opening <= start < match.start()]
            after = [name for start, name in mentions if start >= match.end()]
            if before:
                subject = before[-1]
            elif after and not low[opening:match.start()].strip(" ,"):
                subject = after[0]
            else:
                continue
            if kind == "centre":
                part = "centre"
            elif kind == "side":
                part = match.group(1) or match.group(2)
            else:
                part = f"{match.group(1)} {match.group(2)}"
            found.append((subject, part.replace("upper", "top").replace("lower", "bottom")))
    return found


def _mention_starts(low: str, name: str) -> list[int]:
    """Character offsets where the sentence names the gold object (any form of its category or head noun)."""
    key = _gold_key(name)[0]
    forms = {" ".join(words) for words, hit in NOUN_FORMS.items() if hit[0] == key} | {key, plural(key)}
    return [m.start() for form in forms for m in re.finditer(rf"\b{re.escape(form)}\b", low)]


def in_part(centre: tuple[float, float], part: str) -> bool:
    """Whether a centre (x, y in [0, 1], y down) lies in the named part of the canvas."""
    if part == "centre":
        return abs(centre[0] - 0.5) <= 1 / 6 and abs(centre[1] - 0.5) <= 1 / 6
    words = part.split()
    share = 1 / 3 if words[-1] == "third" else 0.5
    for word in words:
        if word in _SIDE:
            axis, end = _SIDE[word]
            if not (centre[axis] < share if end == "low" else centre[axis] > 1 - share):
                return False
    return True


def unrelated_overlaps(layout: Layout, limit: float = OVERLAP_LIMIT) -> tuple[int, int]:
    """`(pairs, overlapping)`: pairs of boxes of different entities with no direct relation between them, and how
    many of those overlap by more than `limit` of the smaller box."""
    related = {(min(i, j), max(i, j)) for i, _, j in layout.relations}
    objects = layout.objects
    pairs = overlapping = 0
    for i in range(len(objects)):
        for j in range(i + 1, len(objects)):
            if (i, j) in related or (objects[i].group is not None and objects[i].group == objects[j].group):
                continue
            pairs += 1
            overlapping += overlap_share(objects[i].box, objects[j].box) > limit
    return pairs, overlapping


def overlap_share(a: list[float], b: list[float]) -> float:
    """Intersection of two boxes over the smaller one's area."""
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return inter / smaller if smaller > 0 else 0.0


def relation_holds(rel: str, a: tuple[float, float], b: tuple[float, float]) -> bool:
    """The paper's centre rule for the four evaluated relations."""
    if rel == "above":
        return a[1] < b[1]
    if rel == "below":
        return a[1] > b[1]
    if rel == "left of":
        return a[0] < b[0]
    if rel == "right of":
        return a[0] > b[0]
    raise ValueError(f"relation {rel!r} is not evaluated")


def _gold_key(name: str) -> tuple[str, list[str]]:
    """Gold name -> (category or head noun, attribute words) via the lexicon."""
    words = name.lower().split()
    for cut in range(len(words)):
        hit = NOUN_FORMS.get(tuple(words[cut:]))
        if hit:
            return hit[0], words[:cut]
    return words[-1], words[:-1]


def match_object(layout: Layout, name: str) -> list[int]:
    """Indices of the predicted entity (all its instances) that best matches a gold name."""
    key, attributes = _gold_key(name)
    groups: dict[tuple[str, int], list[int]] = {}
    for index, obj in enumerate(layout.objects):
        if (obj.category or obj.noun) != key:
            continue
        group_key = ("group", obj.group) if obj.group is not None else ("object", index)
        groups.setdefault(group_key, []).append(index)
    if not groups:
        return []
    return next((g for g in groups.values()
                 if all(a in layout.objects[g[0]].attributes for a in attributes)),
                next(iter(groups.values())))


def _centre(layout: Layout, members: list[int]) -> tuple[float, float]:
    xs = [layout.objects[i].center[0] for i in members]
    ys = [layout.objects[i].center[1] for i in members]
    return sum(xs) / len(xs), sum(ys) / len(ys)


_AXIS_ORDER = {"left of": (0, True), "right of": (0, False), "above": (1, True),
               "below": (1, False), "on": (1, True), "under": (1, False),
               "behind": (1, True), "in front of": (1, False)}


def _implied(layout: Layout, a: list[int], b: list[int], rel: str) -> int:
    """1 if the layout's relations order a before b as `rel` says, -1 if the reverse,
    2 if both, 0 if neither ("between" counts once its two landmarks are ordered)."""
    axis, first = _AXIS_ORDER[rel]
    succ: dict[int, set[int]] = {}
    for i, r, j in layout.relations:
        if r in _AXIS_ORDER and _AXIS_ORDER[r][0] == axis:
            x, y = (i, j) if _AXIS_ORDER[r][1] else (j, i)
            succ.setdefault(x, set()).add(y)
    if axis == 0:
        landmarks: dict[int, list[int]] = {}
        for i, r, j in layout.relations:
            if r == "between":
                landmarks.setdefault(i, []).append(j)
        for x, (p, q, *_) in ((x, l) for x, l in landmarks.items() if len(l) >= 2):
            if reaches_in(succ, [q], [p]):
                p, q = q, p
            if reaches_in(succ, [p], [q]):
                succ.setdefault(p, set()).add(x)
                succ.setdefault(x, set()).add(q)

    before, after = (a, b) if first else (b, a)
    forward, backward = reaches_in(succ, before, after), reaches_in(succ, after, before)
    if forward and backward:
        return 2
    return 1 if forward else -1 if backward else 0


def reaches_in(succ: dict[int, set[int]], sources: list[int], targets: list[int]) -> bool:
    """Whether a path leads from any source to any target."""
    stack, seen = list(sources), set(sources)
    while stack:
        node = stack.pop()
        if node in targets:
            return True
        for nxt in succ.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False
