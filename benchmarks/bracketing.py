"""What the DiT benchmarks share: a clock chosen on the command line, ratios against the vanilla runs that bracket
each method run (a loaded machine's drifts cancel), and peak memory measured in a child process per method."""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
PEAK_TAG = "PEAK "


def add_timing_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="cpu: this process's CPU time, which other jobs on a shared machine barely move (with "
                             "one torch thread it is the step's work); wall: elapsed time")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads; keep 1 on a shared machine, where a second OpenMP thread waiting for a "
                             "busy core turns every small op into milliseconds")


def bracketed(vanilla: Callable[[], float], methods: dict[str, Callable[[], float]],
              repeats: int) -> dict[str, list[float]]:
    """V M1 V M2 V ...: each method's time over the mean of its two neighbouring vanilla times, `repeats` times."""
    ratios: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(repeats):
        before = vanilla()
        for name, run in methods.items():
            t = run()
            after = vanilla()
            ratios[name].append(t / ((before + after) / 2))
            before = after
    return ratios


def ratio_line(name: str, values: list[float]) -> str:
    return f"  {name:26s} {statistics.median(values):.3f}x  (runs: {', '.join(f'{v:.3f}' for v in values)})"


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith(field)).split()[1])


def report_peak(run: Callable[[], object]) -> None:
    """In a child process: run once (allocations settle), reset the high-water mark, run again, print the peak."""
    run()
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    before = _status_kib("VmRSS")
    run()
    print(PEAK_TAG + json.dumps({"peak_kib": _status_kib("VmHWM"), "before_kib": before}), flush=True)


def child_peak(code: str, method: str) -> dict[str, int]:
    """Run `code` (which ends in `report_peak`) in a fresh interpreter and read back its peak, in KiB."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    lines = [line for line in out.stdout.splitlines() if line.startswith(PEAK_TAG)]
    if not lines:
        raise RuntimeError(f"memory child for {method} failed:\n{out.stderr[-3000:]}")
    return json.loads(lines[-1][len(PEAK_TAG):])
