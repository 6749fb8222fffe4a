"""The fidelity lab: a tiny shapes world in which the pack's effect can be measured on a CPU.

Everything here imports without ComfyUI; modules that need it (`model`, `train`, `experiment`) import it lazily.
"""
