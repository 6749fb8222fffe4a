"""Filling an API-format ComfyUI workflow for one prompt, seed and mode.

Rules (also in docs/reproducing.md):
* text: `SpaceTimePredictLayout.text`, every `CLIPTextEncode` found upstream of a sampler's `positive`
  input, and any string input containing `{prompt}` (replaced) receive the prompt. The Predict Layout
  node's `layout_json` is cleared so each prompt gets its own layout.
* seed: every literal integer input named `seed` or `noise_seed` is set to the seed.
* mode: `optimised` runs the graph as given and needs a `SpaceTimeOptimizeStepWeights` node; `patched`
  bypasses the optimiser (its consumers are wired to its input of the same type); `vanilla` bypasses
  `SpaceTimeAttentionPatch` (the sampler's `model` is wired to the patch's `model` input). Nodes that no
  output needs any more (in vanilla: the whole pack) are then dropped, so vanilla runs on any server.
"""
from __future__ import annotations

import copy
from typing import Any

from . import ReproduceError

MODES = ("vanilla", "patched", "optimised")
PATCH, OPTIMISER, PREDICT = "SpaceTimeAttentionPatch", "SpaceTimeOptimizeStepWeights", "SpaceTimePredictLayout"
BYPASSED = {"vanilla": (PATCH,), "patched": (OPTIMISER,), "optimised": ()}
REQUIRED = {"vanilla": (), "patched": (PATCH,), "optimised": (PATCH, OPTIMISER)}
SEED_INPUTS = ("seed", "noise_seed")
# Where a bypassed node's output is taken from when the server cannot tell us its input types.
FALLBACK_INPUT = {PATCH: "model"}

Workflow = dict[str, dict[str, Any]]


def check_api_format(workflow: Any, source: str) -> Workflow:
    """An API-format graph is `{id: {class_type, inputs}}`; the UI format (nodes/links) is refused clearly."""
    if isinstance(workflow, dict) and "nodes" in workflow and "links" in workflow:
        raise ReproduceError(f"{source} is a UI workflow: save it with 'Export (API)' in ComfyUI")
    if not isinstance(workflow, dict) or not workflow or not all(
            isinstance(n, dict) and isinstance(n.get("class_type"), str) and isinstance(n.get("inputs"), dict)
            for n in workflow.values()):
        raise ReproduceError(f"{source} is not an API-format ComfyUI workflow ({{id: {{class_type, inputs}}}})")
    return workflow


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)


def _input_types(class_info: dict) -> dict[str, str]:
    spec = class_info.get("input", {})
    return {name: entry[0] for group in ("required", "optional") for name, entry in spec.get(group, {}).items()
            if isinstance(entry, list) and entry and isinstance(entry[0], str)}


def _bypass(workflow: Workflow, node_id: str, object_info: dict) -> None:
    node = workflow[node_id]
    info = object_info.get(node["class_type"])
    consumers = [(cid, name, value[1]) for cid, other in workflow.items()
                 for name, value in other["inputs"].items() if _is_link(value) and value[0] == node_id]
    for cid, name, slot in consumers:
        source = None
        if info:
            wanted = info.get("output", [])[slot] if slot < len(info.get("output", [])) else None
            source = next((n for n, t in _input_types(info).items()
                           if t == wanted and _is_link(node["inputs"].get(n))), None)
        source = source or FALLBACK_INPUT.get(node["class_type"])
        if source is None or not _is_link(node["inputs"].get(source)):
            raise ReproduceError(f"cannot bypass node {node_id} ({node['class_type']}): no linked input of the type "
                                 f"that {workflow[cid]['class_type']}.{name} expects")
        workflow[cid]["inputs"][name] = list(node["inputs"][source])


def _prune(workflow: Workflow, object_info: dict) -> None:
    """Keep output nodes and their ancestors (what ComfyUI would execute)."""
    keep: set[str] = set()
    stack = [nid for nid, n in workflow.items() if object_info.get(n["class_type"], {}).get("output_node")]
    while stack:
        nid = stack.pop()
        if nid in keep or nid not in workflow:
            continue
        keep.add(nid)
        stack.extend(v[0] for v in workflow[nid]["inputs"].values() if _is_link(v))
    for nid in set(workflow) - keep:
        del workflow[nid]


def _positive_encoders(workflow: Workflow) -> set[str]:
    found, seen = set(), set()
    stack = [n["inputs"]["positive"][0] for n in workflow.values() if _is_link(n["inputs"].get("positive"))]
    while stack:
        nid = stack.pop()
        if nid in seen or nid not in workflow:
            continue
        seen.add(nid)
        if workflow[nid]["class_type"] == "CLIPTextEncode":
            found.add(nid)
        else:
            stack.extend(v[0] for v in workflow[nid]["inputs"].values() if _is_link(v))
    return found


def fill(template: Workflow, text: str, seed: int, mode: str, object_info: dict) -> Workflow:
    """A copy of `template` for this prompt/seed/mode, pruned to what its output nodes need."""
    if mode not in MODES:
        raise ReproduceError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    workflow = copy.deepcopy(template)
    classes = {n["class_type"] for n in workflow.values()}
    absent = [c for c in REQUIRED[mode] if c not in classes]
    if absent:
        raise ReproduceError(f"mode {mode} needs a {' and a '.join(absent)} node in the workflow")
    for cls in BYPASSED[mode]:
        for nid in [nid for nid, n in workflow.items() if n["class_type"] == cls]:
            _bypass(workflow, nid, object_info)
    _prune(workflow, object_info)
    targets = 0
    encoders = _positive_encoders(workflow)
    for nid, node in workflow.items():
        inputs = node["inputs"]
        if node["class_type"] == PREDICT or nid in encoders:
            inputs["text"] = text
            targets += 1
        if node["class_type"] == PREDICT and "layout_json" in inputs:
            inputs["layout_json"] = ""
        for name, value in inputs.items():
            if isinstance(value, str) and "{prompt}" in value:
                inputs[name] = value.replace("{prompt}", text)
                targets += 1
            elif name in SEED_INPUTS and isinstance(value, int) and not isinstance(value, bool):
                inputs[name] = seed
    if not workflow:
        raise ReproduceError("the workflow has no output node (e.g. SaveImage) that the server knows")
    if not targets:
        raise ReproduceError("the workflow has no place for the prompt: add a CLIPTextEncode on the sampler's "
                             "positive input, a Predict Layout node, or a text input containing {prompt}")
    return workflow


def missing_classes(workflow: Workflow, object_info: dict) -> list[str]:
    """Node classes of `workflow` that the server does not have."""
    return sorted({n["class_type"] for n in workflow.values() if n["class_type"] not in object_info})
