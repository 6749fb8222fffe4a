"""Link mentions to entities: "a cat ... the cat" is one thing, "a cat ... a cat" are two."""

from __future__ import annotations

from .lexicon import COLOURS, DETERMINERS, POSSESSIVES, SIZE_WORDS
from .scene import Entity, Mention
from .schema import MAX_PHRASE_CHARS
from .tokens import Token


def link_entities(text: str, tokens: list[Token], mentions: list[Mention]) -> list[Entity]:
    """Give every non-negated mention an entity id (`mention.entity`); return the entities.

    A definite or bare mention ("the dog", "broccoli") refers back to the most recent entity
    of the same category/noun whose colours and explicit count do not conflict; an
    indefinite one ("a dog", "another dog") always starts a new entity.
    """
    entities: list[Entity] = []
    owners: list[Mention] = []  # the first mention of each entity
    for mention in mentions:
        if mention.negated:
            continue
        target = -1
        if (mention.definite or mention.bare) and not mention.new_forced:
            target = _antecedent(mention, entities, owners)
        if target < 0:
            entities.append(Entity(
                phrase=_phrase(text, tokens, mention), noun=mention.noun,
                category=mention.category, attributes=list(mention.attributes),
                count=mention.count, size_factor=_size_factor(mention.attributes)))
            owners.append(mention)
            target = len(entities) - 1
        else:
            entity = entities[target]
            entity.attributes += [a for a in mention.attributes if a not in entity.attributes]
        mention.entity = target
    return entities


def _antecedent(mention: Mention, entities: list[Entity], owners: list[Mention]) -> int:
    for index in range(len(entities) - 1, -1, -1):
        entity = entities[index]
        if (entity.category or entity.noun) != (mention.category or mention.noun):
            continue
        if not _same_kind(entity, mention):
            continue
        colours_a = set(entity.attributes) & COLOURS
        colours_b = set(mention.attributes) & COLOURS
        if colours_a and colours_b and not colours_a & colours_b:
            continue
        if mention.explicit_count and owners[index].explicit_count \
                and mention.count != entity.count:
            continue
        return index
    return -1


def _same_kind(entity: Entity, mention: Mention) -> bool:
    """Synonyms of one category corefer only via the category name ("a puppy ... the dog"),
    not with each other ("a man ... the woman")."""
    if entity.noun == mention.noun or entity.category is None:
        return entity.noun == mention.noun
    generic = {entity.category, "people"}
    return entity.noun in generic or mention.noun in generic


def _size_factor(attributes: list[str]) -> tuple[float, float]:
    fx, fy = 1.0, 1.0
    for word in attributes:
        wx, wy = SIZE_WORDS.get(word, (1.0, 1.0))
        fx, fy = fx * wx, fy * wy
    return fx, fy


def _phrase(text: str, tokens: list[Token], mention: Mention) -> str:
    """The original words of the mention, with a sentence-initial determiner lower-cased."""
    first, last = tokens[mention.start], tokens[mention.end - 1]
    end = last.end - 2 if last.possessive else last.end
    phrase = text[first.start:end]
    if first.low in DETERMINERS or first.low in POSSESSIVES:
        phrase = phrase[:1].lower() + phrase[1:]
    return phrase[:MAX_PHRASE_CHARS]
