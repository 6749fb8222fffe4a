"""Latency of an unrelated request (GET /system_stats) while the box editor's prediction route is under load.

Starts the real ComfyUI server (main.py --cpu) with the pack, times /system_stats idle, then under the load of
tests/support/route_load.py (one longest-prompt prediction from each of --editors editor ids at once plus a burst
of --burst from one editor), and prints median and max latency and how the predictions were answered.

usage: eval "$(tools/provision.sh)"; $SPACETIME_HOST_PYTHON benchmarks/bench_route_latency.py [--editors 40]
       [--burst 15] [--repeats 3]
"""
from __future__ import annotations

import argparse
import collections
import statistics

from support.route_load import probe_under_load, time_get
from support.server import start_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--editors", type=int, default=40)
    parser.add_argument("--burst", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    server = start_server()
    try:
        idle = [time_get(server) for _ in range(20)]
        print(f"idle: median {statistics.median(idle) * 1000:.1f} ms, max {max(idle) * 1000:.1f} ms")
        for run in range(args.repeats):
            result = probe_under_load(server, args.editors, args.burst)
            counts = dict(sorted(collections.Counter(result.statuses()).items()))
            print(f"load {run + 1}: median {result.median * 1000:.1f} ms, max {result.worst * 1000:.1f} ms over "
                  f"{len(result.latencies)} requests in {result.seconds:.1f} s; prediction answers {counts}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
