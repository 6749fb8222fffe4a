"""Optimising the per-step weights of the SpaceTime patch (pure torch; no ComfyUI imports).

* `loop`       — the optimisation loop: Adam on the ``[R, G]`` weight table, pass bookkeeping, bad-loss checks.
* `context`    — `SamplingContext`: what an objective needs from the host (a CFG denoiser, the sigmas, the host's
                 sampler, progress, interrupt and progress-bar callbacks). The ComfyUI side lives in
                 the bridge package (``bridge/sampling.py``, ``bridge/probe.py``).
* `attention`  — objective ``attention`` (default): cross-attention of each object's tokens should fall inside its
                 region; truncated per-step gradients, no VAE, no CLIP, no back-propagation through time.
* `clip_score` — objective ``clip`` (the paper): CLIP image-text loss on the decoded image and object crops.
* `trajectory` — the differentiable Euler loop with per-step gradient checkpointing that ``clip`` back-propagates
                 through.
* `plot`       — the weights plot of `spacetime.plot` with the loss per pass underneath.
"""
