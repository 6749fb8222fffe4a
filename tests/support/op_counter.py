"""Counting what the patch asks of the device, on the CPU host: the aten ops that would launch a kernel and the
reads of tensor values on the host (each a host sync when the tensor lives on a GPU). Shared by the launch and
sync tests and by the benchmark's host-cost proxy."""
from __future__ import annotations

from collections import Counter

from torch.utils._python_dispatch import TorchDispatchMode

# ops that launch nothing: views, empty allocations and metadata queries
NO_LAUNCH = {"empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided", "sym_size", "sym_stride",
             "sym_numel", "sym_storage_offset", "is_same_size", "detach", "lift_fresh", "resize_"}
# ops that read a tensor's value on the host (item, bool, tolist of one element, torch.equal)
HOST_READS = {"_local_scalar_dense", "equal", "is_nonzero", "item"}


class OpCounter(TorchDispatchMode):
    """Counts the launching ops that reach the dispatcher while active, by name."""

    def __init__(self):
        super().__init__()
        self.ops: Counter = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        if not func.is_view and name not in NO_LAUNCH:
            self.ops[name] += 1
        return func(*args, **(kwargs or {}))

    @property
    def host_reads(self) -> int:
        return sum(self.ops[k] for k in HOST_READS)
