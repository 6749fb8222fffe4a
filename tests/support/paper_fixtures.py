"""Synthetic files in the paper pipeline's formats: checkpoint state, roberta vocabulary, COCO annotations."""
from __future__ import annotations

import json
import random
from pathlib import Path

import torch

from layout_model.bpe import _byte_to_unicode

VOCAB, DIM, LAYERS, FFN, POSITIONS = 50265, 128, 2, 256, 514
ENC = "encoder.model.encoder.sentence_encoder."


def synthetic_state(seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)

    def rand(*shape, scale=0.05):
        return torch.randn(*shape, generator=gen) * scale

    state = {
        ENC + "embed_tokens.weight": rand(VOCAB, DIM, scale=0.5),
        ENC + "embed_positions.weight": rand(POSITIONS, DIM, scale=0.5),
        ENC + "layernorm_embedding.weight": 1 + rand(DIM), ENC + "layernorm_embedding.bias": rand(DIM),
        ENC + "object_embedding": rand(1, DIM, scale=1.0),
        ENC + "version": torch.tensor([3.0]),
        "encoder.model.encoder.lm_head.dense.weight": rand(DIM, DIM),
        "encoder._float_tensor": torch.zeros(1),
        "bbox_head.Decoder.output_Layer.weight": rand(DIM, DIM, scale=0.2),
        "bbox_head.Decoder.output_Layer.bias": rand(DIM),
        "bbox_head.Decoder.box_predictor.xy_bivariate.weight": rand(30, DIM, scale=0.2),
        "bbox_head.Decoder.box_predictor.xy_bivariate.bias": rand(30),
        "bbox_head.Decoder.box_predictor.wh_bivariate.weight": rand(30, DIM + 64),
        "bbox_head.Decoder.decoder.layers.0.weight": rand(4, 4),
    }
    for i in range(LAYERS):
        p = f"{ENC}layers.{i}."
        for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
            state[p + f"self_attn.{name}.weight"] = rand(DIM, DIM, scale=0.15)
            state[p + f"self_attn.{name}.bias"] = rand(DIM)
        state[p + "fc1.weight"], state[p + "fc1.bias"] = rand(FFN, DIM, scale=0.1), rand(FFN)
        state[p + "fc2.weight"], state[p + "fc2.bias"] = rand(DIM, FFN, scale=0.1), rand(DIM)
        for ln in ("self_attn_layer_norm", "final_layer_norm"):
            state[p + ln + ".weight"], state[p + ln + ".bias"] = 1 + rand(DIM), rand(DIM)
    return state



MERGES = [("\u0120", "t"), ("h", "e"), ("\u0120t", "he"), ("\u0120", "b"), ("e", "d"), ("\u0120b", "ed"), ("o", "u"),
          ("c", "h"), ("ou", "ch"), ("\u0120", "c"), ("\u0120c", "ouch"), ("i", "s"), ("\u0120", "is"), ("e", "r"),
          ("\u0120", "s"), ("\u0120s", "i"), ("l", "v"), ("\u0120si", "lv"), ("\u0120silv", "er"), ("T", "he")]
SENTENCES = ["The silver bed is left of the couch.", "Hello world", "  two  spaces, café ünïcode 123!",
             "the bed's couch", "a\nnew line"]


def write_files(folder: Path) -> Path:
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for ch in _byte_to_unicode().values():
        vocab.setdefault(ch, len(vocab))
    for a, b in MERGES:
        vocab.setdefault(a + b, len(vocab))
    vocab["<mask>"] = len(vocab)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(f"{a} {b}" for a, b in MERGES) + "\n",
                                       encoding="utf-8")
    return folder



CATEGORIES = {1: "cat", 2: "dog", 3: "cup", 4: "bench"}
SIDES = {"left of": "to the left of", "right of": "to the right of", "above": "above", "below": "below"}


def tiny_coco(folder, images: int = 16, seed: int = 0):
    """Each image: two animals/things clearly apart, captions stating where they are."""
    rng = random.Random(seed)
    instances = {"images": [], "annotations": [], "categories": [{"id": k, "name": v} for k, v in CATEGORIES.items()]}
    captions = {"images": [], "annotations": []}
    for image_id in range(1, images + 1):
        instances["images"].append({"id": image_id, "width": 640, "height": 480, "file_name": f"{image_id}.jpg"})
        a, b = rng.sample(sorted(CATEGORIES), 2)
        horizontal = rng.random() < 0.5
        near, far = rng.uniform(0.15, 0.3), rng.uniform(0.7, 0.85)
        other = rng.uniform(0.35, 0.65)
        centre_a = (near, other) if horizontal else (other, near)
        centre_b = (far, other) if horizontal else (other, far)
        for category, (cx, cy) in ((a, centre_a), (b, centre_b)):
            w, h = 0.2 * 640, 0.25 * 480
            instances["annotations"].append({"id": len(instances["annotations"]) + 1, "image_id": image_id,
                                             "category_id": category, "bbox": [cx * 640 - w / 2, cy * 480 - h / 2, w, h],
                                             "area": w * h, "iscrowd": 0})
        relation = "left of" if horizontal else "above"
        for text in (f"A {CATEGORIES[a]} {SIDES[relation]} a {CATEGORIES[b]}.",
                     f"A photo of a {CATEGORIES[a]} and a {CATEGORIES[b]}."):
            captions["annotations"].append({"id": len(captions["annotations"]) + 1, "image_id": image_id,
                                            "caption": text})
    (folder / "instances.json").write_text(json.dumps(instances))
    (folder / "captions.json").write_text(json.dumps(captions))
    return folder / "instances.json", folder / "captions.json"
