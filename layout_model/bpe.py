"""GPT-2 byte-level BPE producing RoBERTa token ids, with character offsets for word alignment.

The paper's layout network reads RoBERTa ids and takes its output at the first BPE piece of each object's
head noun, so the tokenizer must give, besides the ids, where each piece sits in the sentence. This is the
standard GPT-2 algorithm (byte->unicode table, pre-tokenising regex, rank-ordered merges) over the Hugging
Face `roberta-base` files `vocab.json` (piece -> RoBERTa id) and `merges.txt`; stdlib plus `regex` only.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import regex

BOS_ID, PAD_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
_PRETOKEN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


class TokenizerFilesError(ValueError):
    """The vocabulary files are missing or not GPT-2/RoBERTa BPE files."""


@dataclass(frozen=True)
class Piece:
    """One BPE token: its RoBERTa id and the half-open character span of the text it covers."""

    id: int
    start: int
    end: int


@lru_cache(maxsize=1)
def _byte_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from bytes to printable unicode characters (spaces become U+0120)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, chars)))


class ByteLevelBPE:
    """Encodes text to RoBERTa ids exactly as fairseq's `roberta.encode` / HF `RobertaTokenizer` do."""

    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]]):
        self.vocab = vocab
        self.ranks = {pair: rank for rank, pair in enumerate(merges)}
        self._cache: dict[str, list[str]] = {}

    @classmethod
    def from_folder(cls, folder: str | Path) -> "ByteLevelBPE":
        """Load `vocab.json` + `merges.txt` (Hugging Face `roberta-base`) from `folder`."""
        folder = Path(folder)
        vocab_path, merges_path = folder / "vocab.json", folder / "merges.txt"
        for path in (vocab_path, merges_path):
            if not path.is_file():
                raise TokenizerFilesError(f"{path} is missing: put roberta-base vocab.json and merges.txt in {folder}")
        try:
            vocab = json.loads(vocab_path.read_text(encoding="utf-8"))
            lines = merges_path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise TokenizerFilesError(f"cannot read the BPE files in {folder}: {err}") from None
        merges = [tuple(line.split()) for line in lines if line and not line.startswith("#version")]
        if not isinstance(vocab, dict) or any(len(pair) != 2 for pair in merges):
            raise TokenizerFilesError(f"{folder}: vocab.json must map pieces to ids and merges.txt hold pairs")
        if vocab.get("<s>") != BOS_ID or vocab.get("<pad>") != PAD_ID or vocab.get("</s>") != EOS_ID:
            raise TokenizerFilesError(f"{vocab_path} does not use RoBERTa ids (<s>=0, <pad>=1, </s>=2): "
                                      "use the roberta-base files, not GPT-2's")
        return cls(vocab, merges)  # type: ignore[arg-type]

    def _bpe(self, word: str) -> list[str]:
        if word in self._cache:
            return self._cache[word]
        parts = list(word)
        while len(parts) > 1:
            pairs = [(self.ranks.get(pair, float("inf")), i) for i, pair in enumerate(zip(parts, parts[1:]))]
            rank, _ = min(pairs)
            if rank == float("inf"):
                break
            first, second = next(pair for pair in zip(parts, parts[1:]) if self.ranks.get(pair) == rank)
            merged, i = [], 0
            while i < len(parts):
                if i < len(parts) - 1 and parts[i] == first and parts[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        self._cache[word] = parts
        return parts

    def pieces(self, text: str) -> list[Piece]:
        """BPE pieces of `text` (no <s>/</s>), each with the character span it came from."""
        table = _byte_to_unicode()
        out: list[Piece] = []
        for match in _PRETOKEN.finditer(text):
            chunk = match.group()
            byte_owner = [match.start() + i for i, ch in enumerate(chunk) for _ in ch.encode("utf-8")]
            mapped = "".join(table[b] for b in chunk.encode("utf-8"))
            offset = 0
            for token in self._bpe(mapped):
                start, end = byte_owner[offset], byte_owner[offset + len(token) - 1] + 1
                out.append(Piece(self.vocab.get(token, UNK_ID), start, end))
                offset += len(token)
        return out

    def encode(self, text: str) -> list[int]:
        """`[<s>] + ids + [</s>]`, as fairseq's `roberta.encode(text)`."""
        return [BOS_ID] + [piece.id for piece in self.pieces(text)] + [EOS_ID]
