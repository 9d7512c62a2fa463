"""What the kernel's trap handler leaves on the stack when driver code faults.

On x64 Windows the trap handler pushes a KTRAP_FRAME on the current kernel stack; exception
dispatch then puts an EXCEPTION_RECORD and a CONTEXT below it. Bug checks that name them
(0x139 Arg2/Arg3, 0x7E Arg3/Arg4, 0x3B Arg3) get the addresses of these real structures.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass

from emu.memory import MemoryFault
from hooks import kstructs as ks

KGDT64_R0_CODE, KGDT64_R0_DATA = 0x10, 0x18      # kernel CS and SS selectors on x64 Windows


@dataclass(frozen=True)
class ExceptionRecord:
    """An exception as the kernel raises it: code, address, ExceptionInformation[]."""

    code: int
    address: int
    information: tuple[int, ...] = ()
    flags: int = 0                  # EXCEPTION_NONCONTINUABLE for ExRaiseStatus and faults


@dataclass(frozen=True)
class TrapFrames:
    """Guest addresses of the structures written for one exception (0 = no room on the stack)."""

    trap_frame: int = 0
    exception_record: int = 0
    context: int = 0


def write_trap_frames(k, record: ExceptionRecord, regs: dict[int, int], stack_limit: int) -> TrapFrames:
    """Write KTRAP_FRAME, EXCEPTION_RECORD and CONTEXT below the faulting RSP (`regs` by x64
    register number, as `Machine.registers` gives them). `stack_limit` is the lowest usable stack
    address: a fault at the bottom of the stack (an overflow) leaves no room, and gets zeros."""
    rsp = regs[4]
    trap = (rsp - ctypes.sizeof(ks.KTRAP_FRAME)) & ~0xF
    exception = (trap - ctypes.sizeof(ks.EXCEPTION_RECORD)) & ~0xF
    context = (exception - ctypes.sizeof(ks.CONTEXT)) & ~0xF
    if context < stack_limit:
        return TrapFrames()
    flags = k.machine.eflags()
    tf = ks.KTRAP_FRAME(PreviousMode=0, PreviousIrql=k.machine.irql(), Rax=regs[0], Rcx=regs[1], Rdx=regs[2],
                        R8=regs[8], R9=regs[9], R10=regs[10], R11=regs[11], Rbx=regs[3], Rdi=regs[7],
                        Rsi=regs[6], Rbp=regs[5], Rip=record.address, SegCs=KGDT64_R0_CODE, EFlags=flags,
                        Rsp=rsp, SegSs=KGDT64_R0_DATA)
    info = record.information[:ks.EXCEPTION_MAXIMUM_PARAMETERS]
    er = ks.EXCEPTION_RECORD(ExceptionCode=ctypes.c_int32(record.code).value, ExceptionFlags=record.flags,
                             ExceptionAddress=record.address, NumberParameters=len(info))
    er.ExceptionInformation[:len(info)] = info
    cr = ks.CONTEXT(ContextFlags=ks.CONTEXT_CONTROL | ks.CONTEXT_INTEGER, SegCs=KGDT64_R0_CODE,
                    SegSs=KGDT64_R0_DATA, EFlags=flags, Rip=record.address,
                    **{name: regs[i] for i, name in enumerate(ks.CONTEXT_GPRS)})
    try:
        for va, obj in ((trap, tf), (exception, er), (context, cr)):
            k.write_struct(va, obj)
    except MemoryFault:
        return TrapFrames()
    return TrapFrames(trap, exception, context)
