"""The API stub area: one `ret` per kernel routine, one code hook over the area, one table lookup.

Driver code reaches a kernel routine by calling its stub. The single UC_HOOK_CODE is restricted to
the stub area, so Unicorn calls into Python only there; driver code never pays for it. The hook
reads the argument registers and RSP in one batch, looks the stub up in a table built once, calls
the Python routine, writes RAX, and the stub's own `ret` returns to the driver.
"""
from __future__ import annotations

import ctypes
from typing import Callable

from unicorn import UC_HOOK_CODE
from unicorn import x86_const as x
from unicorn.unicorn_py3.unicorn import HOOK_CODE_CFUNC, uc_hook_h, uclib

from emu.machine import Halt, Machine, Raised, Stop

# A routine gets (rcx, rdx, r8, r9, rsp) and returns the new RAX or None to leave RAX alone.
Routine = Callable[[int, int, int, int, int], "int | None"]

_READ_BATCH = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int)
_WRITE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)
_BATCH = (x.UC_X86_REG_RCX, x.UC_X86_REG_RDX, x.UC_X86_REG_R8, x.UC_X86_REG_R9, x.UC_X86_REG_RSP)


class StubArea:
    """Owns [base, base+size): stub addresses, their routines, and the one hook that runs them."""

    def __init__(self, machine: Machine, base: int, size: int):
        self.machine = machine
        self.base, self.size = base, size
        self.routines: dict[int, Routine] = {}
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
        routines = self.routines

        def on_stub(_uc, address, _size, _key):
            routine = routines.get(address)
            if routine is None:
                return                        # a return trap or an unused byte: `call` handles it
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
            except BaseException as exc:      # never let an exception die inside ctypes
                machine.request_stop(Stop("engine", rip=address, detail=exc))

        self._callback = HOOK_CODE_CFUNC(on_stub)   # keep a reference: Unicorn holds a raw pointer
        handle = uc_hook_h()
        status = uclib.uc_hook_add(machine.uc._uch, ctypes.byref(handle), UC_HOOK_CODE, self._callback, None,
                                   ctypes.c_uint64(base), ctypes.c_uint64(base + size - 1))
        if status:
            raise RuntimeError(f"uc_hook_add failed with status {status}")

    def bind(self, address: int, routine: Routine) -> None:
        if not self.base <= address < self.base + self.size:
            raise ValueError(f"stub 0x{address:x} outside the stub area")
        self.routines[address] = routine
