"""Make PyPI's CUDA-linked torchvision and torchaudio importable beside a CPU-only torch.

Both cores import torchvision and torchaudio at start-up; the pack never calls their compiled ops.
* torchvision: before its first import, define the torchvision::nms/qnms operator schemas (no kernels) when its
  compiled _C library cannot load.
* torchaudio: the newest release on PyPI (2.11.1) is linked against CUDA torch and cannot load its native
  libraries beside torch 2.13.0+cpu. Its loader (`torchaudio._extension.utils._load_lib`) is guarded so that a
  library that fails to load counts as absent, which torchaudio supports (pure-torch functions only). A torchaudio
  whose libraries do load is untouched.
"""
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys


class _TorchvisionOpsShim(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "torchvision":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("torchvision")
        if spec is None or not spec.submodule_search_locations:
            return spec
        import glob

        import torch

        pkg_dir = list(spec.submodule_search_locations)[0]
        libs = glob.glob(os.path.join(pkg_dir, "_C*.so"))
        try:
            if not libs:
                raise OSError("torchvision has no _C library")
            torch.ops.load_library(libs[0])
        except OSError:
            lib = torch.library.Library("torchvision", "DEF")
            lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
            lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
            sys.modules["_torchvision_ops_shim_lib"] = lib
        return spec


class _GuardedLoader(importlib.abc.Loader):
    """Runs torchaudio._extension.utils, then wraps its _load_lib so an unloadable library reads as absent."""

    def __init__(self, real):
        self.real = real

    def create_module(self, spec):
        return self.real.create_module(spec)

    def exec_module(self, module):
        self.real.exec_module(module)
        load = module._load_lib

        def _load_lib(lib):
            try:
                return load(lib)
            except OSError:
                return False

        module._load_lib = _load_lib


class _TorchaudioLoaderShim(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "torchaudio._extension.utils":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _GuardedLoader(spec.loader)
        return spec


sys.meta_path.insert(0, _TorchvisionOpsShim())
sys.meta_path.insert(0, _TorchaudioLoaderShim())
