"""Text -> layout (objects with boxes and relations) for the SpaceTime Attention pack.

Pure Python (Pillow only for `render.render_preview`), no ComfyUI and no torch at import time::

    >>> from layout_model import predict
    >>> layout = predict("The silver bed was situated to the right of the white couch.")
    >>> [(o.phrase, o.box) for o in layout.objects]            # doctest: +SKIP
    [('the silver bed', [0.4842, 0.3711, 1.0, 0.6289]), ('the white couch', [0.0, 0.3872, 0.5158, 0.6128])]
    >>> layout.relations
    [(0, 'right of', 1)]

`Layout.to_dict()` gives the versioned JSON form shared with the nodes and the box editor::

    {"schema": "spacetime-layout", "version": 1, "width": 512, "height": 512,
     "text": "...", "predictor": "rules",
     "objects": [{"phrase": "the silver bed", "noun": "bed", "category": "bed", "count": 1,
                  "group": null, "attributes": ["silver"], "box": [x0, y0, x1, y1],
                  "center": [x, y], "prompt": null}, ...],
     "relations": [[0, "right of", 1]]}

Choices worth knowing:

* Boxes are normalised to [0, 1], y down; `center` is always derived from `box`.
* "two dogs" becomes two objects, each with its own box and the phrase "a dog" (one thing per
  box, so its local description asks for one dog), both with `count` 2 and the same `group`;
  a relation on the group is listed for every instance. A bare plural counts 2,
  "several"/"a few" 3, "many" 4; one mention gives at most 8 instances, a layout at most 64
  objects (later entities are dropped).
* "X between A and B" is stored as the two triples (X, "between", A) and (X, "between", B).
* Empty text, or text that names nothing, gives a layout with no objects; text longer than
  20,000 characters raises `LayoutError` with `field == "text"`. Every such limit (text, phrase,
  canvas 64..8192 px, box tolerance) is defined once, in `schema.py`.
* `regions.layout_regions` turns a layout into the checked boxes and local descriptions that the
  region nodes consume.
* Same text and seed -> same layout; `seed` != 0 only jitters the starting positions and the
  side chosen for "next to", so relations still hold.
"""

from .predictor import RuleLayoutPredictor, predict
from .schema import RELATIONS, SCHEMA, VERSION, Layout, LayoutError, LayoutObject

__all__ = ["Layout", "LayoutError", "LayoutObject", "RELATIONS", "RuleLayoutPredictor",
           "SCHEMA", "VERSION", "predict", "load_paper_predictor", "load_trained_predictor",
           "CheckpointError", "TokenizerFilesError"]

# The neural predictors need torch: imported on first use so that `import layout_model` stays torch-free.
_LAZY = {"load_paper_predictor": "paper_checkpoint", "CheckpointError": "paper_checkpoint",
         "load_trained_predictor": "trained", "TokenizerFilesError": "bpe"}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
