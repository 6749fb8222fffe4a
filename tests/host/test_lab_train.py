"""Lab training resumes exactly where it stopped, and its export is a checkpoint the lab's loader node accepts."""
from __future__ import annotations

import torch


def _ema(run) -> dict[str, torch.Tensor]:
    state = torch.load(run / "last.pt", weights_only=True)
    return {**state["ema_unet"], **{f"text.{k}": v for k, v in state["ema_text"].items()}}


def test_resumed_run_equals_uninterrupted_run_and_exports(comfy, tmp_path, capsys):
    from lab.experiment import boot_host
    from lab.graphs import LOADER
    from lab.train import main

    host = boot_host()
    torch.set_num_threads(1)
    common = ["--batch", "2", "--seed", "3", "--save-every", "1"]
    main(["--run", str(tmp_path / "straight"), "--steps", "3", *common])
    main(["--run", str(tmp_path / "split"), "--steps", "2", *common])
    main(["--run", str(tmp_path / "split"), "--steps", "3", *common])
    printed = capsys.readouterr().out
    assert printed.count("resumed at step 2") == 1
    straight, split = _ema(tmp_path / "straight"), _ema(tmp_path / "split")
    assert straight.keys() == split.keys()
    assert all(torch.equal(straight[k], split[k]) for k in straight)

    out = tmp_path / "export" / "lab_test.safetensors"
    out.parent.mkdir()
    main(["--run", str(tmp_path / "split"), "--export", str(out)])
    import folder_paths

    folder_paths.add_model_folder_path("checkpoints", str(out.parent))
    model = host.node_class(LOADER).execute(out.name).result[0]
    assert type(model.model.model_config) is host.sibling_module(LOADER, "model").lab_model_config_class()
