"""The emulated x64 CPU in long mode, its address space, and one way to run code: `call`.

Python is entered only on an interrupt/exception (which ends the run) and when execution reaches
the API stub area (one UC_HOOK_CODE restricted to that range, see `emu.dispatch`). Driver code
itself runs at Unicorn's JIT speed with no per-instruction or per-block callback.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import struct
import threading
import time
import weakref
from dataclasses import dataclass
from typing import ClassVar, Iterator

from unicorn import UC_ARCH_X86, UC_HOOK_INTR, UC_MODE_64, UC_PROT_ALL, Uc, UcError
from unicorn.unicorn_py3.unicorn import UcContext, uclib
from unicorn import unicorn_const as ucc
from unicorn import x86_const as x

from emu.memory import AddressSpace, MemoryFault, PhysicalMemory
from emu.watchdog import WATCHDOG

MSR_EFER = 0xC0000080
EFER_LME, EFER_LMA, EFER_NXE = 1 << 8, 1 << 10, 1 << 11
CR0_PE, CR0_WP, CR0_PG = 1, 1 << 16, 1 << 31
CR4_PAE, CR4_OSFXSR, CR4_OSXMMEXCPT = 1 << 5, 1 << 9, 1 << 10

# Exceptions the CPU raises, by vector.
EXC_DIVIDE, EXC_DEBUG, EXC_BREAKPOINT, EXC_INVALID_OPCODE = 0, 1, 3, 6
EXC_DOUBLE_FAULT, EXC_GP, EXC_PAGE_FAULT = 8, 13, 14
# Software interrupts Windows x64 gives a meaning: `int 0x29` is __fastfail (code in ECX),
# `int 0x2c` is NT_ASSERT's assertion failure.
INT_FAST_FAIL, INT_ASSERTION = 0x29, 0x2C
MOV_RAX_CR8 = bytes.fromhex("440f20c0")         # how guest code reads the IRQL
MOV_CR8_RCX = bytes.fromhex("440f22c1")         # and sets it

_HFLAGS2_OFFSET = 180          # CPUX86State.hflags2 (QEMU 5.0 layout, Unicorn 2.1)
_HF2_GIF, _HF2_VINTR = 1 << 0, 1 << 3
ARG_REGS = (x.UC_X86_REG_RCX, x.UC_X86_REG_RDX, x.UC_X86_REG_R8, x.UC_X86_REG_R9)
ARG_NUMBERS, RSP_NUMBER = (1, 2, 8, 9), 4       # the same registers (and RSP) by encoding number
_TLB_FLUSH = ucc.UC_CTL_IO_WRITE << 30 | ucc.UC_CTL_TLB_FLUSH     # uc_ctl's code: write, no argument
# The 16 general registers in x64 encoding order (0 RAX ... 4 RSP, 5 RBP ... 15 R15), as CONTEXT
# and the unwinder number them.
GPR_IDS = (x.UC_X86_REG_RAX, x.UC_X86_REG_RCX, x.UC_X86_REG_RDX, x.UC_X86_REG_RBX, x.UC_X86_REG_RSP,
           x.UC_X86_REG_RBP, x.UC_X86_REG_RSI, x.UC_X86_REG_RDI, x.UC_X86_REG_R8, x.UC_X86_REG_R9,
           x.UC_X86_REG_R10, x.UC_X86_REG_R11, x.UC_X86_REG_R12, x.UC_X86_REG_R13, x.UC_X86_REG_R14,
           x.UC_X86_REG_R15)


@dataclass
class Stop:
    """Why a `call` ended: reached its return address, a CPU exception, a budget, or a request."""

    kind: str                   # returned | exception | raised | budget | halted | engine
    rip: int = 0
    vector: int | None = None   # CPU exception vector for kind == exception
    cr2: int = 0
    detail: object = None       # for halted: what the hook layer raised; for engine: the UcError text
    return_value: int = 0


class Halt(Exception):
    """Raised inside an API handler to end the run at once (a bug check, a fatal condition)."""

    def __init__(self, reason: object):
        super().__init__(str(reason))
        self.reason = reason


class Raised(Exception):
    """Raised inside a kernel routine to raise a software exception in the calling driver, as
    ExRaiseStatus or ProbeForRead do: the run stops at the routine's stub with this as the
    Stop's detail, and the kernel dispatches it to the driver's exception handlers."""

    def __init__(self, code: int, information: tuple[int, ...] = (), flags: int = 0):
        super().__init__(f"exception 0x{code:08x}")
        self.code, self.information, self.flags = code, tuple(information), flags


class NestedStop(Exception):
    """A nested call (driver code run from inside a kernel routine) did not return: the whole run
    ends. The Stop that ended it is already recorded on the machine; the CPU keeps the nested state."""

    def __init__(self, stop: Stop):
        super().__init__(stop.kind)
        self.stop = stop


class Machine:
    """CPU + memory. `call(fn, args, return_to)` runs guest code until it returns to `return_to`."""

    RAM_SIZE = 1 << 30
    # Unicorn reserves 1 GiB for translated code by default: with the guest RAM, two machines did not
    # fit a batch worker's 4 GiB address-space limit (a fuzzed driver replays findings in a second
    # one). A driver's translated code is tens of MiB at most; when the buffer fills, Unicorn
    # flushes it and translates again.
    TB_BUFFER = 256 << 20
    last_started: ClassVar[weakref.ref[Machine] | None] = None     # what Ctrl-C stops, see stop_on_interrupt

    def __init__(self, ram_size: int | None = None):
        self.phys = PhysicalMemory(ram_size or self.RAM_SIZE)
        self.mem = AddressSpace(self.phys)
        self.uc = Uc(UC_ARCH_X86, UC_MODE_64)
        self.uc.ctl_set_tcg_buffer_size(self.TB_BUFFER)
        self.uc.mem_map_ptr(0, self.phys.size, UC_PROT_ALL, self.phys.host_address)
        # Page-table edits from Python bypass the CPU: drop its cached translations, as the kernel
        # would with INVLPG; writes into code pages from Python drop translated blocks there.
        self.mem.on_translation_change = self.flush_tlb
        self.mem.on_code_write = self.forget_code
        self._setup_long_mode()
        self.models_cr8 = self._model_cr8()
        self._clean_context = self.uc.context_save()
        self._clean_with_gs: tuple[int, UcContext] | None = None     # (GS base, the clean context with it)
        # Unicorn's Python API costs a few microseconds per call: the calls every run makes go
        # straight to the library (same arguments, status checked).
        self._uch = self.uc._uch
        self._word = ctypes.c_uint64()
        self._word_ref = ctypes.byref(self._word)
        self._weak = weakref.ref(self)
        self._stop: Stop | None = None
        self.uc.hook_add(UC_HOOK_INTR, self._on_interrupt)
        self.instructions_budget = 0       # 0 = unlimited (a count budget costs JIT speed)
        # The CPU's general registers in place (emu.dispatch.cpu_registers, set by the stub area when
        # found): a call's arguments are written there, not through Unicorn's API (a few us each).
        self.gprs: memoryview | None = None
        self.time_budget_s = 0.0           # 0 = unlimited
        self.gs_base = 0
        self.irql_probe = 0                # guest address of MOV_RAX_CR8 (see irql)
        self.irql_setter = 0               # guest address of MOV_CR8_RCX (see _set_irql)
        self.snapshot_point = None         # the snapshot a restore is cheapest to (see emu.snapshot)

    def _setup_long_mode(self) -> None:
        uc = self.uc
        uc.reg_write(x.UC_X86_REG_CR3, self.mem.pml4)
        uc.reg_write(x.UC_X86_REG_CR4, CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT)
        uc.reg_write(x.UC_X86_REG_MSR, (MSR_EFER, EFER_LME | EFER_LMA | EFER_NXE))
        uc.reg_write(x.UC_X86_REG_CR0, CR0_PE | CR0_WP | CR0_PG | 0x22)  # + MP, NE

    def _model_cr8(self) -> bool:
        """Make `mov cr8` a working task-priority register (Windows keeps the IRQL there).

        Unicorn has no local APIC, so CR8 reads as 0 whatever was written. QEMU reads it back
        from its virtual TPR when the CPU's "virtual interrupt masking" flag (hflags2 bit 3) is
        set. That flag is not a register, so it is set in a saved CPU context: the context is
        located by a sentinel in RAX..RBX (the CPU state begins with the 16 general registers;
        hflags2 follows at +180 in the QEMU 5 layout Unicorn 2.1 uses) and only changed when
        the word there holds exactly the expected reset value. Returns whether CR8 is modelled.
        """
        ids = (x.UC_X86_REG_RAX, x.UC_X86_REG_RCX, x.UC_X86_REG_RDX, x.UC_X86_REG_RBX)
        sentinel = [0x5EA7C8_0000_0000 | i for i in range(4)]
        for reg_id, value in zip(ids, sentinel):
            self.uc.reg_write(reg_id, value)
        ctx = self.uc.context_save()
        raw = ctypes.string_at(ctx._context.value, ctx.size)
        at = raw.find(struct.pack("<4Q", *sentinel))
        for reg_id in ids:
            self.uc.reg_write(reg_id, 0)
        if at < 0 or raw.find(struct.pack("<4Q", *sentinel), at + 1) >= 0:
            return False
        hflags2 = at + _HFLAGS2_OFFSET
        if struct.unpack_from("<I", raw, hflags2)[0] != _HF2_GIF:
            return False
        ctypes.memmove(ctx._context.value + hflags2, struct.pack("<I", _HF2_GIF | _HF2_VINTR), 4)
        self.uc.context_restore(ctx)
        for reg_id in ids:
            self.uc.reg_write(reg_id, 0)
        return True

    def flush_tlb(self) -> None:
        status = uclib.uc_ctl(self._uch, _TLB_FLUSH)
        if status:
            raise UcError(status)

    def rip(self) -> int:
        status = uclib.uc_reg_read(self._uch, x.UC_X86_REG_RIP, self._word_ref)
        if status:
            raise UcError(status)
        return self._word.value

    def rax(self) -> int:
        gprs = self.gprs
        return gprs[0] if gprs is not None else self.uc.reg_read(x.UC_X86_REG_RAX)

    def _clean_cpu(self) -> None:
        """The CPU as at start (which also clears pending-exception state) with GS = the KPCR."""
        uc = self.uc
        kept = self._clean_with_gs
        if kept is not None and kept[0] == self.gs_base:
            self.restore_cpu(kept[1])
            return
        self.restore_cpu(self._clean_context)
        uc.reg_write(x.UC_X86_REG_GS_BASE, self.gs_base)
        self._clean_with_gs = (self.gs_base, uc.context_save())

    def forget_code(self, va: int, size: int) -> None:
        self.uc.ctl_remove_cache(va, va + size)

    # ---- registers -------------------------------------------------------------------------------
    def reg(self, reg_id: int) -> int:
        return self.uc.reg_read(reg_id)

    def set_reg(self, reg_id: int, value: int) -> None:
        self.uc.reg_write(reg_id, value & 0xFFFFFFFFFFFFFFFF)

    def registers(self) -> dict[int, int]:
        """The 16 general registers by x64 encoding number (0 RAX ... 4 RSP, 5 RBP ... 15 R15)."""
        return dict(enumerate(self.uc.reg_read_batch(GPR_IDS)))

    def reg_rsp(self) -> int:
        return self.uc.reg_read(x.UC_X86_REG_RSP)

    def irql(self) -> int:
        """The current IRQL: CR8, as on x64 Windows. Unicorn's register API does not see the virtual
        TPR that guest `mov cr8` uses (see _model_cr8), so guest code reads it: `irql_probe` (a
        `mov rax, cr8` routine, set by the kernel) runs between a saved and a restored CPU context,
        leaving the stopped CPU as it was. Call it only while the CPU is stopped (not from a hook).
        0 without a probe or a modelled CR8."""
        if not self.irql_probe or not self.models_cr8:
            return 0
        saved = self.uc.context_save()
        try:
            self.uc.emu_start(self.irql_probe, self.irql_probe + len(MOV_RAX_CR8))
            return self.rax() & 0xF
        finally:
            self.restore_cpu(saved)

    def _set_irql(self, irql: int) -> None:
        """Set CR8 the way `irql` reads it: guest code (`irql_setter`, a `mov cr8, rcx` routine)."""
        if self.irql_setter and self.models_cr8:
            self.uc.reg_write(x.UC_X86_REG_RCX, irql)
            self.uc.emu_start(self.irql_setter, self.irql_setter + len(MOV_CR8_RCX))

    def eflags(self) -> int:
        return self.uc.reg_read(x.UC_X86_REG_EFLAGS)

    def set_gs_base(self, value: int) -> None:
        """GS base (the KPCR on Windows); re-applied at every call since calls start from a clean CPU."""
        self.gs_base = value
        self.uc.reg_write(x.UC_X86_REG_GS_BASE, value)

    # ---- running -----------------------------------------------------------------------------------
    def request_stop(self, stop: Stop) -> None:
        """Called from hooks: end the current run with this reason."""
        if self._stop is None:
            self._stop = stop
        self.uc.emu_stop()

    def _on_interrupt(self, uc: Uc, vector: int, _user) -> None:
        rip = uc.reg_read(x.UC_X86_REG_RIP)
        cr2 = uc.reg_read(x.UC_X86_REG_CR2) if vector in (EXC_PAGE_FAULT, EXC_DOUBLE_FAULT) else 0
        self.request_stop(Stop("exception", rip=rip, vector=vector, cr2=cr2))

    def _after_hlt(self, rip: int) -> bool:
        try:
            return self.mem.read_unchecked(rip - 1, 1) == b"\xf4"
        except MemoryFault:
            return False

    def _frame(self, args: list[int], return_to: int, stack_top: int) -> None:
        """The frame a callee sees below `stack_top`: return address, 4 home slots, stack arguments."""
        uc = self.uc
        rsp = (stack_top - 8 * max(4, len(args)) - 8) & ~0xF
        self.mem.write_q(rsp - 8, return_to)
        for i, value in enumerate(args[4:]):
            self.mem.write_q(rsp + 0x20 + 8 * i, value)
        gprs = self.gprs
        if gprs is not None:
            for number, value in zip(ARG_NUMBERS, args):
                gprs[number] = value & 0xFFFFFFFFFFFFFFFF
            gprs[RSP_NUMBER] = rsp - 8
            return
        for reg_id, value in zip(ARG_REGS, args):
            uc.reg_write(reg_id, value & 0xFFFFFFFFFFFFFFFF)
        uc.reg_write(x.UC_X86_REG_RSP, rsp - 8)

    def nested_call(self, fn: int, args: list[int], return_to: int) -> int:
        """From inside a hook (a kernel routine calling back into the driver, as Windows calls a
        QueryRoutine): run fn(*args) on the current stack below the interrupted frame until it
        returns to `return_to`, then restore the interrupted CPU context, so the outer run goes on as
        if the hook had returned. Returns RAX. If the nested code does not return (a fault, a bug
        check, the budget), its Stop is kept for the outer run and `NestedStop` is raised."""
        uc = self.uc
        saved = uc.context_save()
        self._frame(args, return_to, uc.reg_read(x.UC_X86_REG_RSP) - 0x100)
        try:
            # No budget of its own: the watchdog armed by the outer run stops the nested code
            # (and then the outer run) when the time budget runs out.
            uc.emu_start(fn, return_to, count=self.instructions_budget)
        except UcError as exc:
            if self._stop is None:
                self._stop = Stop("engine", rip=self.rip(), detail=str(exc))
        rip = self.rip()
        if self._stop is None and rip != return_to:
            self._stop = Stop("budget", rip=rip, detail="instructions" if self.instructions_budget else "time")
        if self._stop is not None:
            raise NestedStop(self._stop)
        result = self.rax()
        self.restore_cpu(saved)
        return result

    def call(self, fn: int, args: list[int], return_to: int, stack_top: int, irql: int = 0) -> Stop:
        """Run fn(*args) with the x64 calling convention at `irql` until it returns to `return_to`.

        `return_to` must be an address whose execution ends the run (the dispatcher's return trap).
        """
        self._clean_cpu()
        if irql:
            self._set_irql(irql)
        self._frame(args, return_to, stack_top)
        return self._run(fn, return_to)

    def resume(self, regs: dict[int, int], rip: int, irql: int, return_to: int) -> Stop:
        """Go on with a stopped run from a full register context (the 16 general registers by
        encoding number) at `rip`, at `irql`: where the kernel resumes after a handled exception."""
        uc = self.uc
        self._clean_cpu()
        if irql:
            self._set_irql(irql)
        uc.reg_write_batch([(GPR_IDS[i], value & 0xFFFFFFFFFFFFFFFF) for i, value in regs.items()])
        return self._run(rip, return_to)

    def park_cpu(self) -> bytes:
        """The CPU of a run stopped at a kernel routine's stub, as bytes (kept in kernel state, which
        snapshots copy): `resume_from_stub` goes on with it later, after other code ran."""
        return bytes(self.uc.context_save())

    def resume_from_stub(self, parked: bytes, value: int, return_to: int) -> Stop:
        """Go on with a run `park_cpu` saved at a routine's stub as if the routine returned `value`:
        the whole CPU back (registers, flags, vector state, IRQL), RAX = value, and the stub's `ret`
        done here (resuming at the stub would call the routine again)."""
        uc = self.uc
        ctx = UcContext.__new__(UcContext)
        ctx.__setstate__((parked, len(parked), UC_ARCH_X86, UC_MODE_64))
        self.restore_cpu(ctx)
        uc.reg_write(x.UC_X86_REG_GS_BASE, self.gs_base)
        rsp = uc.reg_read(x.UC_X86_REG_RSP)
        uc.reg_write(x.UC_X86_REG_RAX, value & 0xFFFFFFFFFFFFFFFF)
        uc.reg_write(x.UC_X86_REG_RSP, rsp + 8)
        return self._run(self.mem.read_q(rsp), return_to)

    def save_cpu(self) -> object:
        """The CPU's state, to put back with `restore_cpu` after running other guest code."""
        return self.uc.context_save()

    def restore_cpu(self, saved: UcContext) -> None:
        status = uclib.uc_context_restore(self._uch, saved._context)
        if status:
            raise UcError(status)

    def _run(self, start: int, return_to: int) -> Stop:
        uc = self.uc
        self._stop = None
        Machine.last_started = self._weak
        started = time.perf_counter()
        if self.time_budget_s:
            WATCHDOG.arm(uc, self.time_budget_s)
        try:
            while True:
                try:
                    uc.emu_start(start, return_to, count=self.instructions_budget)
                except UcError as exc:
                    if self._stop is None:
                        rip = self.rip()
                        vector = EXC_INVALID_OPCODE if exc.errno == ucc.UC_ERR_INSN_INVALID else None
                        kind = "exception" if vector is not None else "engine"
                        self._stop = Stop(kind, rip=rip, vector=vector, detail=str(exc))
                rip = self.rip()
                # Unicorn stops after HLT; on Windows the next interrupt resumes the processor.
                if self._stop is None and rip != return_to and self._after_hlt(rip) \
                        and (not self.time_budget_s or time.perf_counter() - started < self.time_budget_s):
                    start = rip
                    continue
                break
        finally:
            if self.time_budget_s:
                WATCHDOG.disarm()
        stop = self._stop
        if stop is not None and isinstance(stop.detail, KeyboardInterrupt):
            self._stop = None
            raise stop.detail                        # Ctrl-C inside a hook: the user's, not the driver's
        if stop is None:
            if rip == return_to:
                stop = Stop("returned", rip=rip, return_value=self.rax())
            else:
                elapsed = time.perf_counter() - started
                over_time = bool(self.time_budget_s) and elapsed >= self.time_budget_s * 0.95
                stop = Stop("budget", rip=rip, detail="time" if over_time else "instructions")
        self._stop = None
        return stop


@contextlib.contextmanager
def stop_on_interrupt() -> Iterator[None]:
    """Within this block, Ctrl-C ends the running emulation at once, not when its time budget runs out.

    Driver code runs inside uc_emu_start, in C with the GIL released and no Python hook, so Python's
    SIGINT handler (which raises KeyboardInterrupt) only runs once emu_start returns. Python's C-level
    handler also writes the signal number to the wakeup fd: a thread blocked on that pipe calls emu_stop
    on the machine that started last, and KeyboardInterrupt follows in the main thread as usual. Nothing
    runs on the emulation's hot path. Signals are only delivered to the main thread: elsewhere, a no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    previous = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    watcher = threading.Thread(target=_stop_on_sigint, args=(read_end,), name="verifier-sigint", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous)
        os.close(write_end)                     # the watcher reads end-of-file and returns
        watcher.join()


def _stop_on_sigint(read_end: int) -> None:
    with open(read_end, "rb", buffering=0) as pipe:
        while signals := pipe.read(64):
            machine = Machine.last_started() if Machine.last_started else None
            if signal.SIGINT in signals and machine is not None:
                machine.uc.emu_stop()           # harmless if that machine is not running any more
