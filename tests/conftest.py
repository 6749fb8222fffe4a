"""Fixtures shared by every tier; the host is booted lazily, so the unit tier never imports ComfyUI."""
from __future__ import annotations

import os

import pytest


def _core_line() -> str:
    """Which ComfyUI core this process tests, read from the tree tools/test.sh provisioned (no ComfyUI import)."""
    comfy_dir = os.environ.get("COMFYUI_DIR")
    if not comfy_dir:
        return "ComfyUI core: none (COMFYUI_DIR unset; run through tools/test.sh)"
    from support.cores import core_version

    try:
        return f"ComfyUI core: {core_version(comfy_dir)} ({comfy_dir})"
    except (OSError, ValueError) as err:
        return f"ComfyUI core: unknown ({err})"


def pytest_report_header(config) -> str:
    return _core_line()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Repeat the core at the end, beside the failures, so a failing run says which core it ran on."""
    if exitstatus not in (0, 5):
        terminalreporter.write_line(f"failed on {_core_line()}")


@pytest.fixture(scope="session")
def comfy():
    """The real ComfyUI host, booted once per test process with the pack loaded."""
    from support.comfy_host import boot

    return boot()


@pytest.fixture(scope="session")
def tiny_sd15(comfy):
    from support.models import tiny_sd15

    return tiny_sd15()


@pytest.fixture(scope="session")
def tiny_sdxl(comfy):
    from support.models import tiny_sdxl

    return tiny_sdxl()


@pytest.fixture(scope="session")
def tiny_flux(comfy):
    from support.models import tiny_flux

    return tiny_flux()


@pytest.fixture(scope="session")
def tiny_chroma(comfy):
    from support.models import tiny_chroma

    return tiny_chroma()


@pytest.fixture(scope="session")
def tiny_flux2(comfy):
    from support.models import tiny_flux2

    return tiny_flux2()


@pytest.fixture(scope="session")
def tiny_sd3(comfy):
    from support.models import tiny_sd3

    return tiny_sd3()


@pytest.fixture(scope="session")
def tiny_qwen_image(comfy):
    from support.models import tiny_qwen_image

    return tiny_qwen_image()


@pytest.fixture(scope="session")
def tiny_z_image(comfy):
    from support.models import tiny_z_image

    return tiny_z_image()


@pytest.fixture(scope="session")
def tiny_cosmos(comfy):
    from support.models import tiny_cosmos

    return tiny_cosmos()


@pytest.fixture(scope="session")
def tiny_anima(comfy):
    from support.models import tiny_anima

    return tiny_anima()


@pytest.fixture(scope="session")
def full_sd15_checkpoint(comfy):
    """Name of the full-size random SD1.5 checkpoint (generated once into the tests' own models folder, which this
    host and the test servers list among their checkpoints)."""
    import folder_paths

    from support.models import ensure_full_sd15_checkpoint, move_out_of_host
    from support.paths import test_models_dir

    checkpoints = test_models_dir() / "checkpoints"
    folder_paths.add_model_folder_path("checkpoints", str(checkpoints))
    move_out_of_host(folder_paths.get_folder_paths("checkpoints")[0], checkpoints)
    return ensure_full_sd15_checkpoint(checkpoints).name


@pytest.fixture(scope="session")
def comfy_server(tmp_path_factory):
    """The real ComfyUI server (main.py) with the pack, on a free loopback port, for the whole session; a tiny
    random CLIP model folder is offered to it as models/spacetime_clip/tiny-clip, and the tests' own checkpoints
    folder among its checkpoints."""
    from support.clip_fixtures import extra_model_paths_yaml
    from support.paths import test_models_dir
    from support.server import start_server

    yaml = extra_model_paths_yaml(tmp_path_factory.mktemp("server-models"), test_models_dir() / "checkpoints")
    server = start_server(["--extra-model-paths-config", str(yaml)])
    yield server
    server.stop()


@pytest.fixture
def one_thread():
    """Tiny tensors on a shared 2-core machine: one intra-op thread is ~20x faster than two."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
