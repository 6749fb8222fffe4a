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
           scheduler="normal", seed=0, batch=1, latent_channels=4, frames=None, **kw):
    """The sampled latent of an empty latent at height x width px; with `frames`, a video latent of that many
    latent frames."""
    import nodes

    shape = (batch, latent_channels) + ((frames,) if frames is not None else ()) + (height // 8, width // 8)
    latent = {"samples": torch.zeros(shape)}
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
        check_attention_rows(rec, rec["h"], rec["context"], regs.empty[0], [e[0] for e in regs.embeddings], masks,
                             weights, params, heads, mode, atol, str(rec["key"]))
        checked += 1
    return checked


def check_rows(rec: dict, cond_want, uncond_want, atol: float, where: str) -> None:
    """Checks every row of one captured layer call (``h``, ``out``, ``cond_or_uncond``) against its reference, to
    `atol` times the output's scale (max |out| + 1): cond row ``i`` against ``cond_want(i, u)``, ``u`` the uncond
    row that guides it (same position in the matching uncond chunk, or in the only one; None when the call has no
    uncond rows), uncond row ``i`` against ``uncond_want(i)``."""
    chunks = rec["cond_or_uncond"]
    b = rec["h"].shape[0] // len(chunks)
    cond = [j for j, c in enumerate(chunks) if c == 0]
    unc = [j for j, c in enumerate(chunks) if c == 1]
    scale = float(rec["out"].abs().max()) + 1.0

    def check(row: int, want: torch.Tensor, label: str) -> None:
        err = float((rec["out"][row].double() - want).abs().max())
        assert err <= atol * scale, f"{where} {label}: max error {err} (scale {scale})"

    for k, j in enumerate(cond):
        u = (unc[k] if len(unc) == len(cond) else unc[0]) if unc else None
        for r in range(b):
            check(j * b + r, cond_want(j * b + r, None if u is None else u * b + r), f"chunk {j} row {r}")
    for j in unc:
        for r in range(b):
            check(j * b + r, uncond_want(j * b + r), f"uncond chunk {j} row {r} changed")


def check_attention_rows(rec: dict, h, context, empty: torch.Tensor, locals_, masks, weights, params, heads: int,
                         mode: str, atol: float, where: str, norms=None) -> None:
    """`check_rows` against support.reference's equations for one attention layer (`params`, `heads`, `norms`):
    guidance or mix on the cond rows (baseline `empty` when the call has no uncond rows), the plain layer on the
    uncond rows. `h` and `context` hold the call's rows as the reference reads them."""
    from . import reference as ref

    def cond_want(i: int, u: int | None) -> torch.Tensor:
        if mode != "guidance":
            return ref.mix(h[i], context[i], locals_, masks, weights, params, heads, norms)
        want, _ = ref.guidance(h[i], None if u is None else h[u], context[i], empty if u is None else context[u],
                               locals_, masks, weights, params, heads, norms)
        return want

    check_rows(rec, cond_want, lambda i: ref.attention(h[i], context[i], *params, heads, norms), atol, where)


def inside_regions(comfy, model, height: int, width: int) -> torch.Tensor:
    """``[height * width]`` bool: the cells of a patched model's token grid inside any region."""
    return runtime(comfy, model).region_masks(height, width).amax(dim=0) > 0


def assert_changes_only_inside(patched: torch.Tensor, vanilla: torch.Tensor, inside: torch.Tensor,
                               where: str = "") -> None:
    """Outputs ``[rows, cells, C]``: the cells outside `inside` are vanilla's bit for bit, the inside cells change."""
    assert torch.equal(patched[:, ~inside], vanilla[:, ~inside]), f"{where} outside cells changed"
    assert (patched[:, inside] - vanilla[:, inside]).abs().max() > 1e-3, f"{where} inside cells unchanged"


def assert_cond_region_cells_alone_change(patched: dict, vanilla: dict, inside: torch.Tensor, batch: int = 2) -> None:
    """One layer call with cond and uncond batched (`batch` rows each): the uncond rows are vanilla's bit for bit,
    and in the cond rows only the cells inside a region change (`assert_changes_only_inside`)."""
    chunks = patched["cond_or_uncond"]
    assert len(chunks) == 2 and patched["out"].shape[0] == 2 * batch, "cond and uncond were not batched"
    cond_rows = [batch * j + r for j, c in enumerate(chunks) if c == 0 for r in range(batch)]
    uncond_rows = [r for r in range(2 * batch) if r not in cond_rows]
    assert torch.equal(patched["out"][uncond_rows], vanilla["out"][uncond_rows])
    assert_changes_only_inside(patched["out"][cond_rows], vanilla["out"][cond_rows], inside)


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
