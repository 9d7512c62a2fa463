"""Structured exception handling as the x64 kernel does it (RtlDispatchException, RtlUnwindEx).

An exception in driver code (a fault the kernel turns into one, or ExRaiseStatus and friends) is
dispatched frame by frame from the context where it happened. Each frame is found and virtually
unwound with its image's .pdata/.xdata. A frame whose language handler is `__C_specific_handler`
(what MSVC and clang emit for `__try`) carries a scope table of (BeginAddress, EndAddress,
HandlerAddress, JumpTarget) RVAs, innermost scopes first:

- a scope with a JumpTarget is a `__try/__except`: HandlerAddress is the filter, 1 meaning
  EXCEPTION_EXECUTE_HANDLER outright, anything else a filter funclet called as
  `filter(EXCEPTION_POINTERS *, EstablisherFrame)`; it returns EXCEPTION_EXECUTE_HANDLER (1),
  EXCEPTION_CONTINUE_SEARCH (0) or EXCEPTION_CONTINUE_EXECUTION (-1);
- a scope without one is a `__try/__finally`: HandlerAddress is the termination handler, run
  during unwinding as `handler(AbnormalTermination = TRUE, EstablisherFrame)`.

When a filter accepts, the frames below the target are unwound (their `__finally` blocks run, and
those of the target frame nested inside the accepting scope), and execution resumes at the
JumpTarget with the target frame's registers and RAX = the exception code, as RtlUnwindEx does.

Filters and termination handlers are driver code: they run as ordinary calls on the kernel stack
below the faulting frame, with the EXCEPTION_RECORD and CONTEXT written there as the kernel's
trap handler writes them. Limits: language handlers other than `__C_specific_handler` (C++ EH,
__GSHandlerCheck) are treated as continue-search; nested exceptions inside a filter end the
dispatch as unhandled; the unwinder does not recognise epilogs (a fault inside an epilog of a
frame with a handler is rare and is unwound as if in the body).
"""
from __future__ import annotations

import ctypes
import struct
from dataclasses import dataclass
from typing import Iterator

from emu.loader import LoadedImage
from emu.machine import Raised
from emu.memory import MemoryFault
from emu.unwind import RSP, unwind_frame, unwind_info
from hooks import kstructs as ks
from hooks.api import NTSTATUS, PVOID, export
from hooks.trap import ExceptionRecord, write_trap_frames

EXCEPTION_EXECUTE_HANDLER = 1
EXCEPTION_CONTINUE_SEARCH = 0
EXCEPTION_CONTINUE_EXECUTION = -1
EXCEPTION_NONCONTINUABLE = 0x1
RAX = 0
MAX_FRAMES = 64
NO_HANDLER = "no __except handler on the stack took the exception"
MAX_SCOPES = 1024
_JMP_RIP = b"\xff\x25"                  # jmp qword ptr [rip+disp32]: an import thunk


@dataclass(frozen=True)
class Scope:
    begin: int
    end: int
    handler: int          # RVA of the filter / termination handler, or 1 (EXCEPTION_EXECUTE_HANDLER)
    target: int           # RVA of the __except block; 0 for __finally

    def contains(self, rva: int) -> bool:
        return self.begin <= rva < self.end


@dataclass
class Frame:
    image: LoadedImage
    pc: int                       # the faulting instruction (first frame) or a return address
    regs: dict[int, int]          # the registers as they are in this frame
    establisher: int
    scopes: tuple[Scope, ...]     # empty unless the frame's handler is __C_specific_handler

    @property
    def rva(self) -> int:
        return self.pc - self.image.base


@dataclass
class Handled:
    """Resume the interrupted run here: the __except block (or the faulting context again)."""

    regs: dict[int, int]
    rip: int


@dataclass
class NotHandled:
    reason: str


def dispatch(k, record: ExceptionRecord, regs: dict[int, int], pc: int, fault: bool,
             stack_limit: int) -> Handled | NotHandled:
    """Find a handler for `record`, raised in the context `regs` at `pc`: the faulting instruction
    if `fault`, else the return address in the driver of the kernel routine that raised (`regs`
    then being the caller's context). Runs the filters and termination handlers it takes and says
    where to resume. `stack_limit` is the lowest usable kernel stack address."""
    seen: list[Frame] = []
    pointers = None
    for frame in _frames(k, dict(regs), pc, fault):
        seen.append(frame)
        for index, scope in enumerate(frame.scopes):
            if not scope.target or not scope.contains(frame.rva):
                continue
            if scope.handler == EXCEPTION_EXECUTE_HANDLER:
                verdict = EXCEPTION_EXECUTE_HANDLER
            else:
                if pointers is None:
                    pointers = _write_exception(k, record, regs, stack_limit)
                    if not pointers:
                        return NotHandled("no room on the kernel stack to dispatch the exception")
                verdict = _guest(k, frame.image.base + scope.handler, [pointers, frame.establisher], pointers)
                if isinstance(verdict, NotHandled):
                    return verdict
            if verdict == EXCEPTION_CONTINUE_SEARCH:
                continue
            if verdict < 0:
                if record.flags & EXCEPTION_NONCONTINUABLE:
                    return NotHandled("a filter asked to continue a non-continuable exception")
                return _continue(k, pointers)
            failed = _unwind(k, seen, index, pointers or _write_exception(k, record, regs, stack_limit))
            if failed:
                return failed
            resumed = dict(frame.regs)
            resumed[RAX] = record.code
            return Handled(resumed, frame.image.base + scope.target)
    return NotHandled(NO_HANDLER)


def _frames(k, regs: dict[int, int], pc: int, fault: bool) -> Iterator[Frame]:
    """Driver frames from the exception outwards, until the stack leaves the driver's images."""
    is_return = not fault
    for _ in range(MAX_FRAMES):
        image = k.image_at(pc)
        if image is None:
            return
        try:
            info = unwind_info(image.functions, pc - image.base - (1 if is_return else 0))
            scopes = _scopes(k, image, info.handler, info.handler_data) if info and info.flags else ()
            establisher = info.establisher_frame(regs) if info else regs[RSP]
            yield Frame(image, pc, dict(regs), establisher, scopes)
            pc = unwind_frame(image.functions, image.base, pc, regs, k.mem.read_q, is_return)
        except (LookupError, MemoryFault):
            return
        is_return = True


def _scopes(k, image: LoadedImage, handler_rva: int, data_rva: int) -> tuple[Scope, ...]:
    """The scope table, if the frame's language handler is __C_specific_handler."""
    if _handler_target(k, image.base + handler_rva) != k.module_exports["ntoskrnl.exe"].get("__C_specific_handler"):
        return ()
    count = image.image.u32(data_rva)
    if count is None or count > MAX_SCOPES:
        return ()
    raw = image.image.read(data_rva + 4, 16 * count)
    return tuple(Scope(*entry) for entry in struct.iter_unpack("<IIII", raw[:len(raw) - len(raw) % 16]))


def _handler_target(k, address: int) -> int:
    """Where a language handler really is: through an import thunk (`jmp [rip+disp]`) if it is one."""
    try:
        code = k.mem.read(address, 6)
        if code[:2] == _JMP_RIP:
            return k.mem.read_q(address + 6 + struct.unpack("<i", code[2:])[0])
    except MemoryFault:
        return 0
    return address


def _write_exception(k, record: ExceptionRecord, regs: dict[int, int], stack_limit: int) -> int:
    """The trap handler's structures below the faulting frame, and EXCEPTION_POINTERS to them;
    returns the pointers' address (0 when the stack has no room). Filters run below it."""
    frames = write_trap_frames(k, record, regs, stack_limit)
    if not frames.context:
        return 0
    pointers = (frames.context - ctypes.sizeof(ks.EXCEPTION_POINTERS)) & ~0xF
    k.write_struct(pointers, ks.EXCEPTION_POINTERS(frames.exception_record, frames.context))
    return pointers


def _guest(k, routine: int, args: list[int], below: int) -> int | NotHandled:
    """Call driver code (a filter or termination handler) below the exception's frame area."""
    stop = k.call(routine, args, stack_top=(below - 0x100) & ~0xF)
    if stop.kind != "returned":
        return NotHandled(f"the handler at {k.symbol(routine)} did not return ({stop.kind}) while the "
                          "exception was being dispatched")
    return ctypes.c_int32(stop.return_value & 0xFFFFFFFF).value


def _unwind(k, frames: list[Frame], target_index: int, below: int) -> NotHandled | None:
    """Run the __finally blocks between the exception and the accepting scope, innermost first:
    every one around the PC in the frames passed, and in the target frame those nested inside
    the accepting scope (listed before it)."""
    last = len(frames) - 1
    for n, frame in enumerate(frames):
        for scope in frame.scopes[:target_index] if n == last else frame.scopes:
            if not scope.target and scope.contains(frame.rva):
                failed = _guest(k, frame.image.base + scope.handler, [1, frame.establisher], below)
                if isinstance(failed, NotHandled):
                    return failed
    return None


def _continue(k, pointers: int) -> Handled:
    """EXCEPTION_CONTINUE_EXECUTION: resume with the CONTEXT as the filter left it."""
    ctx_at = k.mem.read_q(pointers + 8)
    ctx = k.read_struct(ks.CONTEXT, ctx_at)
    return Handled({i: getattr(ctx, name) for i, name in enumerate(ks.CONTEXT_GPRS)}, ctx.Rip)


# ---- the kernel routines that raise ------------------------------------------------------------
STATUS_ACCESS_VIOLATION = 0xC0000005
STATUS_DATATYPE_MISALIGNMENT = 0x80000002


@export("ExRaiseStatus")
def ExRaiseStatus(k, Status: NTSTATUS) -> None:
    """Raises Status as a non-continuable exception, as RtlRaiseStatus does."""
    raise Raised(Status, flags=EXCEPTION_NONCONTINUABLE)


@export("ExRaiseAccessViolation")
def ExRaiseAccessViolation(k) -> None:
    raise Raised(STATUS_ACCESS_VIOLATION, flags=EXCEPTION_NONCONTINUABLE)


@export("ExRaiseDatatypeMisalignment")
def ExRaiseDatatypeMisalignment(k) -> None:
    raise Raised(STATUS_DATATYPE_MISALIGNMENT, flags=EXCEPTION_NONCONTINUABLE)


@export("RtlRaiseException", "ExRaiseException")
def RtlRaiseException(k, ExceptionRecord: PVOID) -> None:
    """Raises the driver's own EXCEPTION_RECORD (code, flags, parameters)."""
    rec = k.read_struct(ks.EXCEPTION_RECORD, ExceptionRecord)
    count = min(rec.NumberParameters, ks.EXCEPTION_MAXIMUM_PARAMETERS)
    raise Raised(rec.ExceptionCode & 0xFFFFFFFF, tuple(rec.ExceptionInformation[:count]), rec.ExceptionFlags)
