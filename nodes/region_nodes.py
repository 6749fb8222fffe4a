"""Region Prompt Encode: a layout's objects -> local text embeddings + geometry (`SPACETIME_REGIONS`)."""
from __future__ import annotations

import torch
from comfy_api.latest import io

from ..layout_model import LayoutError
from ..layout_model.regions import DEFAULT_TEMPLATE, end_boxes, layout_regions
from ..bridge.tokenizer import prompt_length
from ..spacetime.regions import Regions
from .types import Layout as LayoutType, Regions as RegionsType

NAME = "Region Prompt Encode"


def _encode(clip, text: str) -> tuple[torch.Tensor, torch.Tensor | None, int, dict[str, torch.Tensor]]:
    """The prompt's embedding, its pooled embedding, how many of its tokens are not padding, and the encoder's
    other tensors (what a model may read besides the embedding, e.g. Anima's T5 token ids)."""
    tokens = clip.tokenize(text)
    out = clip.encode_from_tokens(tokens, return_pooled=True, return_dict=True)
    cond, pooled = out.pop("cond"), out.pop("pooled_output", None)
    extras = {k: v for k, v in out.items() if isinstance(v, torch.Tensor)}
    return cond, pooled, prompt_length(tokens, int(cond.shape[1])), extras


class SpaceTimeRegionPromptEncode(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SpaceTimeRegionPromptEncode",
            display_name=NAME,
            category="conditioning/spacetime",
            description="Encodes one local description per layout object with the graph's CLIP (plus the empty "
                        "prompt as the baseline) and keeps each object's box and centre, for the SpaceTime "
                        "Attention Patch.",
            inputs=[
                io.Clip.Input("clip", tooltip="The text encoder of the model you sample with, the same one that "
                                              "encodes the main prompt: SD1.x CLIP, SDXL's dual CLIP, Flux's T5 + "
                                              "CLIP-L, Flux.2's Mistral or Klein's Qwen3, Chroma's, Cosmos's or "
                                              "PixArt's T5, SD3's CLIPs, "
                                              "Qwen-Image's Qwen2.5-VL, Z-Image's or Anima's Qwen3, Wan's "
                                              "UMT5."),
                LayoutType.Input("layout", tooltip="Objects with normalised boxes [x0, y0, x1, y1] (y down) and "
                                                   "centres, e.g. from Predict Layout or the box editor. Boxes "
                                                   "given an End keyframe in the editor move over a video's "
                                                   "frames."),
                io.String.Input("template", default=DEFAULT_TEMPLATE,
                                tooltip="Local description of each object; {phrase}, {noun} and {category} are "
                                        "replaced. The paper uses 'a photo of {phrase}'. An object's own prompt "
                                        "in the layout takes precedence."),
                io.String.Input("overrides", multiline=True, default="", optional=True,
                                tooltip="Optional: one line per object (in layout order) with its own local "
                                        "description; a blank line keeps the template / the layout's prompt."),
                io.String.Input("background", multiline=True, default="", optional=True,
                                tooltip="Optional: a description of the area outside every box (e.g. 'a sunny "
                                        "meadow'). It becomes one more region, last, covering what the boxes "
                                        "leave; give it a weight like any object. Empty: no background region."),
            ],
            outputs=[RegionsType.Output(display_name="regions",
                                        tooltip="Per-object local embeddings and geometry for the patch.")],
        )

    @classmethod
    def execute(cls, clip, layout, template=DEFAULT_TEMPLATE, overrides="", background="") -> io.NodeOutput:
        if clip is None:
            raise ValueError(f"{NAME}: clip is missing; connect the checkpoint's CLIP output")
        try:
            regions = layout_regions(layout, template, overrides, background)
        except LayoutError as err:
            raise ValueError(f"{NAME}: {err}") from None
        encoded = [_encode(clip, r.text) for r in regions]
        empty, empty_pooled, empty_length, empty_extras = _encode(clip, "")
        moving = end_boxes(regions)
        return io.NodeOutput(Regions(
            embeddings=[e[0] for e in encoded], pooled=[e[1] for e in encoded],
            boxes=torch.tensor([r.box for r in regions], dtype=torch.float32).reshape(-1, 4),
            centers=torch.tensor([r.center for r in regions], dtype=torch.float32).reshape(-1, 2),
            names=[r.name for r in regions], prompts=[r.text for r in regions], empty=empty,
            empty_pooled=empty_pooled, meta={"width": layout.width, "height": layout.height},
            shapes=[None if r.mask is None else torch.from_numpy(r.mask) for r in regions],
            lengths=[e[2] for e in encoded], empty_length=empty_length,
            background=bool(background and background.strip()), extras=[e[3] for e in encoded],
            empty_extras=empty_extras,
            end_boxes=None if moving is None else torch.tensor(moving, dtype=torch.float32).reshape(-1, 4)))


NODES = [SpaceTimeRegionPromptEncode]
