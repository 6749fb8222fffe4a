"""The running core has an adapter, and a prompt runs through PromptExecutor with the cache_args it gives.

The test id names the core (e.g. test_executor_takes_the_adapters_cache_args[0.33.0]), so a failure after a core
upgrade says which version's adapter is wrong.
"""
from __future__ import annotations

import os

import pytest

from support import cores


def _running_core() -> str:
    return cores.core_version(os.environ["COMFYUI_DIR"])


@pytest.mark.parametrize("version", [_running_core()])
def test_executor_takes_the_adapters_cache_args(comfy, version):
    assert comfy.core == version
    adapter = cores.adapter(version)
    assert adapter.VERSION == version
    prompt = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
              "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}}
    executor = comfy.execution.PromptExecutor(comfy.server, cache_type=comfy.execution.CacheType.CLASSIC,
                                              cache_args=adapter.executor_cache_args())
    ok, err, outputs, _ = comfy.validate(prompt)
    assert ok, err
    executor.execute(prompt, "core-adapter", {"client_id": None}, outputs)
    assert executor.success, executor.status_messages
    assert "2" in executor.history_result["outputs"]
