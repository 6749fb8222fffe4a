"""The patch's server tests' graphs: API prompts whose nodes hold their UI defaults, a patched and a vanilla branch
on the same seed, and what the two saved images say about the layout's boxes."""
from __future__ import annotations

import numpy as np


def with_defaults(object_info: dict, class_type: str, inputs: dict) -> dict:
    """The node's required widget inputs at their defaults, then `inputs` (what a new node holds in the UI)."""
    required = object_info[class_type]["input"]["required"]
    out = {name: spec[1]["default"] for name, spec in required.items()
           if len(spec) > 1 and isinstance(spec[1], dict) and "default" in spec[1]}
    return {**out, **inputs}


def add_saved_branches(nodes: dict, family: str, cfg: float, positive: list, negative: list) -> None:
    """Adds to `nodes` (id -> (class_type, inputs)) a KSampler -> VAEDecode -> SaveImage branch for the patched
    model ``patch`` and one for the vanilla model ``unet`` (seed 7, 2 steps, the latent ``latent``, the VAE ``vae``),
    saved as ``patched_save`` and ``vanilla_save``."""
    for branch, model in (("patched", ["patch", 0]), ("vanilla", ["unet", 0])):
        nodes[f"{branch}_ks"] = ("KSampler", {
            "model": model, "seed": 7, "steps": 2, "cfg": cfg, "sampler_name": "euler", "scheduler": "simple",
            "denoise": 1.0, "positive": positive, "negative": negative, "latent_image": ["latent", 0]})
        nodes[f"{branch}_decode"] = ("VAEDecode", {"samples": [f"{branch}_ks", 0], "vae": ["vae", 0]})
        nodes[f"{branch}_save"] = ("SaveImage", {"images": [f"{branch}_decode", 0],
                                                 "filename_prefix": f"spacetime_tests/{family}_{branch}"})


def api_prompt(object_info: dict, nodes: dict) -> dict:
    """`nodes` (id -> (class_type, inputs)) as an API prompt, every node with its widget defaults (`with_defaults`)."""
    return {node_id: {"class_type": kind, "inputs": with_defaults(object_info, kind, inputs)}
            for node_id, (kind, inputs) in nodes.items()}


def box_pixels(boxes: list[list[float]], size: int) -> np.ndarray:
    """``[size, size]`` bool: the pixels inside any of the relative boxes."""
    mask = np.zeros((size, size), dtype=bool)
    for x0, y0, x1, y1 in boxes:
        mask[round(y0 * size):round(y1 * size), round(x0 * size):round(x1 * size)] = True
    return mask


def branch_change(server, outputs: dict, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A finished run's per-pixel change from the vanilla image to the patched one (mean over RGB, read back over
    /view) and the pixels inside the layout node ``layout``'s boxes; asserts its two objects, both images
    size x size, and a vanilla image that is not flat (else nothing can tell the patch's change)."""
    boxes = [o["box"] for o in outputs["layout"]["spacetime_layout"][0]["objects"]]
    assert len(boxes) == 2, boxes
    patched, vanilla = (server.image(outputs[f"{b}_save"]["images"][0]) for b in ("patched", "vanilla"))
    assert patched.shape == vanilla.shape == (size, size, 3)
    assert vanilla.std() > 0.01, "the vanilla image is flat: the random model or VAE gives nothing to compare"
    return np.abs(patched - vanilla).mean(axis=-1), box_pixels(boxes, size)
