"""`verifier run` options beyond the rules: budgets, --continue de-duplication, --strict, profiles."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import BIN, driver_path, load_manifest, read
from verifier.cli import main
from verifier.session import Options, Session

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_manifest_driver_is_built():
    missing = [n for n in load_manifest() if not os.path.exists(driver_path(n))]
    assert missing == []


def test_instruction_budget_ends_a_spinning_driver(capsys):
    code = main(["run", "--max-instructions", "200000", "--format", "json", driver_path("spin_forever")])
    d = json.loads(capsys.readouterr().out)["drivers"][0]
    assert code == 3
    assert "200000 instructions" in d["incomplete"]
    assert {k: d["entry_points"][0][k] for k in ("name", "status", "outcome")} == \
        {"name": "DriverEntry", "status": None, "outcome": "timeout"}


def _session(name: str, **options) -> Session:
    session = Session(driver_path(name), read(name), Options(timeout=5, **options))
    session.run()
    return session


def test_continue_counts_a_repeated_violation_at_the_same_call_site():
    session = _session("pool_tag_exec", keep_going=True)
    d = session.driver
    session.call_entry("DriverEntry", d.image.entry, [d.driver_object, d.registry_path])   # the same call again
    findings = session.report.bugchecks
    assert len(findings) == 1
    assert findings[0].count == 2
    assert [e.status for e in session.report.entry_points if e.name == "DriverEntry"] == [0, 0]


def test_continue_keeps_distinct_call_sites_apart():
    # npla_exec: the list is initialised without POOL_NX_ALLOCATION (one 0x2000), then the driver's inline
    # ExAllocateFromNPagedLookasideList calls the list's Allocate routine, ExAllocatePoolWithTag, with the
    # list's executable pool type: Windows flags that allocation too, at its own call site.
    report = _session("npla_exec", keep_going=True).report
    apis = sorted(b.api for b in report.bugchecks)
    assert apis == ["ExAllocatePoolWithTag", "ExInitializeNPagedLookasideList"]
    assert len({b.caller_rva for b in report.bugchecks}) == 2
    assert all(b.count == 1 and b.args[0] == 0x2000 and b.args[2] == 0 for b in report.bugchecks)


def test_default_mode_stops_at_the_first_violation():
    report = _session("npla_exec").report
    assert [b.api for b in report.bugchecks] == ["ExInitializeNPagedLookasideList"]
    assert report.entry_points[0].outcome == "bugcheck"


def test_flags_without_code_integrity_raise_nothing(capsys):
    assert main(["run", "--flags", "0x9", "--format", "json", driver_path("npla_exec")]) == 0
    d = json.loads(capsys.readouterr().out)["drivers"][0]
    assert d["bugchecks"] == []
    # 0x8 (pool tracking) is modelled, 0x1 (special pool) is not
    assert [w["kind"] for w in d["warnings"]] == ["verifier-flags"] and "flags 0x1 " in d["warnings"][0]["message"]


def test_profile_changes_what_the_driver_sees(capsys):
    # data_imports prints NtBuildNumber and fails with 0xE0000001 unless its low word is 22631 (Windows 11).
    main(["run", "--profile", "win10-22h2", "--format", "json", driver_path("data_imports")])
    d = json.loads(capsys.readouterr().out)["drivers"][0]
    assert any(f"NtBuildNumber=0x{0xF0000000 | 19045:08X}" in line for line in d["debug_output"])
    assert d["entry_points"][0]["status"] == 0xE0000001


def test_unknown_profile_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "--profile", "win95", driver_path("clean_gcc")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "win95" in err and "win11-23h2" in err


def test_strict_stops_at_the_first_unimplemented_export(capsys):
    """standins.c's DriverEntry calls PoRegisterSystemState first, an export with no handler."""
    assert main(["run", "--strict", "--format", "json", driver_path("standins")]) == 3
    d = json.loads(capsys.readouterr().out)["drivers"][0]
    assert d["incomplete"].startswith("--strict: ntoskrnl.exe!PoRegisterSystemState (called from standins.sys+0x")
    assert [u["name"] for u in d["unimplemented_apis"]] == ["PoRegisterSystemState"]
    assert d["unimplemented_apis"][0]["entry_points"] == ["DriverEntry"]


def test_readme_sample_command_reports_the_violation():
    """The README's first command runs this exact driver: it must show the 0x2000 at the call site."""
    p = subprocess.run([sys.executable, "-m", "verifier", "run", os.path.join(BIN, "pool_tag_exec.sys")],
                       capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 1
    assert "Arg1: 0000000000002000, Code Integrity Issue: The caller specified an executable pool type." in p.stdout
    assert "ExAllocatePoolWithTag(NonPagedPool, 0x40, 'tseT')" in p.stdout
    assert "Traceback" not in p.stdout + p.stderr


def test_a_user_mode_dll_is_not_a_driver(tmp_path, capsys):
    data = bytearray(read("clean_gcc"))
    pe_at = int.from_bytes(data[0x3C:0x40], "little")
    data[pe_at + 24 + 68:pe_at + 24 + 70] = (2).to_bytes(2, "little")       # Subsystem: Windows GUI
    at = data.find(b"ntoskrnl.exe")
    data[at:at + 12] = b"kernel32.dll"                                      # imports a user-mode DLL
    path = tmp_path / "app.dll"
    path.write_bytes(bytes(data))
    assert main(["run", "--format", "json", str(path)]) == 2
    assert "not a kernel driver" in json.loads(capsys.readouterr().out)["drivers"][0]["error"]


@pytest.mark.parametrize("name", ["contig", "contig_cache", "contig_cache_node"])
def test_always_executable_contiguous_memory_is_a_warning_naming_the_nx_api(name):
    report = _session(name).report
    assert report.bugchecks == [] and report.entry_points[0].status == 0
    (w,) = [w for w in report.warnings if w.kind == "contiguous-executable"]
    assert w.api.startswith("MmAllocateContiguousMemory")
    assert "MmAllocateContiguousNodeMemory" in w.message and "PAGE_READWRITE" in w.message
    assert w.caller_rva is not None


def test_text_report_has_what_a_developer_acts_on(capsys):
    assert main(["run", driver_path("deep_stack_clang")]) == 1
    out = capsys.readouterr().out
    for needle in ("DRIVER_VERIFIER_DETECTED_VIOLATION (c4)", "ENTRY_POINT:  DriverEntry",
                   "API:  ExAllocatePoolWithTag(NonPagedPool, 0x80, 'pEeD')", "CALL_SITE:", "STACK_TEXT:",
                   "FIX:  use NonPagedPoolNx"):
        assert needle in out
    call_line = next(line for line in out.splitlines() if line.startswith(">"))
    assert "call" in call_line


def _run_code(code: bytes) -> Session:
    """A session whose driver is loaded, then `code` run as one more entry point from an R-X page."""
    from emu.memory import PROT_RX, poke
    session = _session("clean_gcc")
    at = 0xFFFFF80370000000
    session.kernel.mem.map_new(at, 0x1000, PROT_RX)
    poke(session.kernel.mem, at, code)
    session.call_entry("Probe", at, [])
    return session


def test_runaway_recursion_is_a_kernel_stack_overflow():
    (b,) = _run_code(bytes.fromhex("e8fbffffff")).report.bugchecks          # call $: recurse forever
    assert b.code == 0x7F and b.args == (8, 0, 0, 0)
    assert "stack overflow" in b.notes[0] and b.entry_point == "Probe"


def test_a_wild_jump_without_a_return_address_is_still_reported():
    # mov rsp, 0xFFFFF80DEAD00000 (unmapped); jmp rsp: the fault's [RSP] cannot be read.
    code = bytes.fromhex("48bc0000d0ea0df8ffff" "ffe4")
    (b,) = _run_code(code).report.bugchecks
    assert b.code == 0x50 and b.args[0] == 0xFFFFF80DEAD00000 and b.args[1] == 0x10
    assert b.caller_rva is None and "unknown" in b.notes[0]

