"""`verifier run`: run-time code-integrity rules and fault bug checks on the corpus drivers."""
from __future__ import annotations

import ctypes
import json

import capstone
import pefile
import pytest

from conftest import built, driver_path, load_manifest, read, runtime_of, status_of
from hooks.wdf.framework import table
from verifier.cli import main
from hooks import kstructs as ks
from verifier.session import Options, Session, run_driver

MANIFEST = load_manifest()
RUNTIME = built(n for n, e in MANIFEST.items() if runtime_of(e))
STATUS = built(n for n, e in MANIFEST.items() if not runtime_of(e) and status_of(e) is not None)
PTE_P, PTE_W, PTE_NX = 1, 2, 1 << 63
FRAMEWORK_FUNCTIONS = {f["name"] for f in table()["functions"]}


def run(name: str, **kw):
    return run_driver(driver_path(name), read(name), Options(timeout=kw.pop("timeout", 5), **kw))


def call_return_rvas(name: str, api: str) -> list[int]:
    """Return-address RVAs of every `call qword ptr [rip+disp]` through the IAT slot of `api` (pefile + capstone)."""
    pe = pefile.PE(data=read(name))
    slots = {imp.address - pe.OPTIONAL_HEADER.ImageBase
             for dll in getattr(pe, "DIRECTORY_ENTRY_IMPORT", []) for imp in dll.imports
             if imp.name and imp.name.decode() == api}
    assert slots, f"{name} does not import {api}"
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    md.detail = True
    out = []
    for s in pe.sections:
        if not s.Characteristics & 0x20000000:      # IMAGE_SCN_MEM_EXECUTE
            continue
        code, rva = s.get_data(), s.VirtualAddress
        for ins in md.disasm(code, rva):
            if ins.mnemonic != "call" or len(ins.operands) != 1:
                continue
            op = ins.operands[0]
            if op.type == capstone.x86.X86_OP_MEM and op.mem.base == capstone.x86.X86_REG_RIP:
                if ins.address + ins.size + op.mem.disp in slots:
                    out.append(ins.address + ins.size)
    return out


@pytest.mark.parametrize("name", RUNTIME)
def test_runtime_violation(name):
    report = run(name)
    assert report.error is None
    expected = runtime_of(MANIFEST[name])
    assert len(report.bugchecks) == len(expected)
    for want, got in zip(expected, report.bugchecks):
        assert got.code == want["code"]
        if want["rule"] is not None:
            assert got.args[0] == want["rule"]
        if want["api"]:
            assert got.api == want["api"]
        for i in range(4):
            if want["args"][i] is not None:
                assert got.args[i] == want["args"][i], f"Arg{i + 1}"
        if got.code != 0xC4:
            continue
        assert got.args[1] == report.image_base + got.caller_rva
        if want["api"] and want["api"] not in FRAMEWORK_FUNCTIONS:   # KMDF calls: tests/test_wdf.py
            assert call_return_rvas(name, want["api"]) == [got.caller_rva]


@pytest.mark.parametrize("name", STATUS)
def test_no_runtime_violation(name):
    report = run(name, keep_going=True)      # get past load-time image findings to DriverEntry
    assert report.error is None and report.incomplete is None
    assert [b for b in report.bugchecks if b.entry_point != "load"] == []
    assert report.entry_points[0].status == status_of(MANIFEST[name])


# ---- faults (expectations from the header comment of tests/drivers/src/faults.c) -------------------------
UNMAPPED = 0xFFFFF80DEAD00000


def _fault(name):
    report = run(name)
    assert report.error is None
    assert len(report.bugchecks) == 1
    return report, report.bugchecks[0]


def test_patch_code():
    report, b = _fault("patch_code")
    assert b.code == 0xBE
    pe = pefile.PE(data=read("patch_code"))
    text = next(s for s in pe.sections if s.Name.rstrip(b"\0") == b".text")
    start = report.image_base + text.VirtualAddress
    assert start <= b.args[0] < start + text.Misc_VirtualSize
    patch_target = next(e.address for e in pe.DIRECTORY_ENTRY_EXPORT.symbols if e.name == b"PatchTarget")
    assert b.args[0] == report.image_base + patch_target
    assert b.args[1] & PTE_P and not b.args[1] & PTE_W


def test_exec_nx_pool():
    _, b = _fault("exec_nx_pool")
    assert b.code == 0xFC
    assert b.args[1] & PTE_NX and b.args[1] & PTE_P


@pytest.mark.parametrize("name,access", [("read_unmapped", 0), ("write_unmapped", 2), ("exec_unmapped", 0x10)])
def test_unmapped_access(name, access):
    _, b = _fault(name)
    assert b.code == 0x50
    assert b.args[0] == UNMAPPED and b.args[1] == access


@pytest.mark.parametrize("name,status", [("int3", 0x80000003), ("ud2", 0xC000001D), ("div0", 0xC0000094)])
def test_exceptions(name, status):
    # DriverEntry runs in a system thread: an exception nobody handles there is 0x7E (Microsoft's
    # bug-check-0x7e page), whose Arg3/Arg4 are the exception and context records.
    session = Session(driver_path(name), read(name), Options(timeout=5))
    report = session.run()
    (b,) = report.bugchecks
    assert b.code == 0x7E and b.args[0] == status
    assert b.args[1] == report.image_base + b.caller_rva     # Arg2: faulting address in the image
    mem = session.kernel.mem
    record = ks.EXCEPTION_RECORD.from_buffer_copy(mem.read(b.args[2], ctypes.sizeof(ks.EXCEPTION_RECORD)))
    context = ks.CONTEXT.from_buffer_copy(mem.read(b.args[3], ctypes.sizeof(ks.CONTEXT)))
    assert record.ExceptionCode & 0xFFFFFFFF == status and record.ExceptionAddress == b.args[1]
    assert context.Rip == b.args[1]


def test_explicit_bugcheck():
    _, b = _fault("bugcheck")
    assert b.code == 0xE2 and list(b.args) == [1, 2, 3, 4]


def test_spin_forever_times_out(capsys):
    assert main(["run", "--timeout", "1", "--format", "json", driver_path("spin_forever")]) == 3
    d = json.loads(capsys.readouterr().out)["drivers"][0]
    assert d["incomplete"] and d["bugchecks"] == []
    assert d["entry_points"][0]["outcome"] == "timeout"


# ---- options ------------------------------------------------------------------------------------------
def test_continue_records_once_and_returns():
    report = run("pool_tag_exec", keep_going=True)
    assert report.entry_points[0].status == 0
    assert len(report.bugchecks) == 1 and report.bugchecks[0].count == 1


def _json_run(capsys, argv):
    code = main(argv)
    doc = json.loads(capsys.readouterr().out)
    return code, doc


def _findings(doc):
    return [{k: b[k] for k in ("code", "args", "api", "caller_rva", "rule")} for d in doc["drivers"]
            for b in d["bugchecks"]]


def test_windows_spelling_matches_run(capsys):
    path = driver_path("pool_tag_exec")
    code1, a = _json_run(capsys, ["run", "--flags", "0x02000000", "--timeout", "5", "--format", "json", path])
    code2, b = _json_run(capsys, ["/flags", "0x02000000", "/driver", path, "--timeout", "5", "--format", "json"])
    assert code1 == code2 == 1
    assert _findings(a) == _findings(b) and _findings(a)


def test_flags_zero_disables_code_integrity(capsys):
    code, doc = _json_run(capsys, ["run", "--flags", "0", "--format", "json", driver_path("pool_tag_exec")])
    assert [b for b in doc["drivers"][0]["bugchecks"] if b["code"] == 0xC4] == []
    assert code == 0


@pytest.mark.parametrize("name", ["pool_tag_exec", "mdl_map_exec", "patch_code"])
def test_deterministic_json(name, capsys):
    _, a = _json_run(capsys, ["run", "--format", "json", driver_path(name)])
    _, b = _json_run(capsys, ["run", "--format", "json", driver_path(name)])
    assert a == b
