"""`RuleLayoutPredictor`: parse the prompt, solve the boxes, fit them into named parts, expand groups into instances."""

from __future__ import annotations

from .lexicon import DETERMINERS, PARTITIVES, POSSESSIVES
from .mentions import number
from .parser import parse
from .parts import fit_inside
from .scene import Scene
from .schema import MAX_OBJECTS, Layout, LayoutError, LayoutObject, check_side, check_text
from .solver import solve


class RuleLayoutPredictor:
    """Deterministic rule parser + constraint solver (pure Python, a few ms per prompt)."""

    name = "rules"

    def predict(self, text: str, width: int = 512, height: int = 512, seed: int = 0) -> Layout:
        """Layout for `text`; empty or object-free text gives a layout with no objects.

        Raises `LayoutError` (field `text`, `width`, `height` or `seed`) for bad input.
        """
        _check_inputs(text, width, height, seed)
        scene = _limit(parse(text))
        boxes = solve(scene, width, height, seed)
        objects: list[LayoutObject] = []
        first_instance: list[int] = []
        for index, (entity, instance_boxes) in enumerate(zip(scene.entities, boxes)):
            if entity.part is not None:
                instance_boxes = fit_inside(instance_boxes, entity.part)
            first_instance.append(len(objects))
            group = index if entity.count > 1 else None
            phrase = instance_phrase(entity.phrase, entity.noun) if group is not None else entity.phrase
            for box in instance_boxes:
                objects.append(LayoutObject(
                    phrase=phrase, noun=entity.noun, category=entity.category,
                    box=list(box), count=entity.count, group=group,
                    attributes=list(entity.attributes)))
        relations = []
        for i, rel, j in scene.relations:
            for a in range(first_instance[i], first_instance[i] + scene.entities[i].count):
                for b in range(first_instance[j], first_instance[j] + scene.entities[j].count):
                    relations.append((a, rel, b))
        return Layout(objects=objects, relations=relations, width=width, height=height,
                      text=text, predictor=self.name)


def _check_inputs(text: object, width: object, height: object, seed: object) -> None:
    check_text(text)
    check_side(width, "width")
    check_side(height, "height")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise LayoutError("seed", f"expected an integer, got {seed!r}")


def instance_phrase(phrase: str, noun: str) -> str:
    """What one instance of a counted mention is called: "two red cats" -> "a red cat".

    Each instance has a box of its own, so its local description must name one thing; "a photo of two cats"
    in each cat's box asks for two cats there. Count words, partitives ("a pair of") and determiners go,
    the written head noun becomes the singular `noun`, modifiers stay and the article is "a" or "an".
    """
    words = phrase.split()
    k = 0
    while k < len(words):
        low = words[k].lower()
        if low in DETERMINERS or low in POSSESSIVES or number(low) is not None:
            k += 1
        elif low in PARTITIVES and k + 1 < len(words) and words[k + 1].lower() == "of":
            k += 2
        else:
            break
    modifiers = words[k:len(words) - len(noun.split())] if len(words) - k > len(noun.split()) else []
    text = " ".join(modifiers + [noun])
    return ("an " if text[:1].lower() in "aeiou" else "a ") + text


def _limit(scene: Scene) -> Scene:
    """Keep entities in order of mention while their instances fit in MAX_OBJECTS."""
    kept, total = 0, 0
    for entity in scene.entities:
        if total + entity.count > MAX_OBJECTS:
            break
        total += entity.count
        kept += 1
    if kept == len(scene.entities):
        return scene
    relations = [(i, r, j) for i, r, j in scene.relations if i < kept and j < kept]
    return Scene(text=scene.text, entities=scene.entities[:kept], relations=relations)


_DEFAULT = RuleLayoutPredictor()


def predict(text: str, width: int = 512, height: int = 512, seed: int = 0) -> Layout:
    """Predict a layout with the default (rule) predictor."""
    return _DEFAULT.predict(text, width=width, height=height, seed=seed)
