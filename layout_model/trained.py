"""A layout network trained on the user's COCO files: word vocabulary, files on disk, and its predictor.

Same architecture as the paper's (`LayoutNet`: post-LN encoder, object marker, 5-component GMM over the
centre) at a configurable, smaller size, plus a size head (mu and log sigma of log w, log h) so boxes can be
learned rather than fixed. Saved as `layout_model.safetensors` + `layout_model.json` (config, vocabulary,
training state); no pickles.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import torch

from .paper_checkpoint import (CheckpointError, LayoutNet, LayoutNetConfig, NetLayoutPredictor)

WEIGHTS, META = "layout_model.safetensors", "layout_model.json"
SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")  # the paper's ids 0-3, so pad is 1 as in LayoutNet
FORMAT = "spacetime-trained-layout"
_WORD = re.compile(r"[a-z]+|\d+|[^\sa-z\d]")


class WordVocab:
    """Lower-cased words, digits and punctuation marks; unknown words map to <unk>."""

    def __init__(self, words: list[str]):
        self.words = list(SPECIALS) + [w for w in words if w not in SPECIALS]
        self.ids = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def build(cls, texts, min_count: int = 2) -> "WordVocab":
        counts: dict[str, int] = {}
        for text in texts:
            for match in _WORD.finditer(text.lower()):
                counts[match.group()] = counts.get(match.group(), 0) + 1
        return cls(sorted(w for w, n in counts.items() if n >= min_count))

    def encode(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Ids with <s>/</s> and each id's character span ((0, 0) for the specials)."""
        matches = list(_WORD.finditer(text.lower()))
        ids = [0, *(self.ids.get(m.group(), 3) for m in matches), 2]
        return ids, [(0, 0), *(m.span() for m in matches), (0, 0)]


class TrainedLayoutPredictor(NetLayoutPredictor):
    """Rule-parser objects, centres (and by default sizes) from the network trained on COCO."""

    name = "trained"

    def __init__(self, net: LayoutNet, vocab: WordVocab, boxes: str = "learned", sample: bool = False):
        super().__init__(net, boxes, sample)
        self.vocab = vocab

    def encode(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        return self.vocab.encode(text)


def save_trained(folder: Path, net: LayoutNet, vocab: WordVocab, state: dict) -> None:
    """Weights + JSON (config, vocabulary, `state`: epochs done, loss history, data summary), atomically."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (WEIGHTS + ".part")
    save_file({k: v.detach().contiguous() for k, v in net.state_dict().items()}, str(tmp))
    tmp.replace(folder / WEIGHTS)
    meta = {"format": FORMAT, "version": 1, "config": net.config.to_dict(), "vocab": vocab.words[len(SPECIALS):],
            **state}
    (folder / (META + ".part")).write_text(json.dumps(meta, indent=1))
    (folder / (META + ".part")).replace(folder / META)


def load_trained(folder: str | Path) -> tuple[LayoutNet, WordVocab, dict]:
    """(net in eval mode, vocabulary, metadata) from a folder written by `layout_model.train_coco`."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from .paper_checkpoint import build_net

    folder = Path(folder)
    if not (folder / META).is_file() or not (folder / WEIGHTS).is_file():
        raise CheckpointError(f"{folder} holds no trained layout model ({META} + {WEIGHTS})")
    try:
        meta = json.loads((folder / META).read_text())
        if meta.get("format") != FORMAT:
            raise ValueError(f"format is {meta.get('format')!r}")
        config = LayoutNetConfig(**{**meta["config"], "dropout": 0.0})
        vocab = WordVocab(list(meta["vocab"]))
        tensors = load_file(str(folder / WEIGHTS))
    except (ValueError, KeyError, TypeError, SafetensorError, OSError) as err:
        raise CheckpointError(f"cannot read the trained layout model in {folder}: {err}") from None
    return build_net(tensors, config, folder), vocab, meta


def load_trained_predictor(folder: str | Path, boxes: str = "learned", sample: bool = False) -> TrainedLayoutPredictor:
    """The Predict Layout back-end `predictor="trained"` for a `train_coco --out` folder."""
    net, vocab, _ = load_trained(folder)
    return TrainedLayoutPredictor(net, vocab, boxes, sample)
