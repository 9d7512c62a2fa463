"""Triage: every way a run can end in a verdict becomes the BugCheck Windows would raise there.

A rule's violation, a crash a kernel routine detected (bad free, KeBugCheckEx), a CPU exception in
driver code, a fast fail, a memory fault inside a kernel routine: all come through `Triage`, which
decides the code and the arguments and says where in the driver it happened (module+RVA,
disassembly, unwound stack).

CPU exceptions take one path, so structured exception handling can plug in at one place:

    CPU exception -> ExceptionRecord -> raise_exception -> SEH dispatch to the driver's own
    __except handlers (hooks/seh.py): handled -> Resume; unhandled -> bug check chosen by the
    context the code runs in

The decision table. Source: Microsoft's bug-check reference (MicrosoftDocs/windows-driver-docs,
windows-driver-docs-pr/debugger/bug-check-0x....md, one page per code):

| what happened                                         | bug check                                  | arguments                                                    |
|-------------------------------------------------------|--------------------------------------------|--------------------------------------------------------------|
| a rule fired (code integrity, ...)                    | what the rule built, e.g. 0xC4             | as built; located at the caller                              |
| a kernel routine found a fatal condition / KeBugCheckEx | its code                                 | its arguments                                                |
| `int 0x29` (__fastfail)                               | 0x139 KERNEL_SECURITY_CHECK_FAILURE (-0x139) | ECX = fast-fail code, KTRAP_FRAME, EXCEPTION_RECORD, 0     |
| page fault on the guard page below the kernel stack   | 0x7F UNEXPECTED_KERNEL_MODE_TRAP (-0x7f)   | 8 (double fault: stack overflow), 0, 0, 0                    |
| page fault, page not present, IRQL >= DISPATCH_LEVEL, instruction in a driver | 0xD1 DRIVER_IRQL_NOT_LESS_OR_EQUAL (-0xd1) | address, IRQL, 0 read / 1 write / 8 execute, instruction |
| the same, instruction in the kernel                   | 0xA IRQL_NOT_LESS_OR_EQUAL (-0xa)          | address, IRQL, same bits, instruction                        |
| invalid user-range address (< 0x800000000000, the NULL page included; not present, or a write to a read-only page) | access violation exception 0xC0000005 | ExceptionInformation[0] = 0 read / 1 write / 8 execute, [1] = address |
| instruction fetch from a present no-execute page      | 0xFC ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY (-0xfc) | address, PTE, 0, 0                                   |
| write to a present read-only system page              | 0xBE ATTEMPTED_WRITE_TO_READONLY_MEMORY (-0xbe) | address, PTE, 0, 0                                      |
| system-range page not present                         | 0x50 PAGE_FAULT_IN_NONPAGED_AREA (-0x50)   | address, 0 read / 2 write / 0x10 execute, instruction, 0     |
| #DE, #BP, #UD, #DB, #GP                               | exception 0xC0000094, 0x80000003, 0xC000001D, 0x80000004, 0xC0000005 | -                                  |
| `int 0x2c` (NT_ASSERT)                                | exception 0xC0000420 STATUS_ASSERTION_FAILURE at the `int 0x2c` | -                                       |
| unhandled exception in a system thread (DriverEntry, DriverUnload, work items) | 0x7E SYSTEM_THREAD_EXCEPTION_NOT_HANDLED (-0x7e) | code, address, EXCEPTION_RECORD, CONTEXT |
| unhandled exception inside a system service (dispatch routines for a user request) | 0x3B SYSTEM_SERVICE_EXCEPTION (-0x3b) | code, address, CONTEXT, 0                     |
| unhandled exception anywhere else                     | 0x1E KMODE_EXCEPTION_NOT_HANDLED (-0x1e)   | code, address, ExceptionInformation[0], [1]                  |

A fault on present paged pool at raised IRQL is not a fault here (the emulator never pages out),
so it is not reported: on Windows it is a 0xD1 only when the page happens to be out.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from emu.machine import (EXC_BREAKPOINT, EXC_DEBUG, EXC_DIVIDE, EXC_DOUBLE_FAULT, EXC_GP, EXC_INVALID_OPCODE,
                         EXC_PAGE_FAULT, INT_ASSERTION, INT_FAST_FAIL, Stop)
from emu.memory import PAGE, PTE_P, PTE_W, MemoryFault
from hooks import seh
from hooks.events import Crash, Request
from hooks.kernel import KERNEL_STACK_SIZE, STACK_BASE, STACK_STRIDE, Kernel, stack_guard
from hooks.trap import ExceptionRecord, write_trap_frames
from verifier.bugcheck import (ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY, ATTEMPTED_WRITE_TO_READONLY_MEMORY,
                               DRIVER_IRQL_NOT_LESS_OR_EQUAL, IRQL_NOT_LESS_OR_EQUAL, KERNEL_SECURITY_CHECK_FAILURE,
                               KMODE_EXCEPTION_NOT_HANDLED, PAGE_FAULT_IN_NONPAGED_AREA, SYSTEM_SERVICE_EXCEPTION,
                               SYSTEM_THREAD_EXCEPTION_NOT_HANDLED, UNEXPECTED_KERNEL_MODE_TRAP, BugCheck)
from verifier.callsite import call_before, disassembly, memory_write, stack_trace

STATUS_BREAKPOINT = 0x80000003
STATUS_SINGLE_STEP = 0x80000004
STATUS_ACCESS_VIOLATION = 0xC0000005
STATUS_ILLEGAL_INSTRUCTION = 0xC000001D
STATUS_INTEGER_DIVIDE_BY_ZERO = 0xC0000094
STATUS_STACK_BUFFER_OVERRUN = 0xC0000409      # the exception code a fast fail records
STATUS_ASSERTION_FAILURE = 0xC0000420

EXCEPTION_DOUBLE_FAULT = 0x8

DISPATCH_LEVEL = 2
USER_RANGE_END = 0x800000000000               # first address above the x64 user range
READ, WRITE, EXECUTE = 0, 1, 8                # ExceptionInformation[0]; also 0xD1/0xA Arg3
INT_N_LENGTH = 2                              # `int imm8`: Unicorn reports the interrupt after it

# winnt.h FAST_FAIL_* codes drivers meet most (0x139 Arg1).
FAST_FAIL_GS_COOKIE_INIT = 6
FAST_FAIL_CODES = {2: "FAST_FAIL_STACK_COOKIE_CHECK_FAILURE", 3: "FAST_FAIL_CORRUPT_LIST_ENTRY",
                   4: "FAST_FAIL_INCORRECT_STACK", 5: "FAST_FAIL_INVALID_ARG",
                   FAST_FAIL_GS_COOKIE_INIT: "FAST_FAIL_GS_COOKIE_INIT",
                   7: "FAST_FAIL_FATAL_APP_EXIT", 10: "FAST_FAIL_GUARD_ICALL_CHECK_FAILURE"}

_CPU_EXCEPTIONS = {EXC_DIVIDE: STATUS_INTEGER_DIVIDE_BY_ZERO, EXC_BREAKPOINT: STATUS_BREAKPOINT,
                   EXC_INVALID_OPCODE: STATUS_ILLEGAL_INSTRUCTION, EXC_DEBUG: STATUS_SINGLE_STEP,
                   EXC_GP: STATUS_ACCESS_VIOLATION, INT_ASSERTION: STATUS_ASSERTION_FAILURE}


def _stack_limit(k: Kernel) -> int:
    """The lowest usable address of the running thread's kernel stack."""
    return stack_guard(k.machine.reg_rsp()) + PAGE


class EntryKind(Enum):
    """The context an entry point runs in, which decides the code of an unhandled exception."""

    SYSTEM_THREAD = "system thread"           # DriverEntry, DriverUnload: 0x7E
    SYSTEM_SERVICE = "system service"         # a dispatch routine for a user request: 0x3B
    ARBITRARY_THREAD = "arbitrary thread"     # any other context: 0x1E


UNHANDLED_EXCEPTION = {EntryKind.SYSTEM_THREAD: SYSTEM_THREAD_EXCEPTION_NOT_HANDLED,
                       EntryKind.SYSTEM_SERVICE: SYSTEM_SERVICE_EXCEPTION,
                       EntryKind.ARBITRARY_THREAD: KMODE_EXCEPTION_NOT_HANDLED}


@dataclass
class Resume:
    """An exception the driver handled: the run goes on with this context (an __except block)."""

    regs: dict[int, int]
    rip: int
    irql: int


class Triage:
    """Turns verdicts into bug checks for one kernel; `entry_point` names the routine running."""

    def __init__(self, kernel: Kernel):
        self.kernel = kernel
        self.entry_point = "load"

    def rva(self, address: int) -> int | None:
        image = self.kernel.image_at(address)
        return image.rva(address) if image else None

    # ---- verdicts from rules and kernel routines ------------------------------------------------------
    def violation(self, bugcheck: BugCheck, request: Request | None = None) -> BugCheck:
        """A rule fired: locate it at the caller named in Arg2 (the call's return address)."""
        self.locate(bugcheck, bugcheck.args[1] if isinstance(bugcheck.args[1], int) else None, request)
        return bugcheck

    def locate(self, b: BugCheck, caller: int | None, request: Request | None) -> None:
        """Where in the driver: `caller` is a return address (the CPU at a stub or a bad jump target,
        [RSP] holding it), so the stack is unwound from the caller's side of the call."""
        k = self.kernel
        b.entry_point = self.entry_point
        if request is not None:
            b.call = request.call
        if caller is None:
            return
        b.caller_rva = self.rva(caller)
        call = call_before(k, caller)
        b.disassembly = disassembly(k, call if call is not None else caller, marker=call)
        regs = k.machine.registers()
        regs[4] += 8
        b.stack = stack_trace(k, caller, regs, is_return_address=True)

    def _locate_at(self, b: BugCheck, at: int) -> BugCheck:
        """Where in the driver, for a fault at the instruction `at` itself."""
        k = self.kernel
        b.entry_point = self.entry_point
        b.caller_rva = self.rva(at)
        b.disassembly = disassembly(k, at)
        b.stack = stack_trace(k, at, k.machine.registers(), is_return_address=False)
        return b

    def stop(self, stop: Stop, kind: EntryKind) -> BugCheck | Resume | None:
        """The bug check a stopped run ends in, where to resume it when the driver handled an
        exception, or None when the stop is no verdict (budget, engine)."""
        detail = stop.detail
        if stop.kind == "raised":                     # ExRaiseStatus & co.: raised at the caller
            caller = self.kernel.caller
            return self.raise_exception(ExceptionRecord(detail.code, caller, detail.information, detail.flags),
                                        kind, caller)
        if stop.kind == "halted" and isinstance(detail, BugCheck):
            return detail
        if stop.kind == "halted" and isinstance(detail, Crash):
            b = BugCheck(detail.code, detail.args, api=detail.api, notes=[detail.note] if detail.note else [])
            self.locate(b, detail.caller or None, None)
            return b
        if stop.kind == "engine" and isinstance(detail, MemoryFault):
            return self._routine_fault(stop, detail, kind)
        if stop.kind == "exception":
            return self._cpu_exception(stop, kind)
        return None

    # ---- exceptions ----------------------------------------------------------------------------------
    def raise_exception(self, record: ExceptionRecord, kind: EntryKind,
                        caller: int | None = None) -> BugCheck | Resume:
        """An exception raised at `record.address`, dispatched to the driver's own handlers first.
        `caller` is the driver's return address when a kernel routine raised (the CPU is at the
        routine's stub): dispatch then starts from the caller's context, as RtlRaiseException's."""
        k = self.kernel
        regs = k.machine.registers()
        if caller is not None:
            regs[4] += 8
        saved, irql = k.machine.save_cpu(), k.machine.irql()
        outcome = seh.dispatch(k, record, regs, record.address if caller is None else caller,
                               fault=caller is None, stack_limit=_stack_limit(k))
        if isinstance(outcome, seh.Handled):
            return Resume(outcome.regs, outcome.rip, irql)
        k.machine.restore_cpu(saved)                  # filters ran: the stack shown is the fault's
        b = self._unhandled(record, kind, caller)
        if outcome.reason != seh.NO_HANDLER:
            b.notes.append(outcome.reason)
        return b

    def _unhandled(self, record: ExceptionRecord, kind: EntryKind, caller: int | None) -> BugCheck:
        k = self.kernel
        frames = write_trap_frames(k, record, k.machine.registers(), _stack_limit(k))
        code = UNHANDLED_EXCEPTION[kind]
        params = (record.information + (0, 0))[:2]
        args = {SYSTEM_THREAD_EXCEPTION_NOT_HANDLED: (frames.exception_record, frames.context),
                SYSTEM_SERVICE_EXCEPTION: (frames.context, 0),
                KMODE_EXCEPTION_NOT_HANDLED: params}[code]
        b = BugCheck(code, (record.code, record.address, *args))
        if record.code == STATUS_ACCESS_VIOLATION and record.information:
            what = {READ: "read", WRITE: "write", EXECUTE: "execute"}.get(params[0], "access")
            b.notes.append(f"access violation: {what} of 0x{params[1]:x}, an invalid user-range address; "
                           f"no __except handler took it in this {kind.value}")
        if caller is not None:
            self.locate(b, caller, None)
            return b
        return self._locate_at(b, record.address)

    def _cpu_exception(self, stop: Stop, kind: EntryKind) -> BugCheck | Resume:
        if stop.vector == INT_FAST_FAIL:
            return self._fast_fail(stop)
        if stop.vector in (EXC_PAGE_FAULT, EXC_DOUBLE_FAULT):
            return self._page_fault(stop, kind)
        # Software interrupts report the instruction after them: int3 is one byte, int imm8 two.
        at = stop.rip - {EXC_BREAKPOINT: 1, INT_ASSERTION: INT_N_LENGTH}.get(stop.vector, 0)
        code = _CPU_EXCEPTIONS.get(stop.vector, STATUS_ACCESS_VIOLATION)
        return self.raise_exception(ExceptionRecord(code, at), kind)

    def _fast_fail(self, stop: Stop) -> BugCheck:
        """__fastfail(code): `int 0x29` with the code in ECX; 0x139 at the `int 0x29` itself."""
        k = self.kernel
        at = stop.rip - INT_N_LENGTH
        regs = k.machine.registers()
        code = regs[1] & 0xFFFFFFFF
        frames = write_trap_frames(k, ExceptionRecord(STATUS_STACK_BUFFER_OVERRUN, at, (code,)), regs,
                                   _stack_limit(k))
        b = BugCheck(KERNEL_SECURITY_CHECK_FAILURE, (code, frames.trap_frame, frames.exception_record, 0))
        b.notes.append(f"__fastfail({FAST_FAIL_CODES.get(code, code)})")
        if code == FAST_FAIL_GS_COOKIE_INIT:
            b.notes.append("the /GS security cookie was still 0 or the default value when the startup code "
                           "checked it: the loader did not initialise it")
        return self._locate_at(b, at)

    # ---- memory faults ---------------------------------------------------------------------------------
    def _page_fault(self, stop: Stop, kind: EntryKind) -> BugCheck | Resume:
        k, rip, cr2 = self.kernel, stop.rip, stop.cr2
        pte = k.mem.pte(cr2)
        stacks = STACK_BASE + STACK_STRIDE * (len(k.scheduler.stacks) + 1)
        if STACK_BASE <= cr2 < stacks and cr2 < stack_guard(cr2) + PAGE:     # a guard page below a kernel stack
            b = BugCheck(UNEXPECTED_KERNEL_MODE_TRAP, (EXCEPTION_DOUBLE_FAULT, 0, 0, 0),
                         notes=[f"kernel stack overflow: 0x{cr2:x} is the stack's guard page "
                                f"(the stack is 0x{KERNEL_STACK_SIZE:x} bytes, as on Windows)"])
            return self._locate_at(b, rip)
        fetch = cr2 == rip
        access = EXECUTE if fetch else WRITE if memory_write(k, rip) else READ
        caller = self._fetch_caller() if fetch else None
        irql = k.machine.irql()
        if not pte & PTE_P and irql >= DISPATCH_LEVEL:
            code = DRIVER_IRQL_NOT_LESS_OR_EQUAL if k.image_at(rip) or caller else IRQL_NOT_LESS_OR_EQUAL
            b = BugCheck(code, (cr2, irql, access, rip),
                         notes=[f"0x{cr2:x} is not valid memory, touched at IRQL {irql} (>= DISPATCH_LEVEL), "
                                "where the kernel cannot resolve page faults"])
            return self._blame(b, rip, caller)
        if cr2 < USER_RANGE_END and (not pte & PTE_P or access == WRITE and not pte & PTE_W):
            return self.raise_exception(ExceptionRecord(STATUS_ACCESS_VIOLATION, rip, (access, cr2)), kind,
                                        caller)
        if fetch:
            return self._bad_fetch(stop, pte, caller)
        if pte & PTE_P and not pte & PTE_W:
            return self._locate_at(BugCheck(ATTEMPTED_WRITE_TO_READONLY_MEMORY, (cr2, pte, 0, 0)), rip)
        return self._locate_at(BugCheck(PAGE_FAULT_IN_NONPAGED_AREA, (cr2, 2 if access == WRITE else 0, rip, 0)),
                               rip)

    def _fetch_caller(self) -> int | None:
        """After a jump to a bad address: the return address at [RSP], if a call in a driver put it there."""
        k = self.kernel
        try:
            caller = k.mem.read_q(k.machine.reg_rsp())
        except MemoryFault:
            return None
        return caller if k.image_at(caller) and call_before(k, caller) is not None else None

    def _blame(self, b: BugCheck, rip: int, caller: int | None) -> BugCheck:
        if caller is None:
            return self._locate_at(b, rip)
        self.locate(b, caller, None)
        b.notes.append(f"called from {self.kernel.symbol(caller)}")
        return b

    def _bad_fetch(self, stop: Stop, pte: int, caller: int | None) -> BugCheck:
        """Execution reached a system page it may not run: name the call that got there, if any."""
        target = stop.rip
        if pte & PTE_P:
            b = BugCheck(ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY, (target, pte, 0, 0))
        else:
            b = BugCheck(PAGE_FAULT_IN_NONPAGED_AREA, (target, 0x10, target, 0))
        b.entry_point = self.entry_point
        if caller is None:
            b.notes.append("how execution got there is unknown: [RSP] holds no return address into the driver")
            return b
        return self._blame(b, target, caller)

    def _routine_fault(self, stop: Stop, fault: MemoryFault, kind: EntryKind) -> BugCheck | Resume:
        """A kernel routine (a Python handler) touched memory the page tables forbid: the address came
        from the driver, so the verdict is located at the driver's call."""
        k = self.kernel
        api = k.current_export.name if k.current_export else "kernel"
        access = WRITE if fault.access == "write" else READ
        irql = k.machine.irql()
        note = f"{api} was handed an address it cannot {fault.access}"
        if not fault.pte & PTE_P and irql >= DISPATCH_LEVEL:
            b = BugCheck(IRQL_NOT_LESS_OR_EQUAL, (fault.address, irql, access, stop.rip), api=api)
        elif fault.address < USER_RANGE_END and (not fault.pte & PTE_P or access == WRITE):
            b = self.raise_exception(ExceptionRecord(STATUS_ACCESS_VIOLATION, stop.rip, (access, fault.address)),
                                     kind, k.caller)        # located at the caller already
            b.api = api
            b.notes.append(note)
            return b
        elif fault.access == "write" and fault.pte & PTE_P:
            b = BugCheck(ATTEMPTED_WRITE_TO_READONLY_MEMORY, (fault.address, fault.pte, 0, 0), api=api)
        else:
            b = BugCheck(PAGE_FAULT_IN_NONPAGED_AREA, (fault.address, 2 if access == WRITE else 0, stop.rip, 0),
                         api=api)
        b.notes.append(note)
        self.locate(b, k.caller, None)
        return b
