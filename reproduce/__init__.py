"""Reproducing the paper's experiments: prompt-set batch runs over ComfyUI's HTTP API, and their evaluation.

`python -m reproduce run ...` renders every prompt of a set in each mode (vanilla / patched / optimised)
through a running ComfyUI; `python -m reproduce score ...` measures object and relation accuracy of the
images with a pluggable detector. See docs/reproducing.md.
"""


class ReproduceError(Exception):
    """A problem the user can fix (bad file, unreachable server, missing node): reported in one line."""
