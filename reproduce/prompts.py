"""Prompt sets and their gold objects and relations, parsed as the paper's evaluation scripts read them.

Formats (as the official evaluation scripts read them): `gpt.txt` holds 4-line records `Objects:` / `Relation:` / `Sentence:` / blank,
the prompt being the sentence; `mscoco.txt` and `vsr.txt` hold one prompt per line. Any other file is
read as one prompt per line, or as records if it starts with `Objects:`. Gold names are COCO-80 class
names, which is what detectors report.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from layout_model.lexicon import COCO80

from . import ReproduceError

SETS_DIR = Path(__file__).parent / "prompt_sets"
NAMED_SETS = ("gpt", "mscoco", "vsr")
RELATION_WORDS = ("left of", "right of", "above", "below")
_VSR = re.compile(r"^the (.+?) is (above|below|left of|right of|at the left side of|at the right side of) "
                  r"the (.+?)\.?$", re.IGNORECASE)
_GPT_RELATION = re.compile(r"^(.+?) (left of|right of|above|below) (.+)$")


@dataclass(frozen=True)
class Prompt:
    """One prompt: `key` names its outputs (`gpt-0007`), `index` is its record/line number in the file."""

    key: str
    index: int
    text: str
    objects: tuple[str, ...] = ()
    relations: tuple[tuple[str, str, str], ...] = field(default=())  # (subject, relation, anchor) class names


@dataclass(frozen=True)
class PromptSet:
    name: str
    kind: str  # "gpt" (records), "vsr" or "lines"
    path: Path
    prompts: tuple[Prompt, ...]


def coco_class(phrase: str) -> str:
    """The class of an object phrase as the paper's scripts take it: last word, or last two words for
    two-word COCO names ("white tennis racket" -> "tennis racket")."""
    words = phrase.lower().strip().strip(".").split()
    if len(words) >= 2 and " ".join(words[-2:]) in COCO80:
        return " ".join(words[-2:])
    return words[-1] if words else ""


def coco_names_in(text: str) -> tuple[str, ...]:
    """COCO-80 names written in a caption as whole words (plural 's'/'es' allowed), in order, deduplicated."""
    lower = text.lower()
    found = []
    for name in COCO80:
        match = re.search(r"\b" + re.escape(name) + r"(?:s|es)?\b", lower)
        if match:
            found.append((match.start(), name))
    return tuple(dict.fromkeys(name for _, name in sorted(found)))


def _gpt_records(path: Path, lines: list[str], name: str) -> list[Prompt]:
    prompts = []
    for start in range(0, len(lines), 4):
        record = lines[start:start + 4]
        while len(record) < 3:
            record.append("")
        heads = ("Objects:", "Relation:", "Sentence:")
        for offset, (line, head) in enumerate(zip(record, heads)):
            if not line.startswith(head):
                raise ReproduceError(f"{path}:{start + offset + 1}: expected a line starting with '{head}' "
                                     f"(records of Objects/Relation/Sentence/blank), got {line[:60]!r}")
        if len(record) > 3 and record[3].strip():
            raise ReproduceError(f"{path}:{start + 4}: expected a blank line after the Sentence line")
        text = record[2][len("Sentence:"):].strip()
        if not text:
            raise ReproduceError(f"{path}:{start + 3}: empty Sentence")
        objects = tuple(coco_class(o) for o in record[0][len("Objects:"):].split(",") if o.strip())
        relations = []
        for part in record[1][len("Relation:"):].split(","):
            match = _GPT_RELATION.match(part.strip())
            if match:
                relations.append((coco_class(match[1]), match[2], coco_class(match[3])))
        index = start // 4
        prompts.append(Prompt(f"{name}-{index:04d}", index, text, objects, tuple(relations)))
    return prompts


def _line_prompts(lines: list[str], name: str, kind: str) -> list[Prompt]:
    prompts = []
    for index, line in enumerate(lines):
        text = line.strip()
        if not text:
            continue  # keys follow line numbers, so a skipped blank line shifts nothing
        objects: tuple[str, ...] = coco_names_in(text)
        relations: tuple[tuple[str, str, str], ...] = ()
        match = _VSR.match(text) if kind == "vsr" else None
        if match:
            relation = match[2].lower().replace("at the left side of", "left of") \
                .replace("at the right side of", "right of")
            objects = (coco_class(match[1]), coco_class(match[3]))
            relations = ((objects[0], relation, objects[1]),)
        prompts.append(Prompt(f"{name}-{index:04d}", index, text, objects, relations))
    return prompts


def load_prompt_set(spec: str) -> PromptSet:
    """`gpt`, `mscoco`, `vsr` (the paper's sets, shipped) or a path to a prompt file."""
    path = SETS_DIR / f"{spec}.txt" if spec in NAMED_SETS else Path(spec)
    if not path.is_file():
        raise ReproduceError(f"prompt file not found: {path} (use gpt, mscoco, vsr or a file path)")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ReproduceError(f"cannot read prompt file {path}: {err}") from None
    while lines and not lines[-1].strip():
        lines.pop()
    name = spec if spec in NAMED_SETS else re.sub(r"[^A-Za-z0-9_.-]+", "_", path.stem)
    if lines and lines[0].startswith("Objects:"):
        kind, prompts = "gpt", _gpt_records(path, lines, name)
    else:
        kind = "vsr" if name == "vsr" or (lines and all(_VSR.match(l.strip()) for l in lines if l.strip())) else "lines"
        prompts = _line_prompts(lines, name, kind)
    if not prompts:
        raise ReproduceError(f"{path} holds no prompts")
    return PromptSet(name, kind, path, tuple(prompts))
