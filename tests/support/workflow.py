"""UI workflow (what the frontend saves) -> API prompt (what /prompt and PromptExecutor take).

The frontend's graphToPrompt maps `widgets_values` onto a node's widget inputs in schema order; an INT
input with `control_after_generate` (or named seed / noise_seed, the frontend's default) stores one extra
value (e.g. "fixed") right after its own. A linked input takes the link even though its widget value is
still stored. This module does the same from an input-spec lookup, so the example workflows can run headless
in-process (specs from INPUT_TYPES) or be checked against a running server (specs from /object_info).
"""
from __future__ import annotations

from typing import Callable

from .paths import REPO

WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
VIRTUAL_NODES = {"Note", "MarkdownNote"}  # frontend-only nodes that never reach the server
MUTED, BYPASSED = 2, 4

InputSpec = Callable[[str], dict]


def _is_widget(kind, options: dict) -> bool:
    return (isinstance(kind, list) or kind in WIDGET_TYPES) and not options.get("forceInput")


def _has_control_value(kind, name: str, options: dict) -> bool:
    """Whether the frontend adds a control_after_generate widget (and so an extra stored value)."""
    if kind == "INT":
        return bool(options.get("control_after_generate", name in ("seed", "noise_seed")))
    return (isinstance(kind, list) or kind == "COMBO") and bool(options.get("control_after_generate"))


def ui_to_api(workflow: dict, input_spec: InputSpec) -> dict:
    """Converts a UI workflow; input_spec(class_type) returns {"required": {...}, "optional": {...}} in order."""
    links = {link[0]: link for link in workflow.get("links", [])}  # [id, from, from_slot, to, to_slot, type]
    prompt: dict[str, dict] = {}
    for node in workflow["nodes"]:
        if node["type"] in VIRTUAL_NODES:
            continue
        if node.get("mode", 0) in (MUTED, BYPASSED):
            raise ValueError(f"node {node['id']} ({node['type']}) is muted or bypassed; not supported here")
        spec = input_spec(node["type"])
        linked = {i["name"]: i["link"] for i in node.get("inputs", []) if i.get("link") is not None}
        values = list(node.get("widgets_values") or [])
        position = 0
        inputs: dict = {}
        for section in ("required", "optional"):
            for name, entry in (spec.get(section) or {}).items():
                kind, options = entry[0], (entry[1] if len(entry) > 1 and isinstance(entry[1], dict) else {})
                if _is_widget(kind, options):
                    if position < len(values) and name not in linked:
                        inputs[name] = values[position]
                    position += 1 + _has_control_value(kind, name, options)
                if name in linked:
                    link = links[linked[name]]
                    inputs[name] = [str(link[1]), link[2]]
        prompt[str(node["id"])] = {"class_type": node["type"], "inputs": inputs}
    return prompt


def specs_from_classes(node_classes: dict) -> InputSpec:
    """Input specs of the in-process host (nodes.NODE_CLASS_MAPPINGS)."""
    return lambda class_type: node_classes[class_type].INPUT_TYPES()


def specs_from_object_info(object_info: dict) -> InputSpec:
    """Input specs of a running server's GET /object_info, ordered by its input_order."""

    def spec(class_type: str) -> dict:
        info = object_info[class_type]
        order = info.get("input_order", {})
        return {section: {name: info["input"][section][name]
                          for name in order.get(section, info["input"].get(section, {}))}
                for section in ("required", "optional") if section in info["input"]}

    return spec


EXAMPLE_DIR = REPO / "example_workflows"


def example_names() -> list[str]:
    """Every example workflow the pack ships (ComfyUI lists each .json of example_workflows/ as a template)."""
    return sorted(p.stem for p in EXAMPLE_DIR.glob("*.json"))


# DiT graphs load model, text encoders and VAE separately; each becomes the test loader, whose (MODEL, CLIP, VAE)
# outputs sit at these indices
SPLIT_LOADERS = {"UNETLoader": 0, "DualCLIPLoader": 1, "CLIPLoader": 1, "VAELoader": 2}


def make_small(prompt: dict, loader: str | None, ckpt_name: str, vae_name: str | None = None) -> dict:
    """64 px, 2 steps, 9 frames (a video's: 3 latent frames), previews instead of saves (a video's frames
    too); the loader classes swapped when `loader` is given, except VAELoader when `vae_name` is: it stays and
    loads that file (for tiny models that come without a VAE)."""
    moved: dict[str, int] = {}
    for node_id, node in prompt.items():
        kind, inputs = node["class_type"], node["inputs"]
        if kind == "VAELoader" and vae_name:
            inputs["vae_name"] = vae_name
        elif kind == "CheckpointLoaderSimple" or (loader and kind in SPLIT_LOADERS):
            node["class_type"] = loader or kind
            node["inputs"] = {"ckpt_name": ckpt_name}
            if kind in SPLIT_LOADERS:
                moved[node_id] = SPLIT_LOADERS[kind]
        elif kind in ("EmptyLatentImage", "EmptySD3LatentImage", "EmptyFlux2LatentImage", "SpaceTimePredictLayout"):
            inputs["width"] = inputs["height"] = 64
        elif kind == "EmptyHunyuanLatentVideo":
            inputs.update(width=64, height=64, length=9)
        elif kind in ("KSampler", "SpaceTimeOptimizeStepWeights"):
            inputs["steps"] = 2
            if "iterations" in inputs:
                inputs["iterations"] = 1
        elif kind in ("SaveImage", "SaveAnimatedWEBP"):
            node["class_type"] = "PreviewImage"
            node["inputs"] = {"images": inputs["images"]}
    for node in prompt.values():
        for name, value in node["inputs"].items():
            if isinstance(value, list) and len(value) == 2 and value[0] in moved:
                node["inputs"][name] = [value[0], moved[value[0]]]
    return prompt
