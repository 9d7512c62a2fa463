"""Named speed figures, measured in one process on this machine: `python -m benchmarks [--quick] [--json]`.

Time ratios compare against bare Unicorn running the same machine code in the same run, so they
mean the same on any machine. Peers (Qiling, Speakeasy) are measured when installed with
benchmarks/setup_peers.sh; their figures are null otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys

from benchmarks import figures

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(os.path.dirname(HERE), "tests", "drivers", "bin")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller workloads (seconds, not minutes)")
    parser.add_argument("--json", action="store_true", help="print one JSON object of named figures")
    parser.add_argument("--scale", type=float, help="workload multiplier (default: 1 with --quick, else 5)")
    args = parser.parse_args(argv)
    scale = args.scale or (1 if args.quick else 5)

    def n(count: int) -> int:
        return max(1, int(count * scale))

    results: dict[str, float | None] = {}
    results["cold_start_s"] = figures.cold_start(os.path.join(CORPUS, "clean_gcc.sys"))
    # Only `verifier run` child processes so far: their peak is what one run costs.
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    results["scan_images_per_s"] = figures.scan_images_per_s(CORPUS, rounds=n(2))
    results.update(figures.jit_loops(CORPUS, iterations=n(40_000_000)))
    results["native_irql_calls_per_s"] = figures.export_rate(CORPUS, "irql_loop.sys", "IrqlLoop", n(2_000_000))
    results["null_api_calls_per_s"] = figures.export_rate(CORPUS, "api_loop.sys", "ApiLoop", n(200_000))
    results["api_calls_per_s"] = figures.session_rate(CORPUS, "lookaside_loop.sys", "LookasideLoop", n(20_000),
                                                      per_round=2)
    # A cheap framework call through KMDF's function table (kmdf_loop.sys binds in its entry point):
    # compare with null_api_calls_per_s, measured the same way on the cheapest export.
    results["wdf_calls_per_s"] = figures.export_rate(CORPUS, "kmdf_loop.sys", "WdfLoop", n(50_000), started=True)
    allocs = figures.session_rate(CORPUS, "alloc_loop.sys", "AllocLoop", n(50_000))
    results["checked_allocs_per_s"] = allocs
    peer_allocs = figures.speakeasy_rate(CORPUS, "alloc_loop.sys", "AllocLoop", n(200))
    results["speakeasy_allocs_per_s"] = peer_allocs
    results["allocs_ratio_vs_speakeasy"] = round(allocs / peer_allocs, 1) if peer_allocs else None
    results["qiling_restores_per_s"] = figures.qiling_restores_per_s(CORPUS, runs=n(20))
    results["batch_drivers_per_s"] = figures.batch_drivers_per_s(CORPUS, jobs=2)
    results.update(figures.snapshot_figures(CORPUS, rounds=n(1_000)))
    # The fuzzer's executor on fuzz_bench.sys; the peers' fuzz loops on the same inputs, and ours over theirs.
    results["fuzz_execs_per_s"] = figures.fuzz_execs_per_s(CORPUS, scale)
    results.update(figures.fuzz_vs_peers(CORPUS, scale, results["fuzz_execs_per_s"]))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for name, value in results.items():
            print(f"{name:36} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
