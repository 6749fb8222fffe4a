"""The pack's public node ids (node_list.json) and which of them a given core registers."""
from __future__ import annotations

import json

from .paths import REPO

PUBLIC_IDS: list[str] = json.loads((REPO / "node_list.json").read_text())
# Registered only where the core has ComfyUI's own BOUNDING_BOX type (2026 cores; not the 0.3.75 host).
BOUNDING_BOX_IDS = {"SpaceTimeLayoutToBoundingBoxes"}


def expected_ids(core_has_bounding_boxes: bool) -> set[str]:
    return set(PUBLIC_IDS) if core_has_bounding_boxes else set(PUBLIC_IDS) - BOUNDING_BOX_IDS


def core_has_bounding_boxes(object_info: dict) -> bool:
    """Whether any core node of a running server produces or takes BOUNDING_BOX."""
    return '"BOUNDING_BOX"' in json.dumps({k: v for k, v in object_info.items() if not k.startswith("SpaceTime")})
