"""The SpaceTime Attention method in plain torch (no ComfyUI imports).

* `regions`      — `Regions`: per-object local embeddings and geometry, box validation.
* `masks`        — region masks at any attention resolution (box / disc, feathering) and their gather indices.
* `step_weights` — `StepWeights`: per-region weights on a sampler-independent progress grid.
* `combine`      — the two combination formulas ("guidance" and "mix", docs/method.md section 1) on attention outputs.
"""
