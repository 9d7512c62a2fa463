"""Stand-ins typed by the prototype tables (rootfs/prototypes), and the coverage they leave.

Expected prototypes come from Microsoft's DDI reference pages; expected answers and decoded calls from
tests/drivers/src/standins.c, which calls exports the emulated kernel does not implement.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys

import pytest

import rootfs
from conftest import driver_path, read
from hooks.api import EXPORTS
from verifier.cli import main
from verifier.session import Options, run_driver

KINDS = {"status", "ptr", "void", "bool", "int"}
# Called by tests/drivers/src/standins.c; a stand-in answers them only while nobody implements them.
STANDIN_EXPORTS = ("PoRegisterSystemState", "IoVerifyPartitionTable", "PoQueryWatchdogTime", "KeGetRecommendedSharedDataAlignment",
                   "IoReleaseVpbSpinLock", "IoReportResourceForDetection")
STATUS_NOT_IMPLEMENTED = 0xC0000002
STATUS_INSUFFICIENT_RESOURCES = 0xC000009A


@pytest.mark.parametrize("module", rootfs.known_modules())
def test_the_prototype_table_covers_every_routine_of_the_export_list(module):
    table = rootfs.prototypes(module)
    assert table is not None, f"rootfs/prototypes/{module}.json is missing: run rootfs/make_prototypes.py"
    routines, _variables = rootfs.exports(module)
    assert sorted(set(routines) - set(table.names())) == []
    for name in table.names():
        proto = table.routine(name)
        if proto["returns"] is None:          # nobody declares it: listed as such, never guessed
            assert proto["source"] == "undeclared" and proto["params"] is None, name
            continue
        for spelling in [proto["returns"]] + [t for _, t in proto["params"]]:
            kind, bits = table.types[spelling]
            assert kind in KINDS and bits in (0, 8, 16, 32, 64), (name, spelling)


def _proto(name):
    table = rootfs.prototypes("ntoskrnl.exe")
    p = table.routine(name)
    return p, [table.types[p["returns"]]] + [table.types[t] for _, t in p["params"]]


@pytest.mark.parametrize("name, returns, params, variadic", [
    # learn.microsoft.com/.../wdm/nf-wdm-exallocatepoolwithtag: PVOID (POOL_TYPE, SIZE_T, ULONG)
    ("ExAllocatePoolWithTag", ("ptr", 64), [("PoolType", "int", 32), ("NumberOfBytes", "int", 64), ("Tag", "int", 32)],
     False),
    # wdm/nf-wdm-dbgprint: ULONG DbgPrint(PCSTR Format, ...)
    ("DbgPrint", ("int", 32), [("Format", "ptr", 64)], True),
    # wdm/nf-wdm-iocreatedevice: NTSTATUS, 7 parameters, Exclusive is a BOOLEAN
    ("IoCreateDevice", ("status", 32), None, False),
    # ntddk/nf-ntddk-mmgetphysicaladdress: PHYSICAL_ADDRESS, an 8-byte union returned in RAX
    ("MmGetPhysicalAddress", ("int", 64), [("BaseAddress", "ptr", 64)], False),
    # wdm/nf-wdm-rtlequalunicodestring: BOOLEAN
    ("RtlEqualUnicodeString", ("bool", 8), None, False),
    # wdm/nf-wdm-keinitializedpc: VOID
    ("KeInitializeDpc", ("void", 0), None, False),
    # wdm/nf-wdm-exallocatepool2: not in mingw-w64's headers, from rootfs/prototypes/ntoskrnl.exe.h
    ("ExAllocatePool2", ("ptr", 64), [("Flags", "int", 64), ("NumberOfBytes", "int", 64), ("Tag", "int", 32)], False),
])
def test_prototypes_match_microsofts_reference(name, returns, params, variadic):
    proto, kinds = _proto(name)
    assert tuple(kinds[0]) == returns
    if params is not None:
        assert [(n, *k) for (n, _), k in zip(proto["params"], kinds[1:])] == params
    assert proto["variadic"] is variadic


def test_io_create_device_parameters_are_typed():
    proto, kinds = _proto("IoCreateDevice")
    assert [n for n, _ in proto["params"]] == ["DriverObject", "DeviceExtensionSize", "DeviceName", "DeviceType",
                                               "DeviceCharacteristics", "Exclusive", "DeviceObject"]
    assert tuple(kinds[6]) == ("bool", 8)


def test_a_supplement_entry_names_its_source():
    proto, _ = _proto("ExAllocatePool2")
    assert proto["source"] == "rootfs/prototypes/ntoskrnl.exe.h"
    text = open(os.path.join(os.path.dirname(rootfs.__file__), "prototypes", "ntoskrnl.exe.h")).read()
    assert "learn.microsoft.com" in text


@pytest.mark.parametrize("module", rootfs.prototype_modules())
def test_a_table_read_line_by_line_is_the_json_file(module):
    with open(os.path.join(os.path.dirname(rootfs.__file__), "prototypes", f"{module}.json")) as fh:
        whole = json.load(fh)
    table = rootfs.prototypes(module)
    assert table.types == whole["types"]
    assert {n: table.routine(n) for n in table.names()} == whole["routines"]


def test_wdfldr_has_a_table_without_an_export_list():
    proto = rootfs.prototypes("wdfldr.sys").routine("WdfVersionBind")
    assert proto["returns"] == "NTSTATUS" and len(proto["params"]) == 4


def test_fltmgr_routines_declared_by_the_supplement_are_typed():
    from hooks.standins import stand_in_export
    # fltkernel/nf-fltkernel-fltregisterfilter: NTSTATUS; nf-fltkernel-fltallocatepoolalignedwithtag: PVOID
    assert stand_in_export("FLTMGR.SYS", "FltRegisterFilter").returns.kind == "status"
    alloc = stand_in_export("FLTMGR.SYS", "FltAllocatePoolAlignedWithTag")
    assert alloc.returns.kind == "ptr"
    assert [(n, t.name, t.bits) for n, t in alloc.params] == [
        ("Instance", "PFLT_INSTANCE", 64), ("PoolType", "POOL_TYPE", 32), ("NumberOfBytes", "SIZE_T", 64),
        ("Tag", "ULONG", 32)]


# ---- stand-ins, driven from driver code -------------------------------------------------------------
def test_the_exports_standins_c_calls_have_no_handler():
    assert [n for n in STANDIN_EXPORTS if n in EXPORTS] == []


def _json_run(capsys, name):
    code = main(["run", "--format", "json", driver_path(name)])
    return code, json.loads(capsys.readouterr().out)["drivers"][0]


def test_standins_answer_by_declared_type(capsys):
    code, d = _json_run(capsys, "standins")
    # 0xE000000n names the first wrong answer (see standins.c)
    assert [(e["name"], e["status"], e["outcome"]) for e in d["entry_points"]] == [("DriverEntry", 0, "returned")]
    assert code == 0
    assert d["coverage"] == "full" and d["coverage_cut"] is None     # stand-ins failed, DriverEntry did not


def test_standin_calls_are_decoded_in_the_json_report(capsys):
    _, d = _json_run(capsys, "standins")
    calls = {u["name"]: u["call"] for u in d["unimplemented_apis"]}
    assert sorted(calls) == sorted(STANDIN_EXPORTS)
    assert calls["PoRegisterSystemState"] == "PoRegisterSystemState(0x0, 1)"          # (NULL, ES_SYSTEM_REQUIRED)
    assert calls["IoVerifyPartitionTable"] == "IoVerifyPartitionTable(0x1234, TRUE)"
    assert re.fullmatch(r"PoQueryWatchdogTime\(0x1234, 0x[0-9a-f]{16}\)", calls["PoQueryWatchdogTime"])
    assert calls["KeGetRecommendedSharedDataAlignment"] == "KeGetRecommendedSharedDataAlignment()"
    assert calls["IoReleaseVpbSpinLock"] == "IoReleaseVpbSpinLock(0)"
    # seven parameters: the last three come from the stack
    assert re.fullmatch(r"IoReportResourceForDetection\(0x[0-9a-f]{16}, 0x0, 0x11, 0x0, 0x0, 0x22, 0x[0-9a-f]{16}\)",
                        calls["IoReportResourceForDetection"])
    assert all(u["module"] == "ntoskrnl.exe" and u["count"] == 1 and u["caller_rva"] for u in d["unimplemented_apis"])


def test_an_entry_point_failing_after_a_standin_is_partial_coverage(capsys):
    code, d = _json_run(capsys, "standin_cut")
    assert d["entry_points"][0]["status"] == STATUS_INSUFFICIENT_RESOURCES
    assert code == 0                                   # nothing found ...
    assert d["coverage"] == "partial"                  # ... in the code that ran
    assert d["coverage_cut"] == "ntoskrnl.exe!PoRegisterSystemState"     # the last failing stand-in


def test_the_text_summary_says_what_was_not_checked(capsys):
    code = main(["run", driver_path("standin_cut")])
    out = capsys.readouterr().out
    assert code == 0
    assert "coverage: partial: only the code before ntoskrnl.exe!PoRegisterSystemState was checked" in out
    assert out.rstrip().splitlines()[-1].endswith("1 only partly checked")
    assert "unimplemented: ntoskrnl.exe!PoRegisterSystemState(0x0, 1) from standin_cut.sys+0x" in out


def test_a_driver_that_succeeds_reads_fully_checked(capsys):
    main(["run", driver_path("clean_gcc")])
    out = capsys.readouterr().out
    assert "coverage" not in out and "partly" not in out


def test_an_undeclared_name_answers_zero_and_shows_no_arguments(tmp_path):
    data = bytearray(read("clean_gcc"))
    at = data.find(b"DbgPrint\0")
    data[at:at + 8] = b"DbgPrinZ"                   # a name ntoskrnl.exe does not export: no prototype
    report = run_driver(str(tmp_path / "renamed.sys"), bytes(data), Options(timeout=5))
    assert report.entry_points[0].status == 0 and report.coverage == "full"
    (u,) = report.unimplemented_apis
    assert u.call == "DbgPrinZ(...)"


def test_a_module_without_a_table_borrows_prototypes_by_name(tmp_path):
    data = bytearray(read("standin_cut"))
    at = data.find(b"ntoskrnl.exe\0")
    data[at:at + 12] = b"ntoskrnx.exe"              # its imports now come from a module without a table
    report = run_driver(str(tmp_path / "moved.sys"), bytes(data), Options(timeout=5))
    # ntoskrnl.exe's prototypes type the routines of the same names: same answers as in standin_cut
    assert report.entry_points[0].status == STATUS_INSUFFICIENT_RESOURCES
    assert (report.coverage, report.coverage_cut) == ("partial", "ntoskrnx.exe!PoRegisterSystemState")
    assert [u.call for u in report.unimplemented_apis] == ["IoVerifyPartitionTable(0x1234, FALSE)",
                                                           "PoRegisterSystemState(0x0, 1)"]


@pytest.mark.realworld
def test_a_kmdf_driver_gets_past_wdf_version_bind_to_modules_without_handlers():
    from realworld import fetch                 # WinDivert is KMDF: its DriverEntry starts with WdfVersionBind
    path = fetch("WinDivert64.sys")
    with open(path, "rb") as fh:
        report = run_driver(path, fh.read(), Options(timeout=30))
    assert report.bugchecks == [] and report.exit_code == 0
    # WDFLDR.SYS, the framework, NDIS.SYS and fwpkclnt.sys have handlers now (hooks.wdf, hooks.ndis,
    # hooks.wfp): what the default run reaches needs no stand-in; the WFP routines it imports without a
    # handler (packet injection) are named in a warning, never called
    assert report.unimplemented_apis == [] and report.coverage == "full"
    assert any(w.kind == "unknown-exports" and "FwpsInjectNetworkSendAsync0" in w.message for w in report.warnings)


# ---- the generator ------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("clang") or not os.path.exists("/usr/include/wine/wine/windows/ddk/fltkernel.h"),
                    reason="needs clang and libwine-dev's ddk/fltkernel.h")
def test_the_generator_types_fltmgr_from_wines_fltkernel_h():
    sys.path.insert(0, os.path.dirname(rootfs.__file__))
    import make_prototypes
    table = make_prototypes.build("fltmgr.sys", ["FltRegisterFilter", "FltStartFiltering", "FltNotDeclaredAnywhere"])
    reg = table["routines"]["FltRegisterFilter"]
    # learn.microsoft.com/.../fltkernel/nf-fltkernel-fltregisterfilter: NTSTATUS (PDRIVER_OBJECT, const
    # FLT_REGISTRATION *, PFLT_FILTER *)
    assert table["types"][reg["returns"]] == ["status", 32]
    assert [table["types"][t][0] for _, t in reg["params"]] == ["ptr", "ptr", "ptr"]
    assert table["routines"]["FltNotDeclaredAnywhere"]["source"] == "undeclared"
