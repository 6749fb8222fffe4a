"""The parser's output: what is in the scene and how things relate, before any geometry."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Mention:
    """One noun phrase of the text that names a thing (tokens [start, end), head at `head`)."""

    start: int
    end: int
    head: int
    noun: str
    category: str | None
    attributes: list[str]
    count: int
    definite: bool = False
    bare: bool = False
    new_forced: bool = False
    negated: bool = False
    explicit_count: bool = False
    entity: int = -1


@dataclass
class Entity:
    """One thing of the scene; `count` > 1 makes it a group of identical instances.

    `part` (x0, y0, x1, y1) is the part of the frame the text confines it to ("the left half").
    """

    phrase: str
    noun: str
    category: str | None
    attributes: list[str]
    count: int
    anchor: tuple[float | None, float | None] | None = None
    scale: float = 1.0
    size_factor: tuple[float, float] = (1.0, 1.0)
    part: tuple[float, float, float, float] | None = None


@dataclass
class Scene:
    """Entities in order of first mention and relations `(i, relation, j)` between them.

    "X between A and B" is stored as the two triples (X, "between", A) and (X, "between", B).
    """

    text: str
    entities: list[Entity] = field(default_factory=list)
    relations: list[tuple[int, str, int]] = field(default_factory=list)
