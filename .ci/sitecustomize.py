"""Make PyPI's CUDA-linked torchvision importable beside a CPU-only torch.

Before torchvision's first import, define the torchvision::nms/qnms operator schemas (no kernels) when its
compiled _C library cannot load. ComfyUI imports torchvision at start-up but the pack never calls those ops.
"""
import importlib.abc
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


sys.meta_path.insert(0, _TorchvisionOpsShim())
