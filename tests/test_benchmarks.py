"""`python -m benchmarks` runs and gives well-formed figures (tiny workloads; no wall-clock
assertions: speed depends on the machine)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from benchmarks import figures
from conftest import BIN, driver_path, load_manifest, read
from emu.pe import PeImage

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OURS = ["cold_start_s", "peak_rss_mb", "scan_images_per_s", "cpu_time_ratio_vs_bare_unicorn",
        "mem_time_ratio_vs_bare_unicorn", "native_irql_calls_per_s", "null_api_calls_per_s", "api_calls_per_s",
        "checked_allocs_per_s", "batch_drivers_per_s", "restore_us", "tb_cache_speedup", "wdf_calls_per_s",
        "fuzz_execs_per_s"]
PEERS = ["qiling_cpu_time_ratio_vs_bare_unicorn", "speakeasy_cpu_time_ratio_vs_bare_unicorn",
         "speakeasy_allocs_per_s", "allocs_ratio_vs_speakeasy", "qiling_restores_per_s",
         "speakeasy_fuzz_execs_per_s", "qiling_fuzz_execs_per_s", "fuzz_vs_speakeasy", "fuzz_vs_qiling"]


@pytest.mark.slow
def test_benchmarks_give_every_figure_and_null_for_failing_peers():
    # Peers that exist but fail (/bin/false prints nothing) must give null figures, not abort.
    env = dict(os.environ, HVCI_PEER_QILING="/bin/false", HVCI_PEER_SPEAKEASY="/bin/false")
    p = subprocess.run([sys.executable, "-m", "benchmarks", "--json", "--scale", "0.001"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    results = json.loads(p.stdout)
    assert sorted(results) == sorted(OURS + PEERS)
    for name in OURS:
        assert isinstance(results[name], float) and results[name] > 0, name
    for name in PEERS:
        assert results[name] is None, name


@pytest.mark.parametrize("name, export", [("cpu_loop", "BenchLoop"), ("mem_loop", "MemLoop")])
def test_bare_unicorn_baseline_runs_the_loops_to_their_c_results(name, export):
    expected = next(e for e in load_manifest()[name]["exports"] if e["name"] == export)["examples"]["1000"]
    image = PeImage.parse(read(name), f"{name}.sys")
    seconds, result = figures.bare_unicorn_call(image, image.exports()[export], 1000)
    assert seconds > 0 and result == expected
    assert figures.our_call(driver_path(name), export, 1000)[1] == expected


def test_session_rate_runs_with_the_rules_subscribed():
    from hooks.events import PoolRequest
    from verifier.session import Options, Session
    session = Session(driver_path("lookaside_loop"), read("lookaside_loop"), Options())
    session.run()
    assert session.kernel.events.wanted(PoolRequest)          # what session_seconds measures under
    assert figures.session_rate(BIN, "lookaside_loop.sys", "LookasideLoop", 10, per_round=2) > 0

