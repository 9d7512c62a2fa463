"""The real-world corpus: the fetcher's own checks, and every pinned driver run through benchmarks.realworld."""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

import realworld
from realworld import FetchError, RealDriver, SourceUnavailable


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
    assert len(drivers) >= 40
    # Wine's drivers (Debian, MinGW gcc) stay a minority: the corpus is about what Microsoft's toolchain builds
    assert sum(d.source == "deb" for d in drivers) < len(drivers) / 2
    for d in drivers:
        assert len(d.sha256) == 64 and d.name.endswith(".sys") and d.vendor, d.name
        assert all(kind in ("msi", "resource", "slice") for kind, _ in d.extract), d.name


@pytest.mark.realworld
@pytest.mark.slow
def test_whole_corpus_runs_without_a_dead_worker(tmp_path):
    from benchmarks.realworld import OUTCOMES, run_corpus

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
        assert r["outcome"] in OUTCOMES
        assert r["kmdf"] == realworld.DRIVERS[name].kmdf, name  # the manifest's KMDF flag, from the imports
        assert r["ms_linker"] == (realworld.DRIVERS[name].source != "deb"), name   # only Wine's are GNU-linked
    assert result["summary"]["worker_died"] == result["summary"]["python_exceptions"] == 0


def test_benchmark_without_drivers_is_one_line_exit_2(tmp_path):
    p = subprocess.run([sys.executable, "-m", "benchmarks.realworld", str(tmp_path)], capture_output=True, text=True)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and str(tmp_path) in p.stderr and "realworld.py --all" in p.stderr
