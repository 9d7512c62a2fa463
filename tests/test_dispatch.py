"""Dispatch routines after DriverEntry: IRPs as the I/O manager builds them, harvested IOCTLs,
scenarios, PnP start, filters, pending IRPs, DriverUnload and pool tracking.

Expectations come from the drivers' C sources (tests/drivers/src/ioctl.c, dispatch.c), their
corpus.json entries and wdm.h, never from the code under test.
"""
from __future__ import annotations

import ctypes
import json
import os

import pytest

from conftest import driver_path, load_manifest, read
from emu.memory import PTE_U
from emu.pe import PeImage
from hooks import kstructs as ks
from hooks.irp import IrpRequest
from hooks.kernel import Kernel
from verifier.cli import main
from verifier.harvest import harvest
from verifier.scenario import Scenario, load
from verifier.session import Options, Session, run_driver

MANIFEST = load_manifest()
IOCTL_CODES = [i["code"] for i in MANIFEST["ioctl"]["ioctls"]]
STATUS_PENDING = 0x103
MDL_PAGES_LOCKED = 0x2
IRP_BUFFERED_IO = 0x10


def run(name: str, **kw):
    return run_driver(driver_path(name), read(name), Options(timeout=kw.pop("timeout", 10), **kw))


def scenario(*steps: dict) -> Scenario:
    """A scenario built through the same loader a file goes through."""
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump({"version": 1, "steps": list(steps)}, fh)
    try:
        return load(fh.name)
    finally:
        os.unlink(fh.name)


def _call_ends_at(name: str, rva: int) -> bool:
    """Whether some call instruction (2..7 bytes, capstone) ends exactly at `rva` in the image."""
    import capstone
    import pefile
    pe = pefile.PE(data=read(name))
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    for size in range(2, 8):
        ins = next(md.disasm(pe.get_data(rva - size, size), rva - size), None)
        if ins is not None and ins.size == size and ins.mnemonic == "call":
            return True
    return False


def irps(report, name="IRP_MJ_DEVICE_CONTROL"):
    return [e for e in report.entry_points if e.name == name]


# ---- ioctl.sys (README section F) ------------------------------------------------------------------
def test_plain_run_finds_the_violation_behind_ioctl_0x222040():
    report = run("ioctl")
    assert [b.args[0] for b in report.bugchecks] == [0x2000]
    b = report.bugchecks[0]
    assert b.entry_point == "IRP_MJ_DEVICE_CONTROL" and b.api == "ExAllocatePoolWithTag"
    assert b.args[2:] == (0, 0x6C637449)                       # NonPagedPool, 'lctI'
    assert [e.ioctl for e in irps(report)] == sorted(IOCTL_CODES)  # harvested, run in order, the last one stops
    assert irps(report)[-1].outcome == "bugcheck"


def _loaded(name: str) -> tuple[Kernel, object]:
    k = Kernel()
    ctx = k.load_driver(PeImage.parse(read(name), f"{name}.sys"), name)
    assert k.call(ctx.image.entry, [ctx.driver_object, ctx.registry_path]).return_value == 0
    return k, ctx


def test_harvest_finds_the_codes_of_ioctl_c():
    k, ctx = _loaded("ioctl")
    routine = k.mem.read_q(ctx.driver_object + ks.offset_of(ks.DRIVER_OBJECT, "MajorFunction[14]"))
    assert harvest(k.mem.read, routine, ctx.image.base, ctx.image.size, {0x22}) == sorted(IOCTL_CODES)


def test_harvest_reads_a_jump_table():
    k, ctx = _loaded("hidden_ioctl")
    routine = k.mem.read_q(ctx.driver_object + ks.offset_of(ks.DRIVER_OBJECT, "MajorFunction[14]"))
    assert harvest(k.mem.read, routine, ctx.image.base, ctx.image.size, {0x9000}) == \
        MANIFEST["hidden_ioctl"]["ioctl_codes"]


def test_harvest_follows_a_chain_of_subtractions():
    """MSVC's switch over sparse codes (ViGEmBus's EvtIoDeviceControl): each `sub ecx, step; je case`
    tests ecx == the sum of the steps so far. Machine code by the x86 manual: 81 E9 imm32 is
    `sub ecx, imm32`, 0F 84 rel32 `je rel32`, C3 `ret`."""
    steps = (0x2AA004, 4, 0x7F8)
    code = b"".join(b"\x81\xe9" + step.to_bytes(4, "little") + b"\x0f\x84" + (0).to_bytes(4, "little")
                    for step in steps) + b"\xc3"
    base = 0x140001000
    image = code.ljust(0x100, b"\xcc")
    read = lambda va, n: image[va - base:va - base + n]      # noqa: E731
    assert harvest(read, base, base, len(image), {0x2A}) == [0x2AA004, 0x2AA008, 0x2AA800]


def _device(k) -> int:
    return next(iter(k.devices))


def test_request_buffers_are_fresh_memory_of_the_calling_process():
    """METHOD_NEITHER hands the driver the caller's own buffers: user memory (PTE.U), distinct per
    request, holding the input and zeros after it even where an earlier buffer was written; a
    buffer larger than the process's heap still gets memory of its own."""
    from hooks.irp import USER_HEAP
    k, _ = _loaded("ioctl")
    seen = []
    for data, out in ((b"first", 64), (b"second", 64), (b"x" * (USER_HEAP + 1), 16)):
        record = k.io.build(_device(k), IrpRequest(ks.IRP_MJ_DEVICE_CONTROL, ioctl=0x22200F, input=data,
                                                   output_length=out))
        sl = k.read_struct(ks.IO_STACK_LOCATION, record.irp + ctypes.sizeof(ks.IRP))
        source, output = sl.Parameters.DeviceIoControl.Type3InputBuffer, record.user_output
        assert k.mem.read(source, len(data)) == data and k.mem.read(output, out) == bytes(out)
        assert k.mem.pte(source) & PTE_U and k.mem.pte(source + len(data) - 1) & PTE_U
        k.mem.write(output, b"\xAA" * out)                # what a driver leaves in the caller's buffer
        seen += [(source, len(data)), (output, out)]
    spans = sorted(seen)
    assert all(a + n <= b for (a, n), (b, _) in zip(spans, spans[1:]))      # no two buffers overlap


@pytest.mark.parametrize("code,method", [(0x222000, 0), (0x222005, 1), (0x22200A, 2), (0x22200F, 3)])
def test_irp_fields_follow_the_transfer_method(code, method):
    """wdm.h / the I/O manager: which of SystemBuffer, MdlAddress, UserBuffer, Type3InputBuffer is set."""
    k, _ = _loaded("ioctl")
    data = b"hello, driver!"
    record = k.io.build(_device(k), IrpRequest(ks.IRP_MJ_DEVICE_CONTROL, ioctl=code, input=data, output_length=32))
    irp = k.read_struct(ks.IRP, record.irp)
    assert irp.Type == ks.IO_TYPE_IRP and irp.StackCount == 1 and irp.CurrentLocation == 2
    assert irp.Size == ctypes.sizeof(ks.IRP) + ctypes.sizeof(ks.IO_STACK_LOCATION)
    assert irp.Tail.Overlay.CurrentStackLocation == record.irp + irp.Size      # one past the last location
    assert irp.RequestorMode == 1 and irp.Tail.Overlay.Thread == k.io.process.thread
    sl = k.read_struct(ks.IO_STACK_LOCATION, record.irp + ctypes.sizeof(ks.IRP))
    assert (sl.MajorFunction, sl.Parameters.DeviceIoControl.IoControlCode) == (ks.IRP_MJ_DEVICE_CONTROL, code)
    assert sl.Parameters.DeviceIoControl.InputBufferLength == len(data)
    assert sl.Parameters.DeviceIoControl.OutputBufferLength == 32
    system = irp.AssociatedIrp.SystemBuffer
    if method == 0:                       # one system buffer of max(in, out), the input copied in
        assert k.mem.read(system, 32) == data.ljust(32, b"\0") and irp.Flags & IRP_BUFFERED_IO
        assert k.mem.pte(system) & PTE_U == 0 and irp.MdlAddress == 0
    elif method in (1, 2):                # input in the system buffer, an MDL over the user's output buffer
        assert k.mem.read(system, len(data)) == data
        mdl = k.read_struct(ks.MDL, irp.MdlAddress)
        assert mdl.ByteCount == 32 and mdl.MdlFlags & MDL_PAGES_LOCKED and mdl.Process == k.io.process.eprocess
        assert mdl.StartVa + mdl.ByteOffset == irp.UserBuffer or irp.UserBuffer == 0
        assert k.mem.pte(mdl.StartVa) & PTE_U
    else:                                 # raw user addresses
        assert system == 0 and irp.MdlAddress == 0
        assert k.mem.read(sl.Parameters.DeviceIoControl.Type3InputBuffer, len(data)) == data
        assert k.mem.pte(sl.Parameters.DeviceIoControl.Type3InputBuffer) & PTE_U
        assert k.mem.pte(irp.UserBuffer) & PTE_U


@pytest.mark.parametrize("code,expected", [
    (0x222000, lambda d: bytes(b ^ 0x5A for b in d)),          # METHOD_BUFFERED: xor, Information = in
    (0x222005, lambda d: d[::-1]),                              # METHOD_IN_DIRECT: reversed
    (0x22200A, lambda d: d.upper()),                            # METHOD_OUT_DIRECT: a-z upper-cased
    (0x22200F, lambda d: bytes(b + 1 for b in d)),              # METHOD_NEITHER: +1
])
def test_each_transfer_method_round_trips_through_the_driver(code, expected):
    data = b"abcXYZ09"
    report = run("ioctl", scenario=scenario({"irp": "IRP_MJ_CREATE"},
                                            {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": code,
                                             "input_hex": data.hex(), "output_length": 16}))
    (e,) = irps(report)
    assert (e.status, e.information, e.completed) == (0, len(data), True)
    assert bytes.fromhex(e.output) == expected(data)


def test_buffered_output_is_copied_back_only_up_to_information():
    data = b"\x01\x02\x03"
    report = run("ioctl", scenario=scenario({"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222000",
                                             "input_hex": data.hex(), "output_length": 64}))
    (e,) = irps(report)
    assert e.information == 3 and e.output == bytes(b ^ 0x5A for b in data).hex()


def test_buffered_output_too_small_is_the_drivers_error():
    report = run("ioctl", scenario=scenario({"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222000",
                                             "input_hex": "0102030405", "output_length": 2}))
    (e,) = irps(report)
    assert (e.status, e.information, e.output) == (0xC0000023, 0, "")     # STATUS_BUFFER_TOO_SMALL


# ---- pending IRPs ---------------------------------------------------------------------------------
def test_a_pending_irp_completed_by_a_later_request():
    report = run("pending_irp", scenario=scenario({"irp": "IRP_MJ_CREATE"},
                                                  {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222400",
                                                   "output_length": 8},
                                                  {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222404"}))
    pend, release = irps(report)
    assert pend.pending and pend.completed
    assert (pend.status, pend.information, pend.output) == (0, 4, b"DONE".hex())
    assert (release.status, release.information, release.pending) == (0, 0, False)


def test_a_pending_irp_never_completed_says_so():
    report = run("pending_irp", scenario=scenario({"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222400",
                                                   "output_length": 8}))
    (pend,) = irps(report)
    assert pend.pending and pend.completed is False and pend.status == STATUS_PENDING


def test_the_default_run_harvests_pend_then_release():
    report = run("pending_irp")
    assert [e.ioctl for e in irps(report)] == [0x222400, 0x222404]
    assert irps(report)[0].status == 0 and irps(report)[0].output == b"DONE".hex()


# ---- PnP, filters ---------------------------------------------------------------------------------
def test_pnp_driver_gets_add_device_start_power_and_remove():
    report = run("pnp_wdm", keep_going=True)
    names = [(e.name, e.minor) for e in report.entry_points]
    assert names == [("DriverEntry", None), ("AddDevice", None), ("IRP_MJ_PNP", 0), ("IRP_MJ_POWER", 2),
                     ("IRP_MJ_CREATE", None), ("IRP_MJ_READ", None), ("IRP_MJ_CLOSE", None), ("IRP_MJ_PNP", 2),
                     ("DriverUnload", None)]
    assert all(e.status == 0 for e in report.entry_points[:-1])        # no HV_FAIL from the driver's checks
    read_irp = irps(report, "IRP_MJ_READ")[0]
    assert bytes.fromhex(read_irp.output) == bytes(0xA0 + i for i in range(16))
    assert [(b.args[0], b.entry_point, b.args[3]) for b in report.bugchecks] == [(0x2000, "IRP_MJ_PNP", 0x58706E50)]
    assert report.registered_not_run == []
    assert report.unimplemented_apis == []      # PoStartNextPowerIrp, PoCallDriver, IoAttach... all handled


def test_an_upper_filter_opens_through_the_device_below():
    """upper_filter passes CREATE, CLOSE and IOCTLs it does not own down to the PDO: the device below
    opens and closes (as the function or bus driver under a filter does on Windows) and refuses the
    IOCTL it does not know; the filter's own IOCTL, harvested, runs behind that CREATE."""
    report = run("upper_filter", keep_going=True)
    names = [(e.name, e.ioctl) for e in report.entry_points]
    assert names[:5] == [("DriverEntry", None), ("AddDevice", None), ("IRP_MJ_PNP", None), ("IRP_MJ_POWER", None),
                         ("IRP_MJ_CREATE", None)]
    assert ("IRP_MJ_DEVICE_CONTROL", 0x222C00) in names and ("IRP_MJ_CLOSE", None) in names
    assert all(e.status == 0 for e in report.entry_points if e.name in ("IRP_MJ_CREATE", "IRP_MJ_CLEANUP",
                                                                        "IRP_MJ_CLOSE"))
    assert [(b.args[0], b.entry_point, b.args[3]) for b in report.bugchecks] == \
        [(0x2000, "IRP_MJ_DEVICE_CONTROL", int.from_bytes(b"UtlF", "big"))]
    other = run("upper_filter", scenario=scenario({"irp": "IRP_MJ_CREATE"},
                                                  {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222C04"}))
    assert [(e.name, e.status) for e in other.entry_points if e.name.startswith("IRP_MJ_")][-3:] == \
        [("IRP_MJ_CREATE", 0), ("IRP_MJ_DEVICE_CONTROL", 0xC0000010), ("IRP_MJ_PNP", 0)]


def test_filter_forwards_with_a_completion_routine():
    report = run("filter_fwd", scenario=scenario({"irp": "IRP_MJ_CREATE"},
                                                 {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222800",
                                                  "output_length": 8}))
    (e,) = irps(report)
    # dispatch.c: CurrentLocation 1 and StackCount 2 in the lower device, its own stack location, 'C' 'F'
    assert (e.status, e.information, e.output) == (0, 5, "0102014346")


def test_filter_ioctls_are_harvested_from_memory_compares():
    assert [e.ioctl for e in irps(run("filter_fwd"))] == [0x222800, 0x222804]


def test_a_violation_inside_ioCallDriver_stops_the_whole_run():
    from test_run_rules import call_return_rvas
    report = run("filter_fwd")
    (b,) = report.bugchecks
    assert (b.args[0], b.args[3], b.entry_point) == (0x2000, 0x6C776F4C, "IRP_MJ_DEVICE_CONTROL")
    assert [b.caller_rva] == call_return_rvas("filter_fwd", "ExAllocatePoolWithTag")
    assert irps(report)[-1].outcome == "bugcheck" and irps(report)[-1].completed is False
    assert report.registered_not_run == ["IRP_MJ_CLOSE", "DriverUnload"]


# ---- hidden IOCTLs, probes --------------------------------------------------------------------------
def test_violations_reachable_only_through_harvested_ioctls():
    report = run("hidden_ioctl", keep_going=True)
    found = [(b.args[0], b.api, b.entry_point) for b in report.bugchecks]
    assert found == [(0x2000, "ExAllocatePoolWithTag", "IRP_MJ_DEVICE_CONTROL"),
                     (0x2002, "MmMapLockedPagesSpecifyCache", "IRP_MJ_DEVICE_CONTROL")]


@pytest.mark.parametrize("code,status", [("0x22281F", 0x80000002), ("0x22282F", 0xC0000005)])
def test_probe_failures_raise_an_unhandled_exception(code, status):
    report = run("probe_user", scenario=scenario({"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": code,
                                                  "input_hex": "00112233", "output_length": 4}))
    (b,) = report.bugchecks
    # 0x3B SYSTEM_SERVICE_EXCEPTION: the exception nobody handled, raised where the driver called ProbeForRead
    assert (b.code, b.args[0], b.entry_point) == (0x3B, status, "IRP_MJ_DEVICE_CONTROL")
    assert _call_ends_at("probe_user", b.caller_rva)          # the return address of a call (ProbeForRead's)
    assert b.args[1] == report.image_base + b.caller_rva


@pytest.mark.parametrize("code,status", [("0x22281F", 0x80000002), ("0x22282F", 0xC0000005)])
def test_a_probe_inside_try_except_is_handled_by_the_driver(code, status):
    """The same probes in an MSVC-style image with __try/__except: the driver's handler takes the
    exception ProbeForRead raises (SEH) and completes the IRP with its code."""
    report = run("probe_seh_clang", scenario=scenario({"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": code,
                                                       "input_hex": "00112233", "output_length": 4}))
    assert report.bugchecks == []
    (e,) = irps(report)
    assert (e.outcome, e.status, e.completed) == ("returned", status, True)


def test_probe_of_user_buffers_succeeds():
    report = run("probe_user", scenario=scenario({"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x22280F",
                                                  "input_hex": "00112233", "output_length": 4}))
    assert report.bugchecks == []
    assert irps(report)[0].output == "00112233"


# ---- unload, pool tracking ----------------------------------------------------------------------------
def test_pool_leak_at_unload_with_pool_tracking():
    from test_run_rules import call_return_rvas
    report = run("leak_unload", flags=0x02000008)
    (b,) = report.bugchecks
    assert (b.code, b.args) == (0xC4, (0x62, "leak_unload.sys", 0, 2)) and b.entry_point == "DriverUnload"
    expected = MANIFEST["leak_unload"]["leaks"]
    assert [(p.tag, p.size) for p in report.pool_leaks] == [(e["tag"], e["size"]) for e in expected]
    sites = [rva for e in expected for rva in call_return_rvas("leak_unload", e["api"])]
    assert [p.caller_rva for p in report.pool_leaks] == sites
    assert report.warnings == []                     # 0x8 is modelled: no "verifier-flags" warning


def test_no_leak_finding_without_pool_tracking():
    report = run("leak_unload")
    assert report.bugchecks == [] and report.pool_leaks == []
    assert [e.name for e in report.entry_points] == ["DriverEntry", "DriverUnload"]


def test_registered_routines_that_never_ran_are_listed():
    report = run("pending_irp", scenario=scenario({"irp": "IRP_MJ_CREATE"}))
    assert report.registered_not_run == ["IRP_MJ_CLOSE", "IRP_MJ_DEVICE_CONTROL"]


# ---- scenarios: round trip, bad files, CLI ----------------------------------------------------------
def _write(tmp_path, doc, name="s.json") -> str:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return str(path)


def test_a_scenario_round_trips_byte_identical(tmp_path, capsys):
    (tmp_path / "in.bin").write_bytes(b"from a file")
    path = _write(tmp_path, {"version": 1, "steps": [
        {"irp": "IRP_MJ_CREATE"},
        {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222005", "input_file": "in.bin", "output_length": 16},
        {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": 2236426, "input_base64": "aGVsbG8=", "output_length": 5,
         "expect_status": "0x0"},
        {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222000", "method": "METHOD_NEITHER", "output_length": 4},
        {"irp": "IRP_MJ_CLOSE"}]})
    outputs = []
    for _ in range(2):
        assert main(["run", "--scenario", path, "--format", "json", driver_path("ioctl")]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    eps = json.loads(outputs[0])["drivers"][0]["entry_points"]
    assert bytes.fromhex(eps[2]["output"]) == b"from a file"[::-1]         # METHOD_IN_DIRECT reverses
    assert bytes.fromhex(eps[3]["output"]) == b"HELLO"


STATUS_OBJECT_NAME_NOT_FOUND, STATUS_OBJECT_NAME_COLLISION = 0xC0000034, 0xC0000035
FILE_OPENED, FILE_CREATED, FILE_EXISTS, FILE_DOES_NOT_EXIST = 1, 2, 4, 5        # wdm.h


def test_a_create_step_names_what_it_opens_and_how(tmp_path, capsys):
    """`file_name` and `disposition` reach the driver as FileObject->FileName and the high byte of
    Parameters.Create.Options (create_name.c answers by both), and survive a round trip."""
    assert [(e.name, e.status) for e in run("create_name").entry_points][:2] == \
        [("DriverEntry", 0), ("IRP_MJ_CREATE", STATUS_OBJECT_NAME_NOT_FOUND)]     # nameless: refused
    steps = [{"irp": "IRP_MJ_CREATE", "file_name": "\\server", "disposition": "FILE_CREATE"},
             {"irp": "IRP_MJ_CREATE", "file_name": "\\server"},
             {"irp": "IRP_MJ_CREATE", "file_name": "\\other"},
             {"irp": "IRP_MJ_CREATE", "file_name": "\\server", "disposition": "FILE_CREATE"},
             {"irp": "IRP_MJ_CREATE", "file_name": "\\server", "disposition": "FILE_OVERWRITE_IF"}]
    report = run("create_name", keep_going=True, scenario=scenario(*steps))
    creates = [(e.status, e.information) for e in report.entry_points if e.name == "IRP_MJ_CREATE"]
    assert creates == [(0, FILE_CREATED), (0, FILE_OPENED), (STATUS_OBJECT_NAME_NOT_FOUND, FILE_DOES_NOT_EXIST),
                       (STATUS_OBJECT_NAME_COLLISION, FILE_EXISTS), (0xC0000010, 0)]
    (b,) = report.bugchecks                         # the name's entry: executable NonPagedPool
    assert (b.code, b.args[0], b.args[3], b.entry_point) == (0xC4, 0x2000, int.from_bytes(b"emaN", "big"),
                                                              "IRP_MJ_CREATE")
    path = _write(tmp_path, {"version": 1, "steps": steps})
    from verifier.scenario import document
    assert document(load(path).steps)["steps"] == steps


@pytest.mark.parametrize("step,words", [
    ({"irp": "IRP_MJ_READ", "file_name": "\\x"}, "file_name belongs to IRP_MJ_CREATE"),
    ({"irp": "IRP_MJ_CLOSE", "disposition": "FILE_CREATE"}, "disposition belongs to IRP_MJ_CREATE"),
    ({"irp": "IRP_MJ_CREATE", "disposition": "CREATE_NEW"}, "CREATE_NEW"),
    ({"irp": "IRP_MJ_CREATE", "file_name": ""}, "file_name"),
])
def test_bad_create_keys_one_line(tmp_path, capsys, step, words):
    path = _write(tmp_path, {"version": 1, "steps": [step]})
    assert main(["run", "--scenario", path, driver_path("create_name")]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and path in lines[0] and words in lines[0] and "Traceback" not in captured.err


def test_bad_scenario_steps_one_line_each(tmp_path, capsys):
    path = _write(tmp_path, {"version": 1, "steps": [
        {"irp": "IRP_MJ_CREATE"},
        {"irp": "IRP_MJ_NOPE"},
        {"irp": "IRP_MJ_DEVICE_CONTROL"},
        {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": 1, "input_hex": "00", "input_base64": "AA=="},
        {"irp": "IRP_MJ_READ", "output_length": -1}]})
    assert main(["run", "--scenario", path, driver_path("ioctl")]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert [line.split(": step ")[1].split(":")[0] for line in lines] == ["2", "3", "4", "5"]
    assert all(path in line for line in lines) and "Traceback" not in captured.err and captured.out == ""
    assert "IRP_MJ_NOPE" in lines[0] and "needs an ioctl" in lines[1] and "once" in lines[2]


@pytest.mark.parametrize("doc,words", [
    ("{not json", "not valid JSON"),
    ({"version": 2, "steps": []}, "version"),
    ({"steps": []}, "version"),
])
def test_bad_scenario_files(tmp_path, capsys, doc, words):
    path = _write(tmp_path, doc)
    assert main(["run", "--scenario", path, driver_path("ioctl")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and path in err[0] and words in err[0]


def test_missing_scenario_file(tmp_path, capsys):
    path = str(tmp_path / "absent.json")
    assert main(["run", "--scenario", path, driver_path("ioctl")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_yaml_scenario_without_pyyaml(tmp_path, capsys):
    try:
        import yaml  # noqa: F401
        pytest.skip("PyYAML is installed: YAML scenarios are read")
    except ImportError:
        pass
    path = _write(tmp_path, "version: 1\nsteps: []\n", name="s.yaml")
    assert main(["run", "--scenario", path, driver_path("ioctl")]) == 2
    assert "PyYAML" in capsys.readouterr().err


@pytest.mark.parametrize("arg", ["zz", "0x222000:xyz", "0x222000:00:big", "0x1:00:1:2", "0x1FFFFFFFF"])
def test_bad_ioctl_option(arg, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "--ioctl", arg, driver_path("ioctl")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--ioctl" in err[0]


def test_ioctl_option_replaces_harvesting(capsys):
    assert main(["run", "--ioctl", "0x222000:414243:3", "--format", "json", driver_path("ioctl")]) == 0
    d = json.loads(capsys.readouterr().out)["drivers"][0]
    dc = [e for e in d["entry_points"] if e["name"] == "IRP_MJ_DEVICE_CONTROL"]
    assert [(e["ioctl"], e["output"], e["information"]) for e in dc] == [(0x222000, "1b1819", 3)]


def test_expected_status_mismatch_is_a_warning():
    report = run("ioctl", scenario=scenario({"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x2220FC",
                                            "expect_status": 0}))
    (e,) = irps(report)
    assert e.status == 0xC0000010 and e.expected_status == 0
    assert [w.kind for w in report.warnings] == ["unexpected-status"]


def test_the_readme_scenario_example_is_valid(tmp_path):
    text = open(os.path.join(os.path.dirname(__file__), "..", "README.md"), encoding="utf-8").read()
    block = text[text.index('    {"version": 1,'):]
    block = block[:block.index("]}") + 2]
    (tmp_path / "input.bin").write_bytes(b"\x01\x02")
    path = _write(tmp_path, block)
    steps = load(path).steps
    assert [s.request.major for s in steps] == [ks.IRP_MJ_CREATE, ks.IRP_MJ_DEVICE_CONTROL, ks.IRP_MJ_DEVICE_CONTROL,
                                                ks.IRP_MJ_WRITE, ks.IRP_MJ_READ, ks.IRP_MJ_CLOSE]
    assert steps[2].request.input == b"\x01\x02" and steps[2].request.method == 3
    assert steps[3].request.input == b"Hello"


# ---- cancel routines, cancel-safe queues (csq_queue, dispatch.c CASE_CSQ) -------------------------------
def test_cancel_safe_queue_insert_cancel_and_remove():
    report = run("csq_queue", scenario=scenario(
        {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222C00", "output_length": 4},     # 1 queued
        {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222C00", "output_length": 4},     # 2 queued
        {"cancel": 1},                                                                # CsqCompleteCanceledIrp
        {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222C04"},                        # takes 2
        {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222C04"}))                       # queue empty
    first, second, dequeue, empty = irps(report)
    assert first.pending and (first.completed, first.status, first.information) == (True, 0xC0000120, 0)
    assert second.pending and (second.status, second.information, second.output) == (0, 2, b"OK".hex())
    assert (dequeue.status, empty.status) == (0, 0xC0000225)          # STATUS_NOT_FOUND
    assert [e.name for e in report.entry_points].count("CancelRoutine") == 1
    assert report.warnings == []


def test_cancelling_a_completed_irp_is_a_warning():
    report = run("csq_queue", scenario=scenario({"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222C04"},
                                                {"cancel": 1}))
    assert [w.kind for w in report.warnings] == ["nothing-to-cancel"]
    assert "CancelRoutine" not in [e.name for e in report.entry_points]


@pytest.mark.parametrize("step,words", [({"cancel": 2}, "earlier step"),
                                        ({"cancel": 1, "irp": "IRP_MJ_CLOSE"}, "only the key"),
                                        ({"minor": 1}, "needs 'irp'")])
def test_bad_cancel_steps(tmp_path, capsys, step, words):
    path = _write(tmp_path, {"version": 1, "steps": [{"irp": "IRP_MJ_CREATE"}, step]})
    assert main(["run", "--scenario", path, driver_path("csq_queue")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "step 2" in err[0] and words in err[0]


def test_cancel_safe_queue_with_a_context_and_iocancelirp_from_the_driver():
    report = run("csq_queue", scenario=scenario(
        {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222C08", "output_length": 4},    # 1 queued with the context
        {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222C08", "output_length": 4},    # 2 refused by InsertIrpEx
        {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222C0C"},                       # 3 IoCsqRemoveIrp -> 1
        {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222C08", "output_length": 4},    # 4 queued
        {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222C10"},                       # 5 IoCancelIrp(4): TRUE
        {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222C10"}))                      # 6 nothing queued
    one, two, remove, four, cancel, none = irps(report)
    assert (one.status, one.output) == (0, b"CX".hex())
    assert (two.status, two.completed) == (0x80000011, True)                        # STATUS_DEVICE_BUSY
    assert remove.status == 0 and (four.status, four.completed) == (0xC0000120, True)  # STATUS_CANCELLED
    assert (cancel.information, none.information) == (1, 0xFF)


def test_a_drivers_own_cancel_routine_and_the_cancel_spin_lock():
    report = run("pending_irp", scenario=scenario(
        {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222400", "output_length": 4},
        {"cancel": 1},
        {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222404"},                       # nothing pending now
        {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222400", "output_length": 4},
        {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222404"}))
    cancelled, empty, kept, release = irps(report)
    assert (cancelled.status, cancelled.completed) == (0xC0000120, True)
    assert empty.status == 0xC0000225                                              # STATUS_NOT_FOUND
    assert (kept.status, kept.output, release.status) == (0, b"DONE".hex(), 0)   # not HV_FAIL(4): IRQL was raised
    assert [e.name for e in report.entry_points].count("CancelRoutine") == 1


def test_filter_driver_entry_checks_the_device_stack():
    report = run("filter_fwd")
    assert report.entry_points[0].name == "DriverEntry" and report.entry_points[0].status == 0


# ---- READ/WRITE and file-information IRPs, field by field (wdm.h) ------------------------------------------
@pytest.mark.parametrize("flags", [0x4, 0x10, 0])         # DO_BUFFERED_IO, DO_DIRECT_IO, neither
def test_read_buffers_follow_the_device_flags(flags):
    k, _ = _loaded("ioctl")
    device = _device(k)
    k.mem.write_u32(device + ks.offset_of(ks.DEVICE_OBJECT, "Flags"), flags)
    record = k.io.build(device, IrpRequest(ks.IRP_MJ_READ, output_length=24))
    irp = k.read_struct(ks.IRP, record.irp)
    sl = k.read_struct(ks.IO_STACK_LOCATION, record.irp + ctypes.sizeof(ks.IRP))
    assert sl.MajorFunction == ks.IRP_MJ_READ and sl.Parameters.Read.Length == 24
    if flags == 0x4:
        assert irp.AssociatedIrp.SystemBuffer and not k.mem.pte(irp.AssociatedIrp.SystemBuffer) & PTE_U
        assert irp.MdlAddress == 0 and irp.UserBuffer == 0
    elif flags == 0x10:
        mdl = k.read_struct(ks.MDL, irp.MdlAddress)
        assert mdl.ByteCount == 24 and k.mem.pte(mdl.StartVa) & PTE_U and irp.AssociatedIrp.SystemBuffer == 0
    else:
        assert k.mem.pte(irp.UserBuffer) & PTE_U and irp.MdlAddress == 0 and irp.AssociatedIrp.SystemBuffer == 0


def test_write_copies_the_callers_data_into_the_system_buffer():
    k, _ = _loaded("ioctl")
    device = _device(k)
    k.mem.write_u32(device + ks.offset_of(ks.DEVICE_OBJECT, "Flags"), 0x4)
    record = k.io.build(device, IrpRequest(ks.IRP_MJ_WRITE, input=b"written"))
    irp = k.read_struct(ks.IRP, record.irp)
    sl = k.read_struct(ks.IO_STACK_LOCATION, record.irp + ctypes.sizeof(ks.IRP))
    assert sl.Parameters.Write.Length == 7 and k.mem.read(irp.AssociatedIrp.SystemBuffer, 7) == b"written"


def test_query_information_parameters():
    k, _ = _loaded("ioctl")
    record = k.io.build(_device(k), IrpRequest(ks.IRP_MJ_QUERY_INFORMATION, minor=5, output_length=40))
    irp = k.read_struct(ks.IRP, record.irp)
    sl = k.read_struct(ks.IO_STACK_LOCATION, record.irp + ctypes.sizeof(ks.IRP))
    assert (sl.MinorFunction, sl.Parameters.QueryFile.Length, sl.Parameters.QueryFile.FileInformationClass) == \
        (0, 40, 5)                                          # FileStandardInformation
    assert k.mem.read(irp.AssociatedIrp.SystemBuffer, 40) == bytes(40)


def test_create_parameters_and_the_file_object():
    k, _ = _loaded("ioctl")
    device = _device(k)
    file_object = k.io.new_file_object(device)
    record = k.io.build(device, IrpRequest(ks.IRP_MJ_CREATE), file_object)
    irp = k.read_struct(ks.IRP, record.irp)
    sl = k.read_struct(ks.IO_STACK_LOCATION, record.irp + ctypes.sizeof(ks.IRP))
    fo = k.read_struct(ks.FILE_OBJECT, file_object)
    assert (fo.Type, fo.Size, fo.DeviceObject) == (ks.IO_TYPE_FILE, ctypes.sizeof(ks.FILE_OBJECT), device)
    assert sl.FileObject == file_object and irp.Tail.Overlay.OriginalFileObject == file_object
    assert sl.Parameters.Create.Options >> 24 == 1                  # FILE_OPEN: CreateFile(OPEN_EXISTING)
    context = k.read_struct(ks.IO_SECURITY_CONTEXT, sl.Parameters.Create.SecurityContext)
    assert context.AccessState and context.DesiredAccess & 0x3 == 0x3   # FILE_READ_DATA | FILE_WRITE_DATA


def test_ioctl_and_scenario_together_is_a_usage_error(tmp_path, capsys):
    path = _write(tmp_path, {"version": 1, "steps": [{"irp": "IRP_MJ_CREATE"}]})
    with pytest.raises(SystemExit) as exc:
        main(["run", "--scenario", path, "--ioctl", "0x222000", driver_path("ioctl")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--scenario" in err[0]


@pytest.mark.parametrize("major", ["IRP_MJ_INTERNAL_DEVICE_CONTROL", "IRP_MJ_FLUSH_BUFFERS", "IRP_MJ_SHUTDOWN",
                                   "IRP_MJ_QUERY_INFORMATION", "IRP_MJ_SET_INFORMATION", "IRP_MJ_CLEANUP"])
def test_majors_a_driver_does_not_handle_end_in_the_kernels_invalid_request(major):
    step = {"irp": major, "ioctl": 0x222000} if major == "IRP_MJ_INTERNAL_DEVICE_CONTROL" else {"irp": major}
    report = run("ioctl", scenario=scenario(step))
    (e,) = irps(report, major)
    assert (e.status, e.information, e.completed) == (0xC0000010, 0, True)   # STATUS_INVALID_DEVICE_REQUEST


def test_text_report_shortens_long_output(capsys):
    assert main(["run", "--ioctl", "0x222000:" + "00" * 100 + ":100", driver_path("ioctl")]) == 0
    out = capsys.readouterr().out
    assert "output " + "5a" * 32 + "... (100 bytes)" in out


def test_nothing_is_sent_on_a_handle_whose_create_failed():
    # create_fails.c: CREATE completes with STATUS_ACCESS_DENIED and every other routine dereferences
    # the FsContext CREATE never set; Windows opens no handle, so READ, CLEANUP and CLOSE never come.
    report = run_driver(driver_path("create_fails"), read("create_fails"), Options(timeout=30))
    assert report.bugchecks == [] and report.incomplete is None
    assert [(e.name, e.status) for e in report.entry_points] == [
        ("DriverEntry", 0), ("IRP_MJ_CREATE", 0xC0000022), ("DriverUnload", None)]
    (warning,) = report.warnings
    assert warning.kind == "create-failed" and "steps 2, 3, 4 were not sent" in warning.message


def test_irps_a_driver_builds_with_iobuilddeviceiocontrolrequest_reach_its_routine_and_come_back():
    """iobuild.c: DriverEntry's three IRPs (buffered, neither, internal) pass every check it makes in
    C (0 returned), and the I/O manager kept them as kernel-mode requests that completed with what
    its routine answered: 0 / 6 bytes, 0 / 4 bytes, STATUS_INVALID_DEVICE_REQUEST (no routine)."""
    session = Session(driver_path("iobuild_ioctl"), read("iobuild_ioctl"), Options(timeout=10))
    entry = session.start()
    assert entry.outcome == "returned" and entry.status == 0
    built = [(r.request.major, r.request.ioctl, r.request.user, r.completed, r.status, r.information)
             for r in session.kernel.io.records.values()]
    assert built == [(ks.IRP_MJ_DEVICE_CONTROL, 0x222000, False, True, 0, 6),
                     (ks.IRP_MJ_DEVICE_CONTROL, 0x222003, False, True, 0, 4),
                     (ks.IRP_MJ_INTERNAL_DEVICE_CONTROL, 0x220003, False, True, 0xC0000010, 0)]
