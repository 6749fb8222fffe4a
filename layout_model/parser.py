"""Text -> Scene: tokens, mentions, coreference, relations, anchors and parts, in that order."""

from __future__ import annotations

from .coref import link_entities
from .mentions import find_mentions
from .relations import extract
from .scene import Scene
from .tokens import tokenize


def parse(text: str) -> Scene:
    """Parse a prompt into entities and relations (no geometry yet)."""
    tokens = tokenize(text)
    mentions = find_mentions(tokens)
    entities = link_entities(text, tokens, mentions)
    extraction = extract(tokens, mentions)
    for index, (tx, ty, scale) in extraction.anchors.items():
        entities[index].anchor = (tx, ty)
        entities[index].scale *= scale
    for index, part in extraction.parts.items():
        entities[index].part = part
    return Scene(text=text, entities=entities, relations=extraction.relations)
