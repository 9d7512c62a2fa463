"""Stand-ins: what the kernel answers for an export nobody implemented.

A stand-in is an `Export` built from the routine's C prototype (rootfs/prototypes, generated from real
headers by rootfs/make_prototypes.py), so its arguments are decoded like a handled export's. It does
nothing and answers "not done" in the declared type: NTSTATUS -> STATUS_NOT_IMPLEMENTED, a pointer or
handle -> NULL, BOOLEAN/LOGICAL -> FALSE, another integer -> 0, VOID -> RAX left as it was.

A routine without a prototype (a name the tables mark "undeclared", or a module with no table and a
name no table knows, e.g. NDIS) answers 0, the neutral value: NULL, FALSE or STATUS_SUCCESS, whichever
the caller expects. A module without a table borrows another module's prototype of the same name
(exports move between ntoskrnl.exe and hal.dll).

The first call of each is noted as `Unimplemented`, with its decoded text. The last failing answer
(STATUS_NOT_IMPLEMENTED, or NULL from a routine returning a pointer) during a `Kernel.call` is kept in
`StandIns.cut`: if the driver routine then fails, only the code before that call was exercised.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Callable

import rootfs
from hooks.api import CType, Export, ctype_of, make_routine

if TYPE_CHECKING:
    from hooks.kernel import Kernel

STATUS_NOT_IMPLEMENTED = 0xC0000002
UNDECLARED = CType("undeclared", 64)      # return type of a routine whose prototype nobody knows


@dataclass
class Unimplemented:
    name: str
    module: str
    caller: int
    call: str            # the first call, decoded: IoAllocateErrorLogEntry(0xffff..., 0x40)
    count: int = 1
    entry_points: list[str] = field(default_factory=list)   # the entry points (or KMDF callbacks) it was called in


def answer(returns: CType) -> int | None:
    """What a stand-in returns for its declared type; None leaves RAX alone (VOID)."""
    if returns.bits == 0:
        return None
    return STATUS_NOT_IMPLEMENTED if returns.kind == "status" else 0


def fails(returns: CType) -> bool:
    """Whether a stand-in's answer tells the caller the routine failed (STATUS_NOT_IMPLEMENTED, NULL)."""
    return returns.kind in ("status", "ptr")


def _stand_in(k: "Kernel", *args: int) -> int | None:
    """The handler of every stand-in: the export being called says which."""
    return k.standins.answered(k.current_export, args)


def _prototype(module: str, name: str) -> tuple[dict, dict] | None:
    """(prototype, the types of its table): from the module's own table, or, for a module without
    one, from any table that knows the name."""
    own = rootfs.prototypes(module)
    for table in [own] if own is not None else map(rootfs.prototypes, rootfs.prototype_modules()):
        proto = table.routine(name)
        if proto is not None:
            return proto, table.types
    return None


@lru_cache(maxsize=None)
def stand_in_export(module: str, name: str) -> Export:
    """The export a stand-in answers as, typed by the prototype tables (one per process, so the
    generated argument decoder is shared by every kernel)."""
    found = _prototype(module, name)
    if found is None or found[0]["returns"] is None:
        return Export(name, module, _stand_in, (), UNDECLARED, variadic=True)
    proto, types = found

    def ctype(spelling: str) -> CType:
        return ctype_of(spelling, *types[spelling])

    params = tuple((pname, ctype(spelling)) for pname, spelling in proto["params"])
    return Export(name, module, _stand_in, params, ctype(proto["returns"]), proto["variadic"])


class StandIns:
    """The kernel's stand-ins: their stub routines, and what they answered."""

    def __init__(self, kernel: "Kernel"):
        self.kernel = kernel
        self.cut: str | None = None      # module!routine: the last failing answer in the current call
        self.entry = ""                  # the entry point running: DriverEntry, IRP_MJ_..., a KMDF callback

    def snapshot(self) -> object:
        """Saved by itself (hooks.state): every entry point changes `entry`, and a generic copy back
        would be paid on every fuzz input."""
        return self.cut, self.entry

    def restore(self, saved: object) -> None:
        self.cut, self.entry = saved

    def routine(self, module: str, name: str, address: int) -> Callable:
        """The stub routine at `address`: typed on its first call (most exports are never called), then
        replaced by the decoder generated for the prototype."""
        k = self.kernel

        def first_call(rcx: int, rdx: int, r8: int, r9: int, rsp: int) -> int | None:
            typed = make_routine(stand_in_export(module, name), k, k.mem.read_q)
            k.stubs.bind(address, typed)
            return typed(rcx, rdx, r8, r9, rsp)

        return first_call

    def answered(self, exp: Export, args: tuple) -> int | None:
        """Note the call (once per name, then count it) and give the stand-in's answer."""
        k = self.kernel
        seen = k.unimplemented.get(exp.name)
        if seen:
            seen.count += 1
        else:
            seen = k.unimplemented[exp.name] = Unimplemented(exp.name, exp.module, k.caller,
                                                             exp.show_call(list(args)))
        if self.entry not in seen.entry_points:
            seen.entry_points.append(self.entry)
        if seen.count == 1 and k.on_unimplemented:
            k.on_unimplemented(seen)
        if fails(exp.returns):
            self.cut = f"{exp.module}!{exp.name}"
        return answer(exp.returns)
