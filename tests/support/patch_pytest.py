"""Pytest plugin (``-p tests.support.patch_pytest``): do not import the pack root as a test package.

pytest >= 8 imports every ``__init__.py`` above a test file as a package during setup; the repository root's
``__init__.py`` is the ComfyUI entrypoint (``comfy_api`` imports, relative imports), which cannot be imported as a
plain package (no ComfyUI in the unit tier, no parent package in any tier), so every test errors in setup.
"""
from __future__ import annotations

from _pytest import python as _python

_original_setup = _python.Package.setup


def _setup(self) -> None:
    if (self.path / "pyproject.toml").exists() and (self.path / "nodes").is_dir():
        return  # the pack root: an entrypoint for ComfyUI, not a test package
    _original_setup(self)


_python.Package.setup = _setup
