"""ComfyUI 0.33.0 (2026-08): what its private entry points take."""
from __future__ import annotations

VERSION = "0.33.0"


def executor_cache_args() -> dict:
    """PromptExecutor's cache_args as main.py's prompt_worker builds them, with no LRU or RAM cache.

    0.33 reads cache_args["ram_inactive"] at every execute (the headroom kept while idle); 0.3.75 had no such key.
    """
    return {"lru": 0, "ram": 0, "ram_inactive": 0}
