"""Object and relation accuracy of a batch run, as the paper's evaluation scripts define them (§7).

* object accuracy: a gold object counts as found if its class is among the detected labels with
  confidence >= 0.4 (presence only, no location or count);
* relation accuracy: with detections of confidence >= 0.5, a gold (a, rel, b) is counted only when both
  classes are detected, and is correct if any pair of distinct detected instances satisfies the rule on
  box centres (y down): left of <=> xa < xb, right of <=> xa > xb, above <=> ya < yb, below <=> ya > yb.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from layout_model.evaluate import relation_holds

from . import ReproduceError
from .detectors import Detection, Detector
from .prompts import Prompt, PromptSet
from .workflow import MODES

OBJECT_THRESHOLD, RELATION_THRESHOLD = 0.4, 0.5


def object_hits(gold: Prompt, detections: list[Detection]) -> int:
    labels = {label for label, score, _ in detections if score >= OBJECT_THRESHOLD}
    return sum(name in labels for name in gold.objects)


def _holds(relation: str, a: list[float], b: list[float]) -> bool:
    """The paper's centre rule on two detected boxes [x0, y0, x1, y1]."""
    return relation_holds(relation, ((a[0] + a[2]) / 2, (a[1] + a[3]) / 2), ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2))


def relation_hits(gold: Prompt, detections: list[Detection]) -> tuple[int, int]:
    """(correct, counted) over the gold relations of one image."""
    kept = [(label, box) for label, score, box in detections if score >= RELATION_THRESHOLD]
    correct = counted = 0
    for a, relation, b in gold.relations:
        firsts = [i for i, (label, _) in enumerate(kept) if label == a]
        seconds = [j for j, (label, _) in enumerate(kept) if label == b]
        if not firsts or not seconds:
            continue
        counted += 1
        correct += any(i != j and _holds(relation, kept[i][1], kept[j][1]) for i in firsts for j in seconds)
    return correct, counted


@dataclass
class Score:
    prompt_set: str
    mode: str
    images: int = 0
    objects_found: int = 0
    objects_total: int = 0
    relations_correct: int = 0
    relations_counted: int = 0
    relations_total: int = 0

    @property
    def object_accuracy(self) -> float | None:
        return self.objects_found / self.objects_total if self.objects_total else None

    @property
    def relation_accuracy(self) -> float | None:
        return self.relations_correct / self.relations_counted if self.relations_counted else None


def _detections(image_path: Path, detector: Detector, cache_name: str) -> list[Detection]:
    cache = image_path.with_name(image_path.stem + f".{cache_name}.json")
    if cache.exists():
        return [tuple(d) for d in json.loads(cache.read_text())]  # type: ignore[misc]
    with Image.open(image_path) as image:
        found = [(str(label), float(score), [float(v) for v in box]) for label, score, box in detector(image)]
    cache.write_text(json.dumps(found))
    return found


def score_run(run: Path, prompts: PromptSet, detector: Detector, cache_name: str = "detections") -> list[Score]:
    """One `Score` per mode found under `run` for the images of `prompts` (sidecars decide what is finished)."""
    gold = {p.key: p for p in prompts.prompts}
    scores: dict[str, Score] = {}
    for sidecar in sorted(run.glob("*/*_s*.json")):
        try:
            record = json.loads(sidecar.read_text())
        except ValueError:
            continue
        if not isinstance(record, dict) or record.get("key") not in gold:
            continue
        prompt = gold[record["key"]]
        score = scores.setdefault(record["mode"], Score(prompts.name, record["mode"]))
        for name in record.get("images", [])[:1]:
            found = _detections(sidecar.with_name(name), detector, cache_name)
            score.images += 1
            score.objects_found += object_hits(prompt, found)
            score.objects_total += len(prompt.objects)
            correct, counted = relation_hits(prompt, found)
            score.relations_correct += correct
            score.relations_counted += counted
            score.relations_total += len(prompt.relations)
    if not scores:
        raise ReproduceError(f"no finished images of prompt set {prompts.name} under {run}")
    return sorted(scores.values(), key=lambda s: (MODES.index(s.mode) if s.mode in MODES else len(MODES), s.mode))


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def markdown_table(scores: list[Score]) -> str:
    lines = ["| prompt set | mode | images | object accuracy | relation accuracy | relations counted |",
             "|---|---|---|---|---|---|"]
    for s in scores:
        lines.append(f"| {s.prompt_set} | {s.mode} | {s.images} | {_pct(s.object_accuracy)} "
                     f"({s.objects_found}/{s.objects_total}) | {_pct(s.relation_accuracy)} "
                     f"({s.relations_correct}/{s.relations_counted}) | {s.relations_counted}/{s.relations_total} |")
    return "\n".join(lines) + "\n"


def bar_plot(scores: list[Score], path: Path) -> None:
    """Grouped bars (object, relation accuracy) per mode, drawn with Pillow."""
    width, height, margin, bar = 120 + 140 * len(scores), 360, 50, 50
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    base = height - margin
    draw.line([(margin, base), (width - 20, base)], fill="black")
    for tick in range(0, 101, 25):
        y = base - tick * (height - 2 * margin) / 100
        draw.line([(margin - 4, y), (width - 20, y)], fill=(220, 220, 220))
        draw.text((8, y - 6), f"{tick}%", fill="black")
    colours = ((70, 110, 200), (230, 140, 40))
    for n, s in enumerate(scores):
        x = margin + 30 + n * 140
        for k, value in enumerate((s.object_accuracy, s.relation_accuracy)):
            if value is not None:
                top = base - value * (height - 2 * margin)
                draw.rectangle([x + k * bar, top, x + (k + 1) * bar - 6, base], fill=colours[k])
                draw.text((x + k * bar, top - 14), f"{100 * value:.0f}", fill="black")
        draw.text((x, base + 8), s.mode, fill="black")
    draw.text((margin, 10), f"{scores[0].prompt_set}: object (blue) and relation (orange) accuracy", fill="black")
    image.save(path)


def write_reports(scores: list[Score], out_dir: Path) -> dict[str, Path]:
    """`scores-<set>.md`, `.json` and `.png` in `out_dir`."""
    stem = out_dir / f"scores-{scores[0].prompt_set}"
    paths = {"markdown": stem.with_suffix(".md"), "json": stem.with_suffix(".json"), "plot": stem.with_suffix(".png")}
    paths["markdown"].write_text(markdown_table(scores))
    paths["json"].write_text(json.dumps([{**asdict(s), "object_accuracy": s.object_accuracy,
                                          "relation_accuracy": s.relation_accuracy} for s in scores], indent=1))
    bar_plot(scores, paths["plot"])
    return paths
