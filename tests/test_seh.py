"""Structured exception handling: a driver's own __try/__except/__finally, built with clang's MSVC
target (real __C_specific_handler scope tables), dispatched as the x64 kernel does; what no handler
takes is a bug check by context."""
from __future__ import annotations

import ctypes

import capstone
import pytest

from conftest import driver_path, read
from hooks import kstructs as ks
from verifier.session import Options, Session, run_driver

_CS = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
STATUS_ACCESS_VIOLATION = 0xC0000005
EXCEPTION_NONCONTINUABLE = 1


def test_every_case_is_caught_by_the_drivers_own_handlers():
    # seh.c returns 0 only if each of its seven cases saw its exception in the filter and handler it
    # expects (access violation from a callee, filter reading the record, __finally during unwind,
    # nested continue-search, registers of the catching frame, RtlRaiseException parameters,
    # EXCEPTION_CONTINUE_EXECUTION); a case that went wrong returns 0xE00000nn, an exception that
    # escaped would be a bug check.
    report = run_driver(driver_path("seh"), read("seh"), Options(timeout=30))
    assert report.error is None and report.incomplete is None
    assert report.bugchecks == []
    assert [(e.name, e.status, e.outcome) for e in report.entry_points] == [("DriverEntry", 0, "returned")]


def _unhandled(name: str):
    session = Session(driver_path(name), read(name), Options(timeout=30))
    report = session.run()
    (b,) = report.bugchecks
    mem = session.kernel.mem
    record = ks.EXCEPTION_RECORD.from_buffer_copy(mem.read(b.args[2], ctypes.sizeof(ks.EXCEPTION_RECORD)))
    context = ks.CONTEXT.from_buffer_copy(mem.read(b.args[3], ctypes.sizeof(ks.CONTEXT)))
    insn_bytes = read(name)        # file offsets: look the instruction up through the section table
    return report, b, record, context, insn_bytes


def _instruction_before(data: bytes, report, rva: int) -> capstone.CsInsn:
    """The call instruction that ends at `rva` (the return address), decoded from the file."""
    import pefile
    pe = pefile.PE(data=data)
    for size in range(2, 8):
        insn = next(_CS.disasm(pe.get_data(rva - size, size), rva - size), None)
        if insn is not None and insn.size == size and insn.mnemonic == "call":
            return insn
    raise AssertionError(f"no call instruction ends at RVA 0x{rva:x}")


def test_an_unhandled_raise_in_driver_entry_is_0x7e_at_the_callers_return_address():
    report, b, record, context, data = _unhandled("seh_unhandled_raise")
    assert b.code == 0x7E and b.args[0] == 0xE0000BAD
    # ExRaiseStatus raises in its caller's context: the exception address is the return address
    rva = b.args[1] - report.image_base
    assert _instruction_before(data, report, rva).op_str.startswith("qword ptr [rip")
    assert record.ExceptionCode & 0xFFFFFFFF == 0xE0000BAD
    assert record.ExceptionFlags == EXCEPTION_NONCONTINUABLE and record.ExceptionAddress == b.args[1]
    assert context.Rip == b.args[1]


def test_an_unhandled_null_read_is_0x7e_access_violation_with_its_record():
    report, b, record, context, _ = _unhandled("seh_unhandled_fault")
    assert b.code == 0x7E and b.args[0] == STATUS_ACCESS_VIOLATION
    assert record.NumberParameters == 2 and list(record.ExceptionInformation[:2]) == [0, 0]   # read of NULL
    (marked,) = [line for line in b.disassembly if line.startswith(">")]
    assert marked.endswith("mov eax, dword ptr [0]")       # ReadAt((volatile LONG *)0), inlined address


@pytest.mark.parametrize("name", ["seh_unhandled_raise", "seh_unhandled_fault"])
def test_exceptions_no_driver_handler_takes_leave_the_note(name):
    report, b, *_ = _unhandled(name)
    assert report.entry_points[0].outcome == "bugcheck"
    assert b.entry_point == "DriverEntry"
