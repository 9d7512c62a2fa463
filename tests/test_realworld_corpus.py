"""The real-world corpus: the fetcher's own checks, and every pinned driver run through benchmarks.realworld."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import struct
import subprocess
import sys
import zipfile

import pytest

import realworld
from realworld import FetchError, RealDriver, SourceUnavailable

LOADABLE_AT_LEAST = 33      # drivers Windows can load (Wine's .sys files are kept, as inputs to refuse)


def _seed_package(cache: str, driver: RealDriver, member: bytes) -> None:
    """Put a package in the cache as if the registry had delivered it (no network needed)."""
    folder = os.path.join(cache, "packages", driver.archive_key)
    os.makedirs(folder)
    with zipfile.ZipFile(os.path.join(folder, "pkg-1.0-py3-none-any.whl"), "w") as zf:
        zf.writestr(driver.member, member)


def test_sha256_mismatch_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HVCI_REALWORLD_CACHE", str(tmp_path))
    pinned = "0" * 64
    d = RealDriver("fake.sys", "pypi", "pkg==1.0", "pkg/fake.sys", pinned, kmdf=False)
    _seed_package(str(tmp_path), d, b"MZ not the pinned bytes")
    result = realworld.fetch_group([d])["fake.sys"]
    assert isinstance(result, FetchError) and not isinstance(result, SourceUnavailable)
    message = str(result)
    assert "\n" not in message
    assert "fake.sys" in message and "pkg==1.0" in message and pinned in message
    assert realworld._sha256(b"MZ not the pinned bytes") in message
    assert not os.path.exists(tmp_path / "fake.sys")          # nothing unverified lands in the cache

    # the same bytes under the right pin are accepted and cached
    good = dataclasses.replace(d, sha256=realworld._sha256(b"MZ not the pinned bytes"))
    path = realworld.fetch_group([good])["fake.sys"]
    assert isinstance(path, str) and open(path, "rb").read() == b"MZ not the pinned bytes"


def test_all_reports_mismatch_and_unavailable_source_in_one_line_each(tmp_path, monkeypatch, capsys):
    if shutil.which("apt-get") is None:
        pytest.skip("needs apt-get to ask Debian for a package that does not exist")
    monkeypatch.setenv("HVCI_REALWORLD_CACHE", str(tmp_path / "cache"))
    bad = RealDriver("bad.sys", "pypi", "pkg==1.0", "pkg/bad.sys", "0" * 64, kmdf=False)
    _seed_package(str(tmp_path / "cache"), bad, b"other bytes")
    gone = RealDriver("gone.sys", "deb", "hvci-verifier-no-such-package", "x/gone.sys", "0" * 64, kmdf=False)
    code = realworld.main(["--all", str(tmp_path / "out")], drivers={"bad.sys": bad, "gone.sys": gone})
    out = capsys.readouterr().out.splitlines()
    assert code == 1                                           # a wrong pin is an error, not a skip
    assert [line.split(":")[0] for line in out] == ["error bad.sys", "skip gone.sys"]
    assert "does not match" in out[0] and "apt-get download" in out[1]
    assert os.listdir(tmp_path / "out") == []


def test_manifest_entries_are_complete():
    drivers = realworld.DRIVERS.values()
    assert sum(d.loadable for d in drivers) >= LOADABLE_AT_LEAST
    # Wine's drivers (Debian, MinGW gcc) stay a minority: the corpus is about what Microsoft's toolchain builds
    assert sum(d.source == "deb" for d in drivers) < len(drivers) / 2
    for d in drivers:
        assert len(d.sha256) == 64 and d.name.endswith(".sys") and d.vendor, d.name
        assert all(kind in ("msi", "cab", "resource", "slice") for kind, _ in d.extract), d.name
        assert d.loadable or "user-mode" in d.why, d.name          # why Windows would not load it


def test_manifest_not_loadable_needs_a_reason(tmp_path):
    entry = {"name": "x.sys", "source": "pypi", "package": "p==1", "member": "x.sys", "sha256": "0" * 64,
             "kmdf": False, "loadable": False}
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"drivers": [entry]}))
    with pytest.raises(ValueError, match="x.sys.*why"):
        realworld.load_manifest(str(path))
    path.write_text(json.dumps({"drivers": [{**entry, "why": "imports kernel32.dll (a user-mode DLL)"}]}))
    assert not realworld.load_manifest(str(path))["x.sys"].loadable


def _cabinet(name: str, payload: bytes) -> bytes:
    """A one-file, uncompressed Microsoft cabinet, laid out as the CAB format documents it ([MS-CAB]:
    CFHEADER, one CFFOLDER with typeCompress 0, one CFFILE, one CFDATA block)."""
    name_z = name.encode() + b"\0"
    header, folder, file_ = 36, 8, 16 + len(name_z)
    data_at = header + folder + file_
    total = data_at + 8 + len(payload)
    cfheader = b"MSCF" + struct.pack("<IIIIIBBHHHHH", 0, total, 0, header + folder, 0, 3, 1, 1, 1, 0, 0, 0)
    cffolder = struct.pack("<IHH", data_at, 1, 0)
    cffile = struct.pack("<IIHHHH", len(payload), 0, 0, 0x21, 0, 0x20) + name_z
    cfdata = struct.pack("<IHH", 0, len(payload), len(payload)) + payload
    return cfheader + cffolder + cffile + cfdata


def test_cab_step_takes_one_file_out_of_a_cabinet():
    if shutil.which("cabextract") is None:
        pytest.skip("needs cabextract (Debian package cabextract)")
    cab = _cabinet("driver/sys/amd64/x.sys", b"MZ a driver")
    assert realworld._step(cab, ("cab", "driver/sys/amd64/x.sys"), "x.sys (test)") == b"MZ a driver"
    with pytest.raises(FetchError) as info:
        realworld._step(cab, ("cab", "driver/other.sys"), "x.sys (test)")
    assert str(info.value) == "x.sys (test): driver/other.sys is not in the cabinet"


@pytest.mark.realworld
@pytest.mark.slow
def test_whole_corpus_runs_without_a_dead_worker(tmp_path):
    from benchmarks.realworld import OUTCOMES, REFUSED, run_corpus

    results = realworld.fetch_all()
    wrong = {n: str(r) for n, r in results.items() if isinstance(r, FetchError) and not isinstance(r, SourceUnavailable)}
    assert not wrong
    fetched = {n: p for n, p in results.items() if isinstance(p, str)}
    if not fetched:
        pytest.skip("no package registry reachable")
    for name, path in fetched.items():
        shutil.copyfile(path, tmp_path / name)
    result = run_corpus(str(tmp_path), timeout=30)
    rows = {r["name"]: r for r in result["rows"]}
    assert sorted(rows) == sorted(fetched)                      # every driver produced a row
    for name, r in rows.items():
        assert not r.get("worker_died") and not r.get("exception"), (name, r.get("note"))
        assert r["outcome"] in OUTCOMES + (REFUSED,)
        # the tool refuses exactly the images Windows would not load, and runs every other one
        assert (r["outcome"] == REFUSED) == (not realworld.DRIVERS[name].loadable), (name, r.get("note"))
        assert r["kmdf"] == realworld.DRIVERS[name].kmdf, name  # the manifest's KMDF flag, from the imports
        assert r["ms_linker"] == (realworld.DRIVERS[name].source != "deb"), name   # only Wine's are GNU-linked
    assert result["summary"]["worker_died"] == result["summary"]["python_exceptions"] == 0


def test_benchmark_without_drivers_is_one_line_exit_2(tmp_path):
    p = subprocess.run([sys.executable, "-m", "benchmarks.realworld", str(tmp_path)], capture_output=True, text=True)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and str(tmp_path) in p.stderr and "realworld.py --all" in p.stderr


def test_benchmark_counts_refused_images_on_their_own_row(tmp_path):
    """A native image importing kernel32.dll (as Wine's .sys files do) is refused before DriverEntry: the
    benchmark counts it on the `refused` row, outside the non-KMDF totals and the goal line."""
    from benchmarks.realworld import REFUSED, render, run_corpus

    bin_dir = os.path.join(os.path.dirname(__file__), "drivers", "bin")
    good = open(os.path.join(bin_dir, "clean_gcc.sys"), "rb").read()
    (tmp_path / "clean_gcc.sys").write_bytes(good)
    (tmp_path / "wine_like.sys").write_bytes(good.replace(b"ntoskrnl.exe", b"kernel32.dll"))
    result = run_corpus(str(tmp_path), timeout=30, jobs=2)
    rows = {r["name"]: r for r in result["rows"]}
    assert rows["wine_like.sys"]["outcome"] == REFUSED
    assert rows["wine_like.sys"]["note"].startswith("imports user-mode DLLs (kernel32.dll)")
    assert rows["clean_gcc.sys"]["outcome"] == "success"     # static.c (CASE_CLEAN): DriverEntry creates its device, returns STATUS_SUCCESS
    s = result["summary"]
    assert s["refused"] == ["wine_like.sys"]
    assert s["totals"]["non-kmdf"] == {"success": 1, "failure": 0, "bugcheck": 0, "error": 0}
    assert s["goal_non_kmdf"] == {"drivers": 1, "finished": 1}
    # static.c's clean driver: DriverEntry, then CREATE and CLOSE on its device, then DriverUnload
    assert rows["clean_gcc.sys"]["entry_points"] == ["DriverEntry", "IRP_MJ_CREATE", "IRP_MJ_CLOSE", "DriverUnload"]
    assert rows["wine_like.sys"]["entry_points"] == [] and rows["clean_gcc.sys"]["later"] is None
    assert s["reached"] == {"past_driver_entry": 1, "later_errors": 0, "kmdf_queue_callbacks": 0, "kmdf": 0}
    text = render(result)
    assert "  refused               1: not loadable on Windows" in text
    assert "goal line (loadable non-KMDF): DriverEntry carried to an end (return or bug check) in 1 of 1 (100%)" in text


def test_benchmark_fuzzes_each_loadable_driver_and_says_why_not(tmp_path):
    """With a fuzz time, each driver that ran is fuzzed as `verifier fuzz` fuzzes it: fuzz_bench.sys
    takes inputs (its answers are plain: no finding); clean_gcc.sys handles nothing an input could
    carry (CREATE and CLOSE only), which its row and the summary say."""
    from benchmarks.realworld import render, run_corpus

    bin_dir = os.path.join(os.path.dirname(__file__), "drivers", "bin")
    for name in ("clean_gcc.sys", "fuzz_bench.sys"):
        shutil.copyfile(os.path.join(bin_dir, name), tmp_path / name)
    result = run_corpus(str(tmp_path), timeout=30, jobs=2, fuzz_s=1)
    rows = {r["name"]: r for r in result["rows"]}
    bench, clean = rows["fuzz_bench.sys"]["fuzz"], rows["clean_gcc.sys"]["fuzz"]
    assert bench["fuzzable"] and bench["execs"] > 0 and bench["edges"] > 0 and bench["findings"] == 0
    assert clean == {"fuzzable": False, "why": "the driver handles none of IRP_MJ_DEVICE_CONTROL, "
                     "IRP_MJ_INTERNAL_DEVICE_CONTROL, IRP_MJ_READ and IRP_MJ_WRITE: nothing to fuzz"}
    f = result["summary"]["fuzz"]
    assert (f["tried"], f["fuzzable"], f["with_findings"]) == (2, 1, 0)
    assert f["median_execs_per_s"] == bench["execs_per_s"]
    assert "fuzzing (1 s each, seed 0): 1 of 2 drivers take inputs" in render(result)
