"""The in-process host's device arguments: CPU unless a GPU run asks for CUDA explicitly (CI never does)."""
from __future__ import annotations

import pytest

from support.comfy_host import host_args


def test_default_is_cpu():
    assert host_args({}) == ["--cpu"]
    assert host_args({"SPACETIME_HOST_DEVICE": ""}) == ["--cpu"]
    assert host_args({"SPACETIME_HOST_DEVICE": "cpu", "SPACETIME_HOST_ARGS": ""}) == ["--cpu"]


def test_cuda_drops_cpu_and_keeps_extra_args():
    assert host_args({"SPACETIME_HOST_DEVICE": "cuda"}) == []
    assert host_args({"SPACETIME_HOST_DEVICE": "CUDA", "SPACETIME_HOST_ARGS": " --bf16-unet "}) == ["--bf16-unet"]


def test_unknown_device_is_refused():
    with pytest.raises(ValueError, match="SPACETIME_HOST_DEVICE"):
        host_args({"SPACETIME_HOST_DEVICE": "mps"})
