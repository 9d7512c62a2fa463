"""The API stub area: one `ret` per kernel routine, one code hook over the area, one table lookup.

Driver code reaches a kernel routine by calling its stub. The single UC_HOOK_CODE is restricted to
the stub area, so Unicorn calls into Python only there; driver code, and the kernel's own machine
code routines (placed below the area), never pay for it. The hook reads the argument registers and
RSP, looks the stub up in a table built once, calls the Python routine, writes RAX, and the stub's
own `ret` returns to the driver.

Registers are read and written in the CPU's own state (see `cpu_registers`): through Unicorn's API
each access is a ctypes foreign call of a few microseconds, more than the rest of a cheap call.
"""
from __future__ import annotations

import bisect
import ctypes
import os
import struct
from typing import Callable

from unicorn import UC_HOOK_CODE, Uc
from unicorn import x86_const as x
from unicorn.unicorn_py3.unicorn import HOOK_CODE_CFUNC, uc_hook_h, uclib

from emu.machine import Halt, Machine, Raised, Stop

# A routine gets (rcx, rdx, r8, r9, rsp) and returns the new RAX or None to leave RAX alone.
Routine = Callable[[int, int, int, int, int], "int | None"]

_READ_BATCH = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int)
_WRITE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)
_BATCH = (x.UC_X86_REG_RCX, x.UC_X86_REG_RDX, x.UC_X86_REG_R8, x.UC_X86_REG_R9, x.UC_X86_REG_RSP)
# CPUX86State.regs: the 16 general registers in encoding order (0 RAX, 1 RCX, 2 RDX, 4 RSP, 8 R8, 9 R9).
_GPRS = (x.UC_X86_REG_RAX, x.UC_X86_REG_RCX, x.UC_X86_REG_RDX, x.UC_X86_REG_RBX, x.UC_X86_REG_RSP,
         x.UC_X86_REG_RBP, x.UC_X86_REG_RSI, x.UC_X86_REG_RDI, x.UC_X86_REG_R8, x.UC_X86_REG_R9,
         x.UC_X86_REG_R10, x.UC_X86_REG_R11, x.UC_X86_REG_R12, x.UC_X86_REG_R13, x.UC_X86_REG_R14,
         x.UC_X86_REG_R15)
_STRUCT_SCAN, _OBJECT_SCAN = 1 << 11, 1 << 17
_found: list[tuple[int, int]] = []      # (offset in uc_struct of a pointer, delta to regs), once per process


def cpu_registers(uc: Uc) -> memoryview | None:
    """The live general registers of `uc`'s CPU (CPUX86State.regs, 16 uint64 in encoding order)
    as a writable memoryview, or None if they cannot be located and proven.

    Unicorn's API reads and writes exactly these words (a code hook runs with them synced), but
    does not expose their address. It is found from the engine's handle: a word of its uc_struct
    points to the CPU object, whose state is recognised by random values written through the API.
    Only memory that /proc/self/maps shows readable is read. The candidate is then proven both
    ways (API writes seen in memory, memory writes seen by the API); on any doubt this returns
    None and the caller uses the API. Searched once per process, then only proven again (and
    searched again should that fail).
    """
    uch = uc._uch.value
    try:
        readable = _readable_memory()
    except OSError:                   # no /proc (not Linux): nothing is read blindly
        return None
    for candidates in (lambda: list(_found), lambda: _search(uc, uch, readable)):
        for off, delta in candidates():
            address = ctypes.c_uint64.from_address(uch + off).value + delta
            if readable(address, 128) == 128 and _proven(uc, address):
                _found[:] = [(off, delta)]
                return memoryview((ctypes.c_uint64 * 16).from_address(address)).cast("B").cast("Q")
    return None


def _readable_memory() -> Callable[[int, int], int]:
    """readable(address, size): how many of those bytes are in readable mappings of this process."""
    spans = []
    with open("/proc/self/maps", encoding="ascii") as maps:
        for line in maps:
            where, perms = line.split()[:2]
            if perms.startswith("r"):
                spans.append(tuple(int(v, 16) for v in where.split("-")))
    spans.sort()
    starts = [lo for lo, _ in spans]

    def readable(address: int, size: int) -> int:
        i = bisect.bisect_right(starts, address) - 1
        return max(0, min(size, spans[i][1] - address)) if i >= 0 else 0

    return readable


def _search(uc: Uc, uch: int, readable: Callable[[int, int], int]) -> list[tuple[int, int]]:
    sentinel = [int.from_bytes(os.urandom(8), "little") | 1 for _ in range(4)]
    for reg_id, value in zip(_GPRS, sentinel):
        uc.reg_write(reg_id, value)
    pattern = struct.pack("<4Q", *sentinel)
    # The CPU pointer is among the first fields of uc_struct; the state lies within the CPU object.
    own = ctypes.string_at(uch, readable(uch, _STRUCT_SCAN))
    found = []
    for off in range(0, len(own) - 7, 8):
        pointer = struct.unpack_from("<Q", own, off)[0]
        size = readable(pointer, _OBJECT_SCAN)
        at = ctypes.string_at(pointer, size).find(pattern) if size >= 32 else -1
        if at >= 0 and at % 8 == 0:
            found.append((off, at))
    for reg_id in _GPRS[:4]:
        uc.reg_write(reg_id, 0)
    return found


def _proven(uc: Uc, address: int) -> bool:
    """Whether the 16 words at `address` are the registers, both ways; leaves them zero. Memory
    is written only once it has shown 16 fresh random values the API just wrote."""
    regs = (ctypes.c_uint64 * 16).from_address(address)
    values = [int.from_bytes(os.urandom(8), "little") for _ in _GPRS]
    uc.reg_write_batch(list(zip(_GPRS, values)))
    proven = list(regs) == values
    if proven:
        regs[:] = values[::-1]
        proven = list(uc.reg_read_batch(_GPRS)) == values[::-1]
    uc.reg_write_batch([(reg_id, 0) for reg_id in _GPRS])
    return proven


class StubArea:
    """Owns [base, base+size): stub addresses, their routines, and the one hook that runs them."""

    def __init__(self, machine: Machine, base: int, size: int):
        self.machine = machine
        self.base, self.size = base, size
        self.routines: dict[int, Routine] = {}
        regs = cpu_registers(machine.uc)
        on_stub = self._direct(regs) if regs is not None else self._through_api()
        machine.gprs = regs
        self._callback = HOOK_CODE_CFUNC(on_stub)   # keep a reference: Unicorn holds a raw pointer
        handle = uc_hook_h()
        status = uclib.uc_hook_add(machine.uc._uch, ctypes.byref(handle), UC_HOOK_CODE, self._callback, None,
                                   ctypes.c_uint64(base), ctypes.c_uint64(base + size - 1))
        if status:
            raise RuntimeError(f"uc_hook_add failed with status {status}")

    def _direct(self, regs: memoryview) -> Callable:
        """The hook reading and writing the CPU's registers in place."""
        routines, machine = self.routines, self.machine

        def on_stub(_uc, address, _size, _key):
            routine = routines.get(address)
            if routine is None:
                return                        # a return trap or an unused byte: `call` handles it
            try:
                result = routine(regs[1], regs[2], regs[8], regs[9], regs[4])
                if result is not None:
                    regs[0] = result & 0xFFFFFFFFFFFFFFFF
            except Halt as halt:
                machine.request_stop(Stop("halted", rip=address, detail=halt.reason))
            except Raised as raised:
                machine.request_stop(Stop("raised", rip=address, detail=raised))
            except BaseException as exc:      # never let an exception die inside ctypes
                machine.request_stop(Stop("engine", rip=address, detail=exc))

        return on_stub

    def _through_api(self) -> Callable:
        """The hook using Unicorn's register API (when the CPU state cannot be located)."""
        routines, machine = self.routines, self.machine
        uch = machine.uc._uch.value
        n = len(_BATCH)
        self._buffers = regs, vals, ptrs, rax = (
            (ctypes.c_int * n)(*_BATCH), (ctypes.c_uint64 * n)(), (ctypes.c_void_p * n)(), ctypes.c_uint64())
        ptrs[:] = [ctypes.addressof(vals) + 8 * i for i in range(n)]
        # Plain-address prototypes: ctypes converts ints far faster than the binding's pointer argtypes.
        read_batch = _READ_BATCH(ctypes.cast(uclib.uc_reg_read_batch, ctypes.c_void_p).value)
        write = _WRITE(ctypes.cast(uclib.uc_reg_write, ctypes.c_void_p).value)
        regs_at, ptrs_at, rax_at = ctypes.addressof(regs), ctypes.addressof(ptrs), ctypes.addressof(rax)
        rax_id = x.UC_X86_REG_RAX

        def on_stub(_uc, address, _size, _key):
            routine = routines.get(address)
            if routine is None:
                return
            try:
                read_batch(uch, regs_at, ptrs_at, n)
                result = routine(*vals[:])
                if result is not None:
                    rax.value = result & 0xFFFFFFFFFFFFFFFF
                    write(uch, rax_id, rax_at)
            except Halt as halt:
                machine.request_stop(Stop("halted", rip=address, detail=halt.reason))
            except Raised as raised:
                machine.request_stop(Stop("raised", rip=address, detail=raised))
            except BaseException as exc:
                machine.request_stop(Stop("engine", rip=address, detail=exc))

        return on_stub

    def bind(self, address: int, routine: Routine) -> None:
        if not self.base <= address < self.base + self.size:
            raise ValueError(f"stub 0x{address:x} outside the stub area")
        self.routines[address] = routine
