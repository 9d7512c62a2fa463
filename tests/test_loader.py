"""What Windows' loader does before DriverEntry, and what it refuses.

Expectations come from the test drivers' C sources (tests/drivers/src/gs.c, user_faults.c), the PE
format reference (desktop-src/Debug/pe-format.md) and Microsoft's bug-check pages, not from the
code under test.
"""
from __future__ import annotations

import ctypes
import json
import struct

import pefile
import pytest

from conftest import driver_path, pe_offsets, read
from hooks import kstructs as ks
from verifier.cli import main
from verifier.session import Options, Session

DEFAULT_SECURITY_COOKIE = 0x00002B992DDFA232        # what /GS code is linked with (WDK gs_support.c)
STATUS_STACK_BUFFER_OVERRUN = 0xC0000409
CLEAN = "clean_gcc"


def _session(name: str, **options) -> Session:
    session = Session(driver_path(name), read(name), Options(timeout=5, **options))
    session.run()
    return session


def _load_config(name: str) -> pefile.Structure:
    pe = pefile.PE(data=read(name), fast_load=True)
    pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_LOAD_CONFIG"]])
    return pe, pe.DIRECTORY_ENTRY_LOAD_CONFIG.struct


def _cookie(session: Session, name: str) -> int:
    pe, config = _load_config(name)
    address = session.report.image_base + config.SecurityCookie - pe.OPTIONAL_HEADER.ImageBase
    return session.kernel.mem.read_q(address)


# ---- /GS ---------------------------------------------------------------------------------------------
def test_gs_startup_runs_to_the_end():
    session = _session("gs_clean_clang")
    assert session.report.bugchecks == []
    assert session.report.entry_points[0].status == 0          # gs.c: 0 = cookie fresh, complement stored


@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_cookie_is_fresh_and_follows_the_seed(seed):
    a = _cookie(_session("gs_clean_clang", seed=seed), "gs_clean_clang")
    b = _cookie(_session("gs_clean_clang", seed=seed), "gs_clean_clang")
    other = _cookie(_session("gs_clean_clang", seed=seed + 1), "gs_clean_clang")
    assert a == b != other
    assert a >> 48 == 0 and a not in (0, DEFAULT_SECURITY_COOKIE)


def _at_int29(name: str, b) -> None:
    """The bug check is reported at an `int 0x29` in the image, preceded by `mov ecx, code`."""
    pe = pefile.PE(data=read(name), fast_load=True)
    code = pe.get_data(b.caller_rva - 5, 7)
    assert code[5:] == b"\xcd\x29"
    assert code[:5] == b"\xb9" + struct.pack("<I", b.args[0])


def _fast_fail_frames(session: Session, b, code: int, at: int) -> None:
    mem = session.kernel.mem
    trap = ks.KTRAP_FRAME.from_buffer_copy(mem.read(b.args[1], ctypes.sizeof(ks.KTRAP_FRAME)))
    record = ks.EXCEPTION_RECORD.from_buffer_copy(mem.read(b.args[2], ctypes.sizeof(ks.EXCEPTION_RECORD)))
    assert trap.Rip == at and trap.Rcx & 0xFFFFFFFF == code
    assert record.ExceptionCode & 0xFFFFFFFF == STATUS_STACK_BUFFER_OVERRUN
    assert record.ExceptionAddress == at and record.NumberParameters == 1
    assert record.ExceptionInformation[0] == code


def test_stack_overrun_is_a_fast_fail_2():
    session = _session("gs_overrun_clang")
    (b,) = session.report.bugchecks
    assert b.code == 0x139 and b.args[0] == 2 and b.args[3] == 0     # FAST_FAIL_STACK_COOKIE_CHECK_FAILURE
    _at_int29("gs_overrun_clang", b)
    _fast_fail_frames(session, b, 2, session.report.image_base + b.caller_rva)


def test_uninitialised_cookie_is_a_fast_fail_6():
    session = _session("gs_clean_clang", init_security_cookie=False)
    (b,) = session.report.bugchecks
    assert b.code == 0x139 and b.args[0] == 6                         # FAST_FAIL_GS_COOKIE_INIT
    assert b.name == "KERNEL_SECURITY_CHECK_FAILURE"
    _at_int29("gs_clean_clang", b)
    _fast_fail_frames(session, b, 6, session.report.image_base + b.caller_rva)
    assert session.report.debug_output == []                          # DriverEntry never ran


# ---- Control Flow Guard ---------------------------------------------------------------------------------
def test_cfg_slots_as_with_cfg_off():
    session = _session("cfg_clang")
    assert session.report.bugchecks == [] and session.report.entry_points[0].status == 0
    pe, config = _load_config("cfg_clang")
    delta = session.report.image_base - pe.OPTIONAL_HEADER.ImageBase
    k = session.kernel
    dispatch = k.mem.read_q(config.GuardCFDispatchFunctionPointer + delta)
    check = k.mem.read_q(config.GuardCFCheckFunctionPointer + delta)
    assert k.mem.read(dispatch, 2) == b"\xff\xe0"                     # the image left it 0: jmp rax
    assert k.image_at(check) is session.driver.image                  # the image's own routine stays


# ---- faults by address range and IRQL ---------------------------------------------------------------------
@pytest.mark.parametrize("name,access,address", [("null_read", 0, 0), ("user_write", 1, 0x10000),
                                                 ("null_call", 8, 0)])
def test_user_range_fault_is_an_access_violation(name, access, address):
    session = _session(name)
    (b,) = session.report.bugchecks
    assert b.code == 0x7E and b.args[0] == 0xC0000005
    record = ks.EXCEPTION_RECORD.from_buffer_copy(session.kernel.mem.read(b.args[2], ctypes.sizeof(ks.EXCEPTION_RECORD)))
    assert record.NumberParameters == 2
    assert list(record.ExceptionInformation[:2]) == [access, address]
    assert b.caller_rva is not None                                   # located in the driver


def test_fault_at_dispatch_level_in_a_driver_is_d1():
    session = _session("irql_null_write")
    (b,) = session.report.bugchecks
    assert (b.code, b.args[0], b.args[1], b.args[2]) == (0xD1, 0, 2, 1)
    assert b.args[3] == session.report.image_base + b.caller_rva      # Arg4: the driver's instruction
    assert b.name == "DRIVER_IRQL_NOT_LESS_OR_EQUAL"


def test_fault_at_dispatch_level_outside_a_driver_is_a():
    from emu.memory import PROT_RX, poke
    session = _session(CLEAN)
    at = 0xFFFFF80370000000                  # not in any driver image
    session.kernel.mem.map_new(at, 0x1000, PROT_RX)
    # mov edx, 2; mov cr8, rdx; mov rax, [0xFFFFF80DEAD00000]
    poke(session.kernel.mem, at, bytes.fromhex("ba02000000" "440f22c2" "48a10000d0ea0df8ffff"))
    session.call_entry("Probe", at, [])
    b = session.report.bugchecks[-1]
    assert (b.code, b.args) == (0xA, (0xFFFFF80DEAD00000, 2, 0, at + 9))
    assert b.name == "IRQL_NOT_LESS_OR_EQUAL"


# ---- images Windows' loader refuses ---------------------------------------------------------------------
def _mutations() -> dict[str, bytes]:
    good = read(CLEAN)
    off = pe_offsets(good)
    opt, sections = off["opt"], off["sections"]
    pe = pefile.PE(data=good, fast_load=True)
    first, second, last = pe.sections[0], pe.sections[1], pe.sections[-1]

    def patch(*edits: tuple[int, str, int]) -> bytes:
        b = bytearray(good)
        for at, fmt, value in edits:
            struct.pack_into(fmt, b, at, value)
        return bytes(b)

    def sec(index: int, field: int) -> int:
        return sections + 40 * index + field
    user_dll = bytearray(patch((opt + 68, "<H", 3)))            # Subsystem: Windows console
    user_dll = bytes(user_dll).replace(b"ntoskrnl.exe", b"kernel32.dll")
    return {
        "raw-past-eof": patch((sec(len(pe.sections) - 1, 20), "<I", len(good) - last.SizeOfRawData + 0x200)),
        "entry-outside": patch((opt + 16, "<I", pe.OPTIONAL_HEADER.SizeOfImage + 0x1000)),
        "section-alignment-0": patch((opt + 32, "<I", 0)),
        "file-alignment-not-pow2": patch((opt + 36, "<I", 0x300)),
        "file-alignment-too-small": patch((opt + 36, "<I", 0x100)),
        "section-below-file-alignment": patch((opt + 36, "<I", 0x2000)),
        "small-section-alignment-mismatch": patch((opt + 32, "<I", 0x200), (opt + 36, "<I", 0x400)),
        "overlapping-sections": patch((sec(1, 12), "<I", first.VirtualAddress)),
        "size-of-image-short": patch((opt + 56, "<I", last.VirtualAddress)),
        "headers-over-first-section": patch((opt + 60, "<I", second.VirtualAddress)),
        "user-mode-dll": user_dll,
        # a native image whose imports name a user-mode DLL (as Wine's .sys files do): never loads
        "imports-user-mode-dll": good.replace(b"ntoskrnl.exe", b"kernel32.dll"),
    }


BAD = sorted(_mutations())


@pytest.fixture(scope="module")
def bad_images(tmp_path_factory):
    d = tmp_path_factory.mktemp("loader-bad")
    for name, data in _mutations().items():
        (d / f"{name}.sys").write_bytes(data)
    return d


@pytest.mark.parametrize("command", ["scan", "run"])
@pytest.mark.parametrize("bad", BAD)
def test_loader_refuses(command, bad, bad_images, capsys):
    path = str(bad_images / f"{bad}.sys")
    extra = ["--timeout", "5"] if command == "run" else []
    assert main([command, "--format", "json", *extra, path]) == 2
    cap = capsys.readouterr()
    (d,) = json.loads(cap.out)["drivers"]
    assert d["error"] and "\n" not in d["error"] and d["bugchecks"] == []
    assert cap.err.count("\n") == 1 and f"{bad}.sys" in cap.err and "Traceback" not in cap.err


@pytest.mark.parametrize("command", ["scan", "run"])
def test_a_native_image_importing_kernel32_is_refused_naming_the_dll(command, bad_images, capsys):
    path = str(bad_images / "imports-user-mode-dll.sys")
    assert main([command, "--format", "json", path]) == 2
    (d,) = json.loads(capsys.readouterr().out)["drivers"]
    assert d["error"].startswith("imports user-mode DLLs (kernel32.dll)")


@pytest.mark.parametrize("command", ["scan", "run"])
def test_refusal_in_text_is_one_line(command, bad_images, capsys):
    path = str(bad_images / "overlapping-sections.sys")
    assert main([command, path]) == 2
    cap = capsys.readouterr()
    lines = [line for line in cap.out.splitlines() if "overlaps" in line]
    assert len(lines) == 1 and "Traceback" not in cap.out + cap.err


def test_the_same_mutations_of_a_valid_image_are_only_refused_when_wrong():
    # unaligned_* are valid images with 0x200 section and file alignment: still loaded, still 0x2004.
    for name in ("unaligned_gcc", "unaligned_clang"):
        assert main(["scan", "--format", "json", driver_path(name)]) == 1


def test_kernel_routine_handed_a_user_address_raises_an_access_violation():
    # RtlGetVersion(NULL) from code at DriverEntry's level: the routine reads
    # VersionInformation->dwOSVersionInfoSize at NULL, an access violation in the kernel routine
    # (Microsoft: a user-range fault is an exception), and nobody handles it in this system
    # thread: 0x7E, Arg2 = the routine's address.
    from emu.memory import PROT_RX, poke
    session = _session(CLEAN)
    k = session.kernel
    routine = k.address_of("ntoskrnl.exe", "RtlGetVersion")
    at = 0xFFFFF80370000000
    k.mem.map_new(at, 0x1000, PROT_RX)
    # sub rsp, 28h; xor ecx, ecx; mov rax, routine; call rax; add rsp, 28h; ret
    poke(k.mem, at, bytes.fromhex("4883ec28" "31c9" "48b8") + struct.pack("<Q", routine)
         + bytes.fromhex("ffd0" "4883c428" "c3"))
    session.call_entry("Probe", at, [])
    b = session.report.bugchecks[-1]
    assert (b.code, b.args[0], b.args[1], b.api) == (0x7E, 0xC0000005, routine, "RtlGetVersion")
    record = ks.EXCEPTION_RECORD.from_buffer_copy(k.mem.read(b.args[2], ctypes.sizeof(ks.EXCEPTION_RECORD)))
    assert list(record.ExceptionInformation[:2]) == [0, 0]              # a read of address 0


@pytest.mark.parametrize("kind,code", [("SYSTEM_THREAD", 0x7E), ("SYSTEM_SERVICE", 0x3B), ("ARBITRARY_THREAD", 0x1E)])
def test_unhandled_exception_code_follows_the_context(kind, code):
    # Microsoft's bug-check pages: 0x7E in a system thread, 0x3B inside a system service, 0x1E otherwise.
    # The code is `xor eax, eax; mov rcx, 0; mov eax, [rcx]`: a read of NULL at `at + 2`.
    from emu.memory import PROT_RX, poke
    from verifier.triage import EntryKind
    session = _session(CLEAN)
    at = 0xFFFFF80370000000
    session.kernel.mem.map_new(at, 0x1000, PROT_RX)
    poke(session.kernel.mem, at, bytes.fromhex("31c0" "48c7c100000000" "8b01"))
    session.call_entry("Routine", at, [], kind=EntryKind[kind])
    b = session.report.bugchecks[-1]
    assert b.code == code and b.args[:2] == (0xC0000005, at + 9)
    if code == 0x1E:
        assert b.args[2:] == (0, 0)                  # ExceptionInformation[0] read, [1] address 0
    elif code == 0x3B:
        context = ks.CONTEXT.from_buffer_copy(session.kernel.mem.read(b.args[2], ctypes.sizeof(ks.CONTEXT)))
        assert context.Rip == at + 9 and b.args[3] == 0


# ---- the structures the trap handler writes -------------------------------------------------------------
# CONTEXT and EXCEPTION_RECORD64: compiled from mingw-w64's winnt.h with clang
# --target=x86_64-pc-windows-msvc (sizeof/offsetof read back from the assembly). KTRAP_FRAME is not
# in those headers; published: the public-symbol layout (`dt nt!_KTRAP_FRAME`, Windows 10/11 x64).
@pytest.mark.parametrize("struct_name,size,offsets", [
    ("CONTEXT", 0x4D0, {"ContextFlags": 0x30, "MxCsr": 0x34, "SegCs": 0x38, "EFlags": 0x44, "Dr0": 0x48,
                        "Rax": 0x78, "Rsp": 0x98, "Rip": 0xF8, "FltSave": 0x100, "VectorRegister": 0x300,
                        "VectorControl": 0x4A0, "LastExceptionFromRip": 0x4C8}),
    ("EXCEPTION_RECORD", 0x98, {"ExceptionAddress": 0x10, "NumberParameters": 0x18, "ExceptionInformation": 0x20}),
    ("KTRAP_FRAME", 0x190, {"PreviousIrql": 0x29, "Rax": 0x30, "GsBase": 0x68, "FaultAddress": 0xD0,
                            "SegDs": 0x130, "TrapFrame": 0x138, "Rbx": 0x140, "ErrorCode": 0x160, "Rip": 0x168,
                            "SegCs": 0x170, "EFlags": 0x178, "Rsp": 0x180, "SegSs": 0x188}),
])
def test_trap_structure_layouts(struct_name, size, offsets):
    cls = getattr(ks, struct_name)
    assert ctypes.sizeof(cls) == size
    assert {f: ks.offset_of(cls, f) for f in offsets} == offsets


def test_nt_assert_is_an_assertion_failure_exception():
    # NT_ASSERT is `int 0x2c`: exception STATUS_ASSERTION_FAILURE (ntstatus.h 0xC0000420) at the
    # instruction; unhandled in a system thread: 0x7E.
    from emu.memory import PROT_RX, poke
    session = _session(CLEAN)
    at = 0xFFFFF80370000000
    session.kernel.mem.map_new(at, 0x1000, PROT_RX)
    poke(session.kernel.mem, at, bytes.fromhex("90" "cd2c" "c3"))      # nop; int 0x2c; ret
    session.call_entry("Routine", at, [])
    b = session.report.bugchecks[-1]
    assert b.code == 0x7E and b.args[:2] == (0xC0000420, at + 1)


def test_kernel_routine_fault_at_dispatch_level_is_a():
    # The same RtlGetVersion(NULL) after `mov cr8, 2`: the kernel routine cannot take the fault at
    # DISPATCH_LEVEL, and the faulting code is the kernel's: 0xA (address 0, IRQL 2, read).
    from emu.memory import PROT_RX, poke
    session = _session(CLEAN)
    k = session.kernel
    routine = k.address_of("ntoskrnl.exe", "RtlGetVersion")
    at = 0xFFFFF80370000000
    k.mem.map_new(at, 0x1000, PROT_RX)
    # sub rsp, 28h; mov edx, 2; mov cr8, rdx; xor ecx, ecx; mov rax, routine; call rax; add rsp, 28h; ret
    poke(k.mem, at, bytes.fromhex("4883ec28" "ba02000000" "440f22c2" "31c9" "48b8") + struct.pack("<Q", routine)
         + bytes.fromhex("ffd0" "4883c428" "c3"))
    session.call_entry("Probe", at, [])
    b = session.report.bugchecks[-1]
    assert (b.code, b.args[:3], b.api) == (0xA, (0, 2, 0), "RtlGetVersion")
