"""Predict Layout: text (or the box editor's edit, a linked layout, or core BOUNDING_BOXES) -> SPACETIME_LAYOUT
and a preview."""
from __future__ import annotations

import numpy as np
import torch
from comfy_api.latest import io

from ..layout_model import Layout, LayoutError, predict
from ..layout_model.pixel_boxes import boxes_to_layout
from ..layout_model.render import render_preview
from ..layout_model.schema import MAX_SEED, MAX_SIDE_PX, MIN_SIDE_PX, check_text
from . import types
from .bbox_nodes import core_box_types

CATEGORY = "conditioning/spacetime"


def layout_from_inputs(node: str, text: str, width: int, height: int, seed: int, layout_json: str,
                       predictor=None, bboxes=None, layout: Layout | None = None) -> Layout:
    """An edited layout (box editor / hand-written JSON) wins over a linked layout, which wins over core
    BOUNDING_BOXES, which win over prediction; errors name the node and the field.

    `predictor` is a loaded neural predictor (Load Layout Predictor); None means the built-in rule predictor."""
    try:
        check_text(text)
    except LayoutError as err:
        raise ValueError(f"{node}: {err}") from None
    field = "layout_json" if layout_json and layout_json.strip() else "layout" if layout is not None \
        else "bboxes" if bboxes is not None else "text"
    try:
        if field in ("layout_json", "layout"):
            chosen = Layout.from_json(layout_json) if field == "layout_json" else Layout.from_dict(layout.to_dict())
            chosen.width, chosen.height = width, height
            return chosen
        if field == "bboxes":
            return boxes_to_layout(bboxes, width, height, text)
        if predictor is not None:
            return predictor.predict(text, width=width, height=height, seed=seed)
        return predict(text, width=width, height=height, seed=seed)
    except LayoutError as err:
        raise ValueError(f"{node}: {field}: {err}") from None


def pil_to_image_tensor(picture) -> torch.Tensor:
    """PIL RGB picture -> ComfyUI IMAGE batch [1, H, W, 3] in [0, 1]."""
    array = np.asarray(picture.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array).unsqueeze(0)


def _bounding_boxes_input() -> list:
    """On cores with ComfyUI's own box types, an optional input that seeds the layout with their boxes."""
    box_types = core_box_types()
    if not box_types:
        return []
    return [io.MultiType.Input(
        "bboxes", types=box_types, optional=True,
        tooltip="Optional boxes from ComfyUI's Create Bounding Boxes (its elements keep each box's description "
                "as the name) or a detector, in pixels of width x height: one object per box, used instead of "
                "the prediction. An edit in the box editor still wins.")]


class PredictLayout(io.ComfyNode):
    """Turns the prompt into one box per object (rule parser + solver), or uses the box editor's edit."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SpaceTimePredictLayout",
            display_name="Predict Layout",
            category=CATEGORY,
            description="Finds the objects of the prompt, their attributes and spatial relations, and gives each "
                        "object a box. Edit the boxes in the editor on the node; the edit is saved with the "
                        "workflow and used instead of the prediction.",
            inputs=[
                io.String.Input("text", multiline=True, default="a red cat to the left of a blue dog",
                                tooltip="The prompt. Objects, counts, colours and relations such as 'left of', "
                                        "'above', 'on', 'next to', 'between' are read from it."),
                io.Int.Input("width", default=512, min=MIN_SIDE_PX, max=MAX_SIDE_PX, step=8,
                             tooltip="Image width in pixels; sets the layout's aspect ratio."),
                io.Int.Input("height", default=512, min=MIN_SIDE_PX, max=MAX_SIDE_PX, step=8,
                             tooltip="Image height in pixels; sets the layout's aspect ratio."),
                io.Int.Input("seed", default=0, min=0, max=MAX_SEED,
                             tooltip="Varies free placement choices (objects without a stated relation). "
                                     "The same text and seed always give the same layout."),
                io.String.Input("layout_json", default="", socketless=True,
                                tooltip="Edited layout as JSON, written by the box editor. When set it takes "
                                        "priority over the prediction; 'Reset' in the editor clears it."),
                types.LayoutPredictor.Input("predictor", optional=True,
                                            tooltip="Optional neural predictor from Load Layout Predictor (the "
                                                    "paper's checkpoint or a COCO-trained model). Unconnected: "
                                                    "the built-in rule parser and solver (no model file)."),
                types.Layout.Input("layout", optional=True,
                                   tooltip="Optional layout to show and edit in the box editor, e.g. from Layout "
                                           "from LLM Text or Masks to Layout (object masks are kept and follow "
                                           "their boxes). Used instead of the prediction and the bboxes; an edit "
                                           "in the box editor still wins. Its boxes are kept as fractions of "
                                           "this node's width x height."),
                *_bounding_boxes_input(),
            ],
            outputs=[
                types.Layout.Output(display_name="layout", tooltip="One box per object, with relations."),
                io.Image.Output(display_name="preview", tooltip="The boxes, labels and relation arrows."),
            ],
        )

    @classmethod
    def execute(cls, text: str, width: int, height: int, seed: int, layout_json: str = "",
                predictor=None, layout=None, bboxes=None) -> io.NodeOutput:
        layout = layout_from_inputs("Predict Layout", text, width, height, seed, layout_json, predictor, bboxes,
                                    layout)
        preview = pil_to_image_tensor(render_preview(layout))
        return io.NodeOutput(layout, preview, ui={"spacetime_layout": [layout.to_dict()]})


NODES = [PredictLayout]
