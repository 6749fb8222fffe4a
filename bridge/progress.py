"""Denoising progress from sigmas, on ComfyUI's percent scale (the axis of the step-weight grid).

ComfyUI hands the attention hooks sigmas, not step indices; inverting ``model_sampling.percent_to_sigma`` gives
weights that mean the same with every sampler, scheduler and step count.
"""
from __future__ import annotations

import copy
from typing import Any

import torch

ProgressTable = tuple[torch.Tensor, torch.Tensor]


def model_sampling_on_cpu(model_sampling: Any) -> Any:
    """`model_sampling` itself, or a CPU copy of it when its tensors live on another device.

    On a GPU every ``percent_to_sigma`` launches a few tiny kernels and reads its result back (a host sync); the
    progress table calls it a thousand times per sampling run."""
    if not isinstance(model_sampling, torch.nn.Module):
        return model_sampling
    tensors = [*model_sampling.parameters(), *model_sampling.buffers()]
    if all(t.device.type == "cpu" for t in tensors):
        return model_sampling
    try:
        return copy.deepcopy(model_sampling).to("cpu")
    except Exception:  # an exotic model_sampling that cannot be copied: slow but correct
        return model_sampling


def progress_table(model_sampling: Any, points: int = 1001) -> ProgressTable:
    """``(log sigma ascending, progress)`` sampled from ``percent_to_sigma`` at interior percents (on the CPU)."""
    model_sampling = model_sampling_on_cpu(model_sampling)
    ps = torch.linspace(0.0, 1.0, points, dtype=torch.float64)[1:-1]
    sig = torch.tensor([float(model_sampling.percent_to_sigma(float(p))) for p in ps], dtype=torch.float64)
    keep = sig > 0
    logs, ps = sig[keep].log(), ps[keep]
    order = torch.argsort(logs)
    return logs[order], ps[order]


def sigma_to_progress(sigma: torch.Tensor, table: ProgressTable) -> torch.Tensor:
    """Denoising progress in [0, 1] of each sigma (0 = pure noise, 1 = clean), ComfyUI's percent scale, on the CPU.

    Linear in log sigma between table points, extrapolated by the end segments (the table stops at 0.1 % and
    99.9 %), clamped to [0, 1]; sigma <= 0 is progress 1."""
    return _interpolate(sigma.detach().to(torch.float64).flatten().cpu(), table)


def table_on(table: ProgressTable, device: Any) -> ProgressTable:
    """`table` on `device` (float64 where the device has it), for `sigma_to_progress_on`."""
    dtype = torch.float32 if torch.device(device).type == "mps" else torch.float64
    return table[0].to(device=device, dtype=dtype), table[1].to(device=device, dtype=dtype)


def sigma_to_progress_on(sigma: torch.Tensor, table: ProgressTable) -> torch.Tensor:
    """`sigma_to_progress` computed where `table` lives: no value is read on the host (on a GPU a read would wait
    for every queued kernel)."""
    return _interpolate(sigma.detach().to(device=table[0].device, dtype=table[0].dtype).flatten(), table)


def _interpolate(s: torch.Tensor, table: ProgressTable) -> torch.Tensor:
    logs, ps = table
    ls = s.clamp(min=1e-30).log()
    idx = torch.searchsorted(logs, ls).clamp(1, logs.numel() - 1)
    x0, x1 = logs[idx - 1], logs[idx]
    y0, y1 = ps[idx - 1], ps[idx]
    out = y0 + (y1 - y0) * (ls - x0) / (x1 - x0).clamp(min=1e-12)
    out = torch.where(s <= 0, torch.ones_like(out), out)
    return out.clamp(0.0, 1.0).to(torch.float32)
