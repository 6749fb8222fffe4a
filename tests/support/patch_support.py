"""Helpers for the attention-patch host tests: layouts, node calls, sampling, and layer capture + reference."""
from __future__ import annotations

from types import SimpleNamespace

import torch


def make_layout(boxes, phrases=None, prompts=None, width=512, height=512, end_boxes=None):
    """A duck-typed Layout (objects with phrase/noun/category/box/center/prompt/end_box, no mask);
    `end_boxes` gives each object's end box or None (does not move)."""
    phrases = phrases or [f"object {i}" for i in range(len(boxes))]
    objs = []
    for i, box in enumerate(boxes):
        noun = phrases[i].split()[-1]
        objs.append(SimpleNamespace(phrase=phrases[i], noun=noun, category=noun, count=1, box=list(box),
                                    center=None, prompt=(prompts[i] if prompts else None), mask=None,
                                    end_box=(end_boxes[i] if end_boxes else None)))
    return SimpleNamespace(objects=objs, relations=[], width=width, height=height)


TWO_BOXES = [[0.05, 0.1, 0.5, 0.9], [0.55, 0.2, 0.95, 0.75]]


def encode(clip, text: str):
    import nodes

    with torch.inference_mode():
        return nodes.CLIPTextEncode().encode(clip, text)[0]


def regions(comfy, clip, boxes=TWO_BOXES, phrases=("a red cat", "a blue dog"), overrides: str = ""):
    node = comfy.node_class("SpaceTimeRegionPromptEncode")
    with torch.inference_mode():
        return node.execute(clip, make_layout(boxes, list(phrases)), overrides=overrides).result[0]


def constant_weights(comfy, values):
    sw = comfy.pack_module("spacetime.step_weights")
    return sw.StepWeights(torch.tensor([[float(v)] * 2 for v in values]), relative=False)


def patch(comfy, model, regs, step_weights=None, **kw):
    node = comfy.node_class("SpaceTimeAttentionPatch")
    with torch.inference_mode():
        return node.execute(model, regs, step_weights, **kw).result[0]


def sample(model, positive, negative, height=128, width=128, steps=1, cfg=7.0, sampler="euler",
           scheduler="normal", seed=0, batch=1, latent_channels=4, **kw):
    import nodes

    latent = {"samples": torch.zeros(batch, latent_channels, height // 8, width // 8)}
    with torch.inference_mode():
        return nodes.common_ksampler(model, seed, steps, cfg, sampler, scheduler, positive, negative, latent,
                                     **kw)[0]["samples"]


def runtime(comfy, model, trace: bool = False):
    """The SpaceTime runtime on a patched model; with `trace`, it records every application from now on."""
    rt = comfy.pack_module("bridge.patch").find_runtime(model)
    if trace:
        rt.trace = []
    return rt


def attention_layers(comfy, model) -> dict:
    return comfy.pack_module("bridge.families.unet").attention_layers(model)


class LayerCapture:
    """attn2 input + output hooks that record what one layer saw and produced (clone the model first); with the
    patch's runtime, each record's "applied" is what the patch did in that call (None: left alone)."""

    def __init__(self, first_only: bool = True):
        self.records: list[dict] = []
        self._pending = None
        self.first_only = first_only
        self._seen: set = set()
        self._runtime = None

    def install(self, model, runtime=None) -> None:
        if runtime is not None and runtime.trace is None:
            runtime.trace = []
        self._runtime = runtime
        model.set_model_attn2_patch(self._in)
        model.set_model_attn2_output_patch(self._out)

    def _in(self, n, context, value, extra):
        key = (extra["block"][0], extra["block"][1], extra.get("block_index", 0))
        self._pending = {"key": key, "h": n.clone(), "context": context.clone(),
                         "cond_or_uncond": list(extra.get("cond_or_uncond") or [0]),
                         "shape": list(extra["activations_shape"]), "sigmas": extra.get("sigmas"),
                         "traced": len(self._runtime.trace) if self._runtime is not None else None}
        return n, context, value

    def _out(self, n, extra):
        rec, self._pending = self._pending, None
        if rec is not None and not (self.first_only and rec["key"] in self._seen):
            self._seen.add(rec["key"])
            rec["out"] = n.clone()
            traced = rec.pop("traced")
            trace = self._runtime.trace if self._runtime is not None else []
            rec["applied"] = trace[-1] if traced is not None and len(trace) > traced else None
            self.records.append(rec)
        return n


def reference_check(comfy, model, records, regs, weights, mode="guidance", mask_shape="box", radius=0.2,
                    atol=1e-5, pixel_masks=None) -> int:
    """Compare every captured layer with support.reference (the paper's equations). Returns layers checked.

    For mask_shape "mask", `pixel_masks` holds each region's source mask at image resolution (None: its box)."""
    from . import reference as ref
    layers = attention_layers(comfy, model)
    checked = 0
    for rec in records:
        attn2 = layers[rec["key"]]
        params = (attn2.to_q.weight, attn2.to_k.weight, attn2.to_v.weight, attn2.to_out[0].weight,
                  attn2.to_out[0].bias)
        heads = attn2.heads
        h, w = rec["shape"][-2:]
        if mask_shape == "box":
            masks = [ref.box_mask(b.tolist(), h, w) for b in regs.boxes]
        elif mask_shape == "mask":
            masks = [ref.box_mask(b.tolist(), h, w) if m is None else ref.sampled_mask(m, h, w)
                     for b, m in zip(regs.boxes, pixel_masks)]
        else:
            assert h == w, "reference disc masks are for square grids"
            masks = [ref.disc_mask(float(c[0]), float(c[1]), h, w, radius) for c in regs.centers]
        for i, mk in enumerate(masks):   # the pack's one deliberate deviation: an empty region gets its nearest cell
            if mk.sum() == 0:
                box = regs.boxes[i]
                cx, cy = (regs.centers[i] if mask_shape == "disc" else ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
                mk[min(int(float(cy) * h), h - 1) * w + min(int(float(cx) * w), w - 1)] = 1.0
        locals_ = [e[0] for e in regs.embeddings]
        chunks = rec["cond_or_uncond"]
        b = rec["h"].shape[0] // len(chunks)
        cond = [j for j, c in enumerate(chunks) if c == 0]
        unc = [j for j, c in enumerate(chunks) if c == 1]
        scale = float(rec["out"].abs().max()) + 1.0
        for k, j in enumerate(cond):
            u = (unc[k] if len(unc) == len(cond) else unc[0]) if unc else None
            for r in range(b):
                hc, D = rec["h"][j * b + r], rec["context"][j * b + r]
                got = rec["out"][j * b + r].double()
                if mode == "guidance":
                    hu = rec["h"][u * b + r] if u is not None else None
                    neg = rec["context"][u * b + r] if u is not None else regs.empty[0]
                    want, _ = ref.guidance(hc, hu, D, neg, locals_, masks, weights, params, heads)
                else:
                    want = ref.mix(hc, D, locals_, masks, weights, params, heads)
                err = float((got - want).abs().max())
                assert err <= atol * scale, f"{rec['key']} chunk {j} row {r}: max error {err} (scale {scale})"
        for j in unc:
            for r in range(b):
                want = ref.attention(rec["h"][j * b + r], rec["context"][j * b + r], *params, heads)
                err = float((rec["out"][j * b + r].double() - want).abs().max())
                assert err <= atol * scale, f"{rec['key']} uncond row changed: {err}"
        checked += 1
    return checked


def add_patched_and_vanilla_branches(prompt: dict, positive: list, negative: list, cfg: float, vae: list,
                                     patched: list, vanilla: list, scheduler: str = "simple") -> None:
    """Adds to an API prompt a KSampler -> VAEDecode -> PreviewImage branch for the patched model and one for the
    vanilla model (same seed and latent node ``latent``); their previews are ``patched_out`` and ``vanilla_out``."""
    for name, model in (("patched", patched), ("vanilla", vanilla)):
        prompt[f"{name}_ks"] = {"class_type": "KSampler", "inputs": {
            "model": model, "seed": 1, "steps": 2, "cfg": cfg, "sampler_name": "euler", "scheduler": scheduler,
            "positive": positive, "negative": negative, "latent_image": ["latent", 0], "denoise": 1.0}}
        prompt[f"{name}_dec"] = {"class_type": "VAEDecode", "inputs": {"samples": [f"{name}_ks", 0], "vae": vae}}
        prompt[f"{name}_out"] = {"class_type": "PreviewImage", "inputs": {"images": [f"{name}_dec", 0]}}


def preview_image(run, node: str):
    """The first image a PreviewImage node of an executor run saved, as a uint8 array."""
    import folder_paths
    import numpy as np
    from PIL import Image

    image = run.outputs[node]["images"][0]
    return np.asarray(Image.open(f"{folder_paths.get_directory_by_type(image['type'])}/{image['subfolder']}/"
                                 f"{image['filename']}"))
