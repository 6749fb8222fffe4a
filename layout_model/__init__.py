"""Text -> layout (objects with boxes and relations) for the SpaceTime Attention pack.

Pure Python, no ComfyUI and no torch: `predict("a cat left of a dog")` returns a `Layout`
whose JSON form (`to_dict`, schema "spacetime-layout" v1) the nodes and box editor share.
"""

from .predictor import RuleLayoutPredictor, predict
from .schema import RELATIONS, SCHEMA, VERSION, Layout, LayoutError, LayoutObject

__all__ = ["Layout", "LayoutError", "LayoutObject", "RELATIONS", "RuleLayoutPredictor",
           "SCHEMA", "VERSION", "predict"]
