"""The paper's layout network (RoBERTa encoder + GMM centre head), loadable from its checkpoint without fairseq.

`coco_F_seq2seq_v9_ablation_4/checkpoint_90_0.0.pth` holds a fairseq post-LN RoBERTa-base encoder whose
token embeddings get a learned `object_embedding` added at object head-noun pieces, followed by
`output_Layer` (Linear d->d) and `xy_bivariate` (Linear d->30, a 5-component GMM). `LayoutNet` re-implements
exactly that forward pass in plain torch (~60 lines), with the same parameter names so the state dict maps
one-to-one. The same class, at a smaller size with a word vocabulary and a box-size head, is the model
that `layout_model.train_coco` trains. Files are read with `weights_only=True` or as safetensors: never
full unpickling of user files.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from . import gmm
from .bpe import BOS_ID, EOS_ID, ByteLevelBPE
from .coref import link_entities
from .mentions import find_mentions
from .predictor import RuleLayoutPredictor
from .schema import Layout, LayoutError
from .tokens import tokenize

log = logging.getLogger(__name__)

PAD_ID = 1
# (our prefix, the checkpoint's prefix) for every tensor on the centre path.
PREFIXES = (
    ("encoder.", "encoder.model.encoder.sentence_encoder."),
    ("output_Layer.", "bbox_head.Decoder.output_Layer."),
    ("xy_bivariate.", "bbox_head.Decoder.box_predictor.xy_bivariate."),
)
# Built by the original code but never called on the centre path; present in the file, ignored here.
UNUSED_PREFIXES = ("encoder.model.encoder.lm_head.", "encoder.model.encoder.sentence_encoder.version",
                   "bbox_head.Decoder.box_predictor.xy_embedding.", "bbox_head.Decoder.box_predictor.wh_bivariate.",
                   "bbox_head.Decoder.decoder.", "bbox_head.refine_encoder.", "bbox_head.refine_box_head.",
                   "encoder._float_tensor", "encoder.model.decoder.")


class CheckpointError(ValueError):
    """A layout checkpoint is missing, unreadable, or does not have the expected tensors."""


@dataclass(frozen=True)
class LayoutNetConfig:
    """Sizes of a `LayoutNet`; the paper's file is vocab 50265, d 768, 12 layers, 12 heads, FFN 3072."""

    vocab_size: int = 50265
    dim: int = 768
    layers: int = 12
    heads: int = 12
    ffn: int = 3072
    max_positions: int = 512
    dropout: float = 0.0
    size_head: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


class EncoderLayer(nn.Module):
    """fairseq `TransformerEncoderLayer` with `normalize_before=False` (post-LN), GELU, key padding mask.

    `operations` supplies the layer classes, as in ComfyUI's models (torch.nn here; a host may pass its own ops)."""

    def __init__(self, cfg: LayoutNetConfig, operations: Any = nn):
        super().__init__()
        self.heads = cfg.heads
        self.self_attn = nn.Module()
        for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
            setattr(self.self_attn, name, operations.Linear(cfg.dim, cfg.dim))
        self.self_attn_layer_norm = operations.LayerNorm(cfg.dim)
        self.fc1 = operations.Linear(cfg.dim, cfg.ffn)
        self.fc2 = operations.Linear(cfg.ffn, cfg.dim)
        self.final_layer_norm = operations.LayerNorm(cfg.dim)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        batch, length, dim = x.shape
        attn = self.self_attn

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, length, self.heads, dim // self.heads).transpose(1, 2)

        mask = keep[:, None, None, :]
        out = F.scaled_dot_product_attention(heads(attn.q_proj(x)), heads(attn.k_proj(x)), heads(attn.v_proj(x)),
                                             attn_mask=mask, dropout_p=self.dropout.p if self.training else 0.0)
        out = attn.out_proj(out.transpose(1, 2).reshape(batch, length, dim))
        x = self.self_attn_layer_norm(x + self.dropout(out))
        hidden = self.fc2(self.dropout(F.gelu(self.fc1(x))))
        return self.final_layer_norm(x + self.dropout(hidden))


class Encoder(nn.Module):
    """fairseq RoBERTa `sentence_encoder` plus the paper's `object_embedding` (Model.py 222-227)."""

    def __init__(self, cfg: LayoutNetConfig, operations: Any = nn):
        super().__init__()
        self.embed_tokens = operations.Embedding(cfg.vocab_size, cfg.dim, padding_idx=PAD_ID)
        self.embed_positions = operations.Embedding(cfg.max_positions + PAD_ID + 1, cfg.dim, padding_idx=PAD_ID)
        self.layernorm_embedding = operations.LayerNorm(cfg.dim)
        self.object_embedding = nn.Parameter(torch.zeros(1, cfg.dim))
        self.layers = nn.ModuleList(EncoderLayer(cfg, operations) for _ in range(cfg.layers))
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, tokens: torch.Tensor, objects: torch.Tensor) -> torch.Tensor:
        keep = tokens.ne(PAD_ID)
        positions = torch.cumsum(keep, 1) * keep + PAD_ID  # fairseq make_positions
        x = self.dropout(self.layernorm_embedding(self.embed_tokens(tokens) + self.embed_positions(positions)))
        x = x + self.object_embedding * objects[..., None].to(x.dtype)
        x = x * keep[..., None].to(x.dtype)
        for layer in self.layers:
            x = layer(x, keep)
        return x


class LayoutNet(nn.Module):
    """Encoder -> `output_Layer` -> `xy_bivariate` (30 GMM numbers per token) [-> `size_head`: mu, log sigma of log w, h]."""

    def __init__(self, cfg: LayoutNetConfig, operations: Any = nn):
        super().__init__()
        self.config = cfg
        self.encoder = Encoder(cfg, operations)
        self.output_Layer = operations.Linear(cfg.dim, cfg.dim)
        self.xy_bivariate = operations.Linear(cfg.dim, gmm.COMPONENTS * gmm.PARAMS_PER_COMPONENT)
        self.size_head = operations.Linear(cfg.dim, 4) if cfg.size_head else None

    def forward(self, tokens: torch.Tensor, objects: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """tokens `[B,T]` (pad 1), objects `[B,T]` bool -> (GMM raw `[B,T,30]`, size raw `[B,T,4]` or None)."""
        hidden = self.output_Layer(self.encoder(tokens, objects))
        sizes = self.size_head(hidden) if self.size_head is not None else None
        return self.xy_bivariate(hidden), sizes


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise CheckpointError(f"layout checkpoint not found: {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        with torch.serialization.safe_globals(_numpy_scalar_globals()):
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch's restricted unpickler raises many types on damaged or hostile bytes
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"cannot read layout checkpoint {path}: {first_line}") from None
    state = data.get("state_dict", data) if isinstance(data, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} holds no state_dict of tensors")
    return state


def _numpy_scalar_globals() -> list:
    """Training logs inside `.pth` files often hold numpy scalars: data-only reconstructors, safe to allow."""
    try:
        import numpy as np
    except ImportError:
        return []
    core = getattr(np, "_core", None) or np.core
    return [core.multiarray.scalar, np.dtype, *(type(np.dtype(t)) for t in ("float32", "float64", "int64"))]


def paper_tensors(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Checkpoint names -> `LayoutNet` names, keeping only the tensors on the centre path."""
    out: dict[str, torch.Tensor] = {}
    unexpected = []
    for key, value in state.items():
        match = next(((ours, theirs) for ours, theirs in PREFIXES if key.startswith(theirs)), None)
        if match and not key.startswith(UNUSED_PREFIXES):
            out[match[0] + key[len(match[1]):]] = value
        elif not key.startswith(UNUSED_PREFIXES):
            unexpected.append(key)
    if unexpected:
        log.warning("layout checkpoint: %d unexpected tensors ignored, e.g. %s", len(unexpected), unexpected[:3])
    return out


def config_from_tensors(tensors: dict[str, torch.Tensor]) -> LayoutNetConfig:
    """Sizes read from the shapes (heads: 64 channels each, as RoBERTa)."""
    try:
        vocab, dim = tensors["encoder.embed_tokens.weight"].shape
        layers = 1 + max(int(k.split(".")[2]) for k in tensors if k.startswith("encoder.layers."))
        ffn = tensors["encoder.layers.0.fc1.weight"].shape[0]
        positions = tensors["encoder.embed_positions.weight"].shape[0] - PAD_ID - 1
    except (KeyError, ValueError) as err:
        raise CheckpointError(f"not a SpaceTime/LayoutTransformer layout checkpoint (missing {err})") from None
    return LayoutNetConfig(vocab_size=vocab, dim=dim, layers=layers, heads=max(1, dim // 64), ffn=ffn,
                           max_positions=positions)


def build_net(tensors: dict[str, torch.Tensor], cfg: LayoutNetConfig, source: Path) -> LayoutNet:
    """A `LayoutNet` in eval mode holding exactly `tensors`; any missing or misshapen tensor is an error."""
    net = LayoutNet(cfg)
    expected = net.state_dict()
    missing = sorted(set(expected) - set(tensors))
    wrong = [f"{k} {tuple(tensors[k].shape)}!={tuple(v.shape)}" for k, v in expected.items()
             if k in tensors and tensors[k].shape != v.shape]
    if missing or wrong:
        detail = ", ".join((missing + wrong)[:4])
        raise CheckpointError(f"{source}: {len(missing)} missing and {len(wrong)} misshapen tensors ({detail})")
    net.load_state_dict({k: tensors[k].float() for k in expected})
    return net.eval()


def load_paper_net(path: str | Path) -> LayoutNet:
    """Load the paper's `.pth` checkpoint (or its safetensors conversion) into a `LayoutNet` in eval mode."""
    path = Path(path)
    tensors = paper_tensors(_read_state_dict(path))
    return build_net(tensors, config_from_tensors(tensors), path)


def convert_paper_checkpoint(src: str | Path, dst: str | Path, dtype: torch.dtype = torch.float16) -> Path:
    """One-time conversion to a safetensors file of the used tensors only (~250 MB in fp16 instead of ~1.8 GB)."""
    from safetensors.torch import save_file

    src, dst = Path(src), Path(dst)
    tensors = paper_tensors(_read_state_dict(src))
    config_from_tensors(tensors)
    renamed = {}
    for key, value in tensors.items():
        ours, theirs = next((o, t) for o, t in PREFIXES if key.startswith(o))
        renamed[theirs + key[len(ours):]] = value.to(dtype).contiguous()
    dst.parent.mkdir(parents=True, exist_ok=True)
    save_file(renamed, str(dst))
    return dst


# --- Predictors: the rule parser finds the objects, a LayoutNet places their centres -------------------------

BOX_MODES = ("paper", "prior", "learned")
PAPER_SIDE = 0.4  # the paper's ±0.2 square around each centre (its CLIP crop; the attention disc has radius 0.2)


def entity_heads(text: str) -> list[tuple[int, int]]:
    """Character span of the head noun of each entity's first mention, in the rule parser's entity order."""
    tokens = tokenize(text)
    mentions = find_mentions(tokens)
    count = len(link_entities(text, tokens, mentions))
    heads: dict[int, tuple[int, int]] = {}
    for mention in mentions:
        if mention.entity >= 0 and mention.entity not in heads:
            heads[mention.entity] = (tokens[mention.head].start, tokens[mention.head].end)
    return [heads[e] for e in range(count)]


def _fit(lo: float, hi: float) -> tuple[float, float]:
    """Shift [lo, hi] into [0, 1] keeping its length (clipped if longer than 1)."""
    shift = max(0.0, -lo) - max(0.0, hi - 1.0)
    return max(0.0, lo + shift), min(1.0, hi + shift)


def place_centres(layout: Layout, centres: list[list[float]], boxes: str,
                  sizes: list[list[float]] | None = None) -> Layout:
    """Move each entity's instances so that their common centre is the network's (clamped to [0, 1]).

    `boxes="paper"` gives every object the paper's 0.4 × 0.4 square, `"prior"` keeps the rule predictor's
    per-category size, `"learned"` uses `sizes` (w, h per entity, from a trained size head). Instances of
    a group keep their relative offsets.
    """
    if boxes not in BOX_MODES or (boxes == "learned" and sizes is None):
        raise ValueError(f"boxes must be one of {BOX_MODES} ('learned' needs a size head), got {boxes!r}")
    index = 0
    for entity, centre in enumerate(centres):
        first = layout.objects[index]
        members = layout.objects[index:index + first.count] if first.group is not None else [first]
        index += len(members)
        cx, cy = (min(max(v, 0.0), 1.0) for v in centre)
        mean_x = sum((o.box[0] + o.box[2]) / 2 for o in members) / len(members)
        mean_y = sum((o.box[1] + o.box[3]) / 2 for o in members) / len(members)
        for obj in members:
            ox = (obj.box[0] + obj.box[2]) / 2 - mean_x + cx
            oy = (obj.box[1] + obj.box[3]) / 2 - mean_y + cy
            if boxes == "paper":
                half_w = half_h = PAPER_SIDE / 2
            elif boxes == "learned":
                half_w, half_h = (min(v, 1.0) / 2 for v in sizes[entity])  # type: ignore[index]
            else:
                half_w, half_h = (obj.box[2] - obj.box[0]) / 2, (obj.box[3] - obj.box[1]) / 2
            x0, x1 = _fit(ox - half_w, ox + half_w)
            y0, y1 = _fit(oy - half_h, oy + half_h)
            obj.box = [x0, y0, x1, y1]
    return layout


class NetLayoutPredictor:
    """Rule-parser objects + `LayoutNet` centres; subclasses say how text becomes token ids."""

    name = "net"

    def __init__(self, net: LayoutNet, boxes: str = "paper", sample: bool = False):
        if boxes not in BOX_MODES or (boxes == "learned" and net.size_head is None):
            raise ValueError(f"boxes must be one of {BOX_MODES} ('learned' needs a size head), got {boxes!r}")
        self.net, self.boxes, self.sample = net.eval(), boxes, sample

    def encode(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Token ids (with <s>/</s>) and, per id, its character span ((0, 0) for specials)."""
        raise NotImplementedError

    def points(self, text: str, heads: list[tuple[int, int]], seed: int = 0
               ) -> tuple[list[list[float]], list[list[float]] | None]:
        """Raw network centre of each head-word span (not clamped), and its (w, h) if the net has a size head."""
        ids, spans = self.encode(text)
        if len(ids) > self.net.config.max_positions:
            raise LayoutError("text", f"too long for the layout network ({len(ids)} tokens, "
                                      f"at most {self.net.config.max_positions})")
        objects = torch.zeros(1, len(ids), dtype=torch.bool)
        firsts = []
        for start, end in heads:
            hit = [k for k, (s, e) in enumerate(spans) if s < end and e > start and e > s]
            objects[0, hit] = True
            firsts.append(hit[0] if hit else 0)
        with torch.no_grad():
            raw, size_raw = self.net(torch.tensor([ids]), objects)
        mix = gmm.split(raw[0, firsts])
        if self.sample:
            xy = gmm.sampled_mean(mix, torch.Generator().manual_seed(seed))
        else:
            xy = gmm.most_likely_mean(mix)
        sizes = size_raw[0, firsts, :2].exp().tolist() if size_raw is not None else None
        return xy.tolist(), sizes

    def predict(self, text: str, width: int = 512, height: int = 512, seed: int = 0) -> Layout:
        """A `Layout` with the rule parser's objects and relations, centres from the network."""
        layout = RuleLayoutPredictor().predict(text, width=width, height=height, seed=seed)
        entities = len({o.group if o.group is not None else ("single", k) for k, o in enumerate(layout.objects)})
        heads = entity_heads(text)[:entities]
        if heads:
            centres, sizes = self.points(text, heads, seed)
            place_centres(layout, centres, self.boxes, sizes)
        layout.predictor = self.name
        return layout


class PaperLayoutPredictor(NetLayoutPredictor):
    """The paper's checkpoint with GPT-2 byte-level BPE -> RoBERTa ids."""

    name = "paper"

    def __init__(self, net: LayoutNet, bpe: ByteLevelBPE, boxes: str = "paper", sample: bool = False):
        super().__init__(net, boxes, sample)
        self.bpe = bpe

    def encode(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        pieces = self.bpe.pieces(text)
        return [BOS_ID, *(p.id for p in pieces), EOS_ID], [(0, 0), *((p.start, p.end) for p in pieces), (0, 0)]


def load_paper_predictor(path: str | Path, vocab_dir: str | Path | None = None, boxes: str = "paper",
                         sample: bool = False) -> PaperLayoutPredictor:
    """The paper's predictor from its checkpoint; `vocab.json` + `merges.txt` (roberta-base) are looked up
    next to the checkpoint unless `vocab_dir` is given. Deterministic unless `sample` (seeded, paper-like)."""
    path = Path(path)
    bpe = ByteLevelBPE.from_folder(vocab_dir or path.parent)
    net = load_paper_net(path)
    if net.config.vocab_size <= max(bpe.vocab.values()):
        raise CheckpointError(f"{path}: {net.config.vocab_size} token embeddings but the vocabulary has ids up to "
                              f"{max(bpe.vocab.values())}: not the roberta-base vocabulary of this checkpoint")
    return PaperLayoutPredictor(net, bpe, boxes, sample)
