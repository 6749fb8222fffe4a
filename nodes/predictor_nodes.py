"""Load Layout Predictor: the paper's checkpoint or a layout model trained on COCO, from models/spacetime_layout.

A loader node (rather than a cache inside Predict Layout) lets ComfyUI's own output cache keep the network loaded
between prompts, the way checkpoint loaders do.
"""
from __future__ import annotations

from pathlib import Path

from comfy_api.latest import io

from ..bridge import folders
from . import types

FOLDER = "spacetime_layout"
NAME = "Load Layout Predictor"
TRAINED_MARKER = "layout_model.json"

folders.register_folder(FOLDER, {".pth", ".safetensors", ".json"})


def model_choices() -> list[str]:
    """Paper checkpoints (.pth / converted .safetensors) and trained model folders (their layout_model.json)."""
    names = folders.file_names(FOLDER)
    return [n for n in names if n.endswith((".pth", ".safetensors")) or Path(n).name == TRAINED_MARKER]


class LoadLayoutPredictor(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SpaceTimeLoadLayoutPredictor",
            display_name=NAME,
            category="conditioning/spacetime",
            description="Loads a neural layout predictor for Predict Layout: the paper's RoBERTa + GMM checkpoint "
                        "(checkpoint_90_0.0.pth with roberta-base vocab.json and merges.txt beside it) or a model "
                        "trained with `python -m layout_model.train_coco` (its folder's layout_model.json), all "
                        "from ComfyUI/models/spacetime_layout/.",
            inputs=[
                io.Combo.Input("model", options=model_choices(),
                               tooltip="A file in models/spacetime_layout: a paper checkpoint (.pth or converted "
                                       ".safetensors) or a trained model's layout_model.json."),
                io.Combo.Input("boxes", options=["paper", "prior", "learned"], default="paper",
                               tooltip="Box size around each predicted centre: paper = the paper's 0.4 square, "
                                       "prior = per-category size priors, learned = the trained model's size head "
                                       "(trained models only; paper checkpoints fall back to prior)."),
                io.Boolean.Input("sample", default=False,
                                 tooltip="Off: deterministic (most likely mixture component). On: draw the "
                                         "component like the paper, seeded by Predict Layout's seed."),
            ],
            outputs=[types.LayoutPredictor.Output(display_name="predictor",
                                                  tooltip="Connect to Predict Layout's predictor input.")],
        )

    @classmethod
    def execute(cls, model: str, boxes: str, sample: bool) -> io.NodeOutput:
        from ..layout_model.bpe import TokenizerFilesError
        from ..layout_model.paper_checkpoint import CheckpointError, load_paper_predictor
        from ..layout_model.trained import load_trained_predictor

        path = folders.full_path(FOLDER, model) if model else None
        if not path:
            raise ValueError(f"{NAME}: model {model!r} is not in models/{FOLDER}; put the paper's checkpoint or a "
                             "trained model folder there and refresh.")
        try:
            if Path(path).name == TRAINED_MARKER:
                predictor = load_trained_predictor(Path(path).parent, boxes=boxes, sample=sample)
            else:
                predictor = load_paper_predictor(path, boxes="prior" if boxes == "learned" else boxes, sample=sample)
        except (CheckpointError, TokenizerFilesError, OSError) as err:
            raise ValueError(f"{NAME}: model: {err}") from None
        return io.NodeOutput(predictor)


NODES = [LoadLayoutPredictor]
