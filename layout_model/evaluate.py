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
"""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

from .lexicon import COCO80, NOUN_FORMS, plural
from .predictor import predict
from .schema import Layout

_VSR_RE = re.compile(r"^(?:the|a|an) (.+?) is (above|below|left of|right of|at the left side of|"
                     r"at the right side of) (?:the|a|an) (.+?)\s*\.?\s*$", re.IGNORECASE)
_GPT_REL_RE = re.compile(r"^(.+?) (left of|right of|above|below) (.+)$")
_VSR_NAMES = {"at the left side of": "left of", "at the right side of": "right of"}


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
    def median_ms(self) -> float:
        return statistics.median(self.times_ms) if self.times_ms else 0.0

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.times_ms)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else 0.0

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
    return report


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
