"""Train a layout network on the user's COCO 2017 annotations: `python -m layout_model.train_coco ...`.

Examples come from two sources, as in the paper (§1.5): COCO captions, whose objects (found by the rule
parser) are matched to the largest instance of their category in that image (absolute targets, GMM
likelihood), and template sentences built from pairs of those instances ("a cat to the left of a dog"),
whose stated relation also drives the paper's hinge loss. Loss = hinge + lambda·(centre NLL + size NLL), lambda = 0.1
as in the paper. Every epoch is saved (safetensors + JSON); `--resume` continues from the last one.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import gmm
from .paper_checkpoint import CheckpointError, LayoutNet, LayoutNetConfig, entity_heads
from .trained import WordVocab, load_trained, save_trained

RELATION_WORDS = {"left of": ("to the left of", "left of", "on the left of"),
                  "right of": ("to the right of", "right of", "on the right of"),
                  "above": ("above", "over"), "below": ("below", "under", "beneath")}


class CocoFormatError(ValueError):
    """An annotation file is missing, not JSON, or not shaped like COCO's."""


@dataclass
class Example:
    """One sentence; per object its head-word span and target (cx, cy, w, h); relations (i, rel, j)."""

    text: str
    heads: list[tuple[int, int]]
    boxes: list[tuple[float, float, float, float]]
    relations: list[tuple[int, str, int]] = field(default_factory=list)


def _read(path: Path, what: str) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CocoFormatError(f"{what} file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CocoFormatError(f"{what} file {path} is not readable JSON: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise CocoFormatError(f"{path} is not a COCO {what} file (no 'annotations' list)")
    return data


def _category_name(name: str) -> str:
    """COCO-stuff names such as 'tree-merged' or 'wall-other' -> 'tree', 'wall'."""
    return name.lower().replace("-merged", "").replace("-other", "").replace("-stuff", "")


def load_coco(instances: Path, captions: Path, stuff: Path | None = None, max_images: int = 0
              ) -> tuple[dict[int, dict[str, tuple[float, float, float, float]]], dict[int, list[str]]]:
    """Per image: {category name: normalised (cx, cy, w, h) of its largest instance}, and its captions."""
    sources = [_read(instances, "instances")] + ([_read(stuff, "stuff")] if stuff else [])
    caps = _read(captions, "captions")
    try:
        sizes = {img["id"]: (float(img["width"]), float(img["height"])) for img in sources[0]["images"]}
        names = {c["id"]: _category_name(c["name"]) for src in sources for c in src["categories"]}
        best: dict[int, dict[str, tuple[float, tuple[float, float, float, float]]]] = {}
        for src in sources:
            for ann in src["annotations"]:
                if ann["image_id"] not in sizes:
                    continue
                x, y, w, h = (float(v) for v in ann["bbox"])
                iw, ih = sizes[ann["image_id"]]
                name, area = names[ann["category_id"]], w * h
                slot = best.setdefault(ann["image_id"], {})
                if name not in slot or area > slot[name][0]:
                    slot[name] = (area, ((x + w / 2) / iw, (y + h / 2) / ih, w / iw, h / ih))
        texts: dict[int, list[str]] = {}
        for ann in caps["annotations"]:
            if ann["image_id"] in best and isinstance(ann["caption"], str):
                texts.setdefault(ann["image_id"], []).append(ann["caption"].strip())
    except (KeyError, TypeError, ValueError) as err:
        raise CocoFormatError(f"COCO annotations are not shaped as expected (images/annotations/categories with "
                              f"id, width, height, bbox, category_id, caption): bad or missing {err}") from None
    ids = sorted(i for i in best if i in texts)
    if max_images:
        ids = ids[:max_images]
    if not ids:
        raise CocoFormatError("no image has both instances and captions: are these files from the same split?")
    return {i: {n: b for n, (_, b) in best[i].items()} for i in ids}, {i: texts[i] for i in ids}


def caption_examples(objects: dict[str, tuple[float, float, float, float]], captions: list[str]) -> list[Example]:
    """Caption objects (rule parser) matched by category or noun to the image's instances."""
    from .parser import parse

    examples = []
    for text in captions:
        entities = parse(text).entities
        heads, boxes = [], []
        for entity, head in zip(entities, entity_heads(text)):
            for key in (entity.category, entity.noun):
                if key and key in objects:
                    heads.append(head)
                    boxes.append(objects[key])
                    break
        if heads:
            examples.append(Example(text, heads, boxes))
    return examples


def template_examples(objects: dict[str, tuple[float, float, float, float]], rng: random.Random,
                      count: int) -> list[Example]:
    """'a <A> <relation words> a <B>.' for up to `count` pairs whose centres are clearly apart."""
    names = sorted(objects)
    pairs = [(a, b) for a in names for b in names if a != b]
    rng.shuffle(pairs)
    examples = []
    for a, b in pairs[:count]:
        dx, dy = objects[a][0] - objects[b][0], objects[a][1] - objects[b][1]
        if max(abs(dx), abs(dy)) < 0.1:
            continue
        relation = ("left of" if dx < 0 else "right of") if abs(dx) >= abs(dy) else ("above" if dy < 0 else "below")
        first = f"a {a}"
        text = f"{first} {rng.choice(RELATION_WORDS[relation])} a {b}."
        second_end = len(text) - 1
        heads = [(len(first) - len(a.split()[-1]), len(first)), (second_end - len(b.split()[-1]), second_end)]
        examples.append(Example(text, heads, [objects[a], objects[b]], [(0, relation, 1)]))
    return examples


def batch_tensors(examples: list[Example], vocab: WordVocab) -> dict[str, torch.Tensor]:
    """Padded ids, object masks, and per object/relation the (example, token) it is read at."""
    encoded = [vocab.encode(e.text) for e in examples]
    length = max(len(ids) for ids, _ in encoded)
    tokens = torch.full((len(examples), length), 1, dtype=torch.long)
    marks = torch.zeros((len(examples), length), dtype=torch.bool)
    rows, cols, targets, relations = [], [], [], []
    for b, (example, (ids, spans)) in enumerate(zip(examples, encoded)):
        tokens[b, :len(ids)] = torch.tensor(ids)
        firsts = []
        for start, end in example.heads:
            hit = [k for k, (s, e) in enumerate(spans) if s < end and e > start and e > s]
            marks[b, hit] = True
            firsts.append(hit[0])
        base = len(rows)
        rows += [b] * len(firsts)
        cols += firsts
        targets += example.boxes
        relations += [(base + i, rel, base + j) for i, rel, j in example.relations]
    return {"tokens": tokens, "objects": marks, "rows": torch.tensor(rows), "cols": torch.tensor(cols),
            "targets": torch.tensor(targets, dtype=torch.float32), "relations": relations}


def loss_terms(net: LayoutNet, batch: dict) -> dict[str, torch.Tensor]:
    """hinge (stated relations), centre NLL (GMM) and size NLL (Gaussian on log w, log h)."""
    raw, size_raw = net(batch["tokens"], batch["objects"])
    picked = raw[batch["rows"], batch["cols"]]
    mix = gmm.split(picked)
    targets = batch["targets"]
    xy_nll = gmm.nll(mix, targets[:, :2]).mean()
    size = size_raw[batch["rows"], batch["cols"]]
    log_sigma = size[:, 2:].clamp(-4, 4)
    z = (targets[:, 2:].clamp(min=1e-3).log() - size[:, :2]) / log_sigma.exp()
    wh_nll = (0.5 * z ** 2 + log_sigma).sum(-1).mean()
    hinges = [gmm.relation_hinge(gmm.split(picked[i]), gmm.split(picked[j]), rel) for i, rel, j in batch["relations"]]
    hinge = torch.stack(hinges).mean() if hinges else picked.new_zeros(())
    return {"hinge": hinge, "xy_nll": xy_nll, "wh_nll": wh_nll}


def prepare(args: argparse.Namespace) -> list[Example]:
    objects, captions = load_coco(args.instances, args.captions, args.stuff, args.max_images)
    rng = random.Random(args.seed)
    examples: list[Example] = []
    for n, image_id in enumerate(objects):
        examples += caption_examples(objects[image_id], captions[image_id])
        examples += template_examples(objects[image_id], rng, args.templates_per_image)
        if (n + 1) % 1000 == 0:
            print(f"prepared {n + 1}/{len(objects)} images, {len(examples)} examples", file=sys.stderr, flush=True)
    if not examples:
        raise CocoFormatError("no caption names an annotated object: nothing to train on")
    return examples


def train(args: argparse.Namespace) -> Path:
    """Prepare examples, build or resume the model, train with per-epoch checkpoints; returns the folder."""
    torch.manual_seed(args.seed)
    out = Path(args.out)
    examples = prepare(args)
    state = {"epochs_done": 0, "history": []}
    if args.resume and (out / "layout_model.json").exists():
        net, vocab, meta = load_trained(out)
        state = {"epochs_done": meta.get("epochs_done", 0), "history": meta.get("history", [])}
        print(f"resuming after epoch {state['epochs_done']}", file=sys.stderr)
    else:
        vocab = WordVocab.build((e.text for e in examples), args.min_count)
        net = LayoutNet(LayoutNetConfig(vocab_size=len(vocab.words), dim=args.dim, layers=args.layers,
                                        heads=args.heads, ffn=args.ffn or 4 * args.dim, max_positions=128,
                                        dropout=args.dropout, size_head=True))
    examples = [e for e in examples if len(vocab.encode(e.text)[0]) <= net.config.max_positions]
    set_dropout(net, args.dropout)
    optimizer = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=0.01)
    optimizer_path = out / "optimizer.pt"
    if state["epochs_done"] and optimizer_path.exists():
        optimizer.load_state_dict(torch.load(optimizer_path, map_location="cpu", weights_only=True))
    rng = random.Random(args.seed + state["epochs_done"])
    summary = {"examples": len(examples), "relations": sum(len(e.relations) for e in examples)}
    print(f"{summary['examples']} examples ({summary['relations']} stated relations), vocabulary "
          f"{len(vocab.words)}, {sum(p.numel() for p in net.parameters()) / 1e6:.2f} M parameters", file=sys.stderr)
    for epoch in range(state["epochs_done"], args.epochs):
        net.train()
        rng.shuffle(examples)
        batches = math.ceil(len(examples) / args.batch_size)
        totals = {"loss": 0.0, "hinge": 0.0, "xy_nll": 0.0, "wh_nll": 0.0}
        started = time.monotonic()
        for n in range(batches):
            terms = loss_terms(net, batch_tensors(examples[n * args.batch_size:(n + 1) * args.batch_size], vocab))
            loss = terms["hinge"] + args.nll_weight * (terms["xy_nll"] + terms["wh_nll"])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            for key, value in {"loss": loss, **terms}.items():
                totals[key] += float(value.detach()) / batches
            if (n + 1) % args.log_every == 0 or n + 1 == batches:
                print(f"\repoch {epoch + 1}/{args.epochs} batch {n + 1}/{batches} loss {float(loss.detach()):.4f} "
                      f"({(n + 1) / (time.monotonic() - started):.1f} batches/s)", end="", file=sys.stderr, flush=True)
        state = {"epochs_done": epoch + 1, "history": state["history"] + [{k: round(v, 5) for k, v in totals.items()}],
                 "data": summary}
        net.eval()
        save_trained(out, net, vocab, state)
        torch.save(optimizer.state_dict(), optimizer_path)
        print(f"\nepoch {epoch + 1}: " + ", ".join(f"{k} {v:.4f}" for k, v in totals.items()), file=sys.stderr)
    return out


def set_dropout(net: LayoutNet, p: float) -> None:
    for module in net.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m layout_model.train_coco", description=__doc__.splitlines()[0])
    parser.add_argument("--instances", required=True, type=Path, help="instances_train2017.json")
    parser.add_argument("--captions", required=True, type=Path, help="captions_train2017.json")
    parser.add_argument("--stuff", type=Path, help="stuff_train2017.json (optional)")
    parser.add_argument("--out", required=True, type=Path, help="model folder (layout_model.safetensors + .json)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--max-images", type=int, default=0, help="use only the first N images (0: all)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the model in --out (its saved sizes win over --dim/--layers/...)")
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--ffn", type=int, default=0, help="feed-forward width (default 4 × dim)")
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--nll-weight", type=float, default=0.1, help="lambda in hinge + lambda·NLL (the paper: 0.1)")
    parser.add_argument("--min-count", type=int, default=2, help="words seen fewer times become <unk>")
    parser.add_argument("--templates-per-image", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log-every", type=int, default=20, help="progress line every N batches")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.dim % args.heads:
        print(f"error: --dim {args.dim} is not divisible by --heads {args.heads}", file=sys.stderr)
        return 2
    try:
        out = train(args)
    except (CocoFormatError, CheckpointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"model saved in {out}; load it with layout_model.trained.load_trained_predictor({str(out)!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
