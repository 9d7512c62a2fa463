"""Declaring kernel routines: a handler's Python signature is the C prototype.

    @export("ExAllocatePoolWithTag")
    def ExAllocatePoolWithTag(k, PoolType: POOL_TYPE, NumberOfBytes: SIZE_T, Tag: ULONG) -> PVOID: ...

The decorator reads the annotations once and builds the argument decoder for the x64 calling
convention (RCX, RDX, R8, R9, then [RSP+0x28+8*i] at the stub), masking 32/16/8-bit parameters
since the upper bits of their registers and stack slots are undefined.
"""
from dataclasses import dataclass
import inspect
from functools import lru_cache
from typing import Callable


@dataclass(frozen=True)
class CType:
    """A C parameter/return type: its name and width in bits, and how to show a value of it."""

    name: str
    bits: int = 64
    kind: str = "int"        # int | ptr | status | tag | bool | enum

    @property
    def mask(self) -> int:
        return (1 << self.bits) - 1

    def show(self, value: int) -> str:
        if self.kind == "tag":
            raw = value.to_bytes(4, "big")      # as the C multi-character literal reads
            if all(0x20 <= b < 0x7F for b in raw):
                return "'" + raw.decode("ascii") + "'"
        if self.kind == "bool":
            return "TRUE" if value else "FALSE"
        if self.kind in ("ptr", "status") or value > 9:
            return f"0x{value:x}"
        return str(value)


VOID = CType("VOID", 0)
PVOID = CType("PVOID", 64, "ptr")
HANDLE = CType("HANDLE", 64, "ptr")
SIZE_T = CType("SIZE_T")
ULONG_PTR = CType("ULONG_PTR")
ULONG64 = CType("ULONG64")
LONGLONG = CType("LONGLONG")
ULONG = CType("ULONG", 32)
LONG = CType("LONG", 32)
USHORT = CType("USHORT", 16)
UCHAR = CType("UCHAR", 8)
BOOLEAN = CType("BOOLEAN", 8, "bool")
LOGICAL = CType("LOGICAL", 32, "bool")
NTSTATUS = CType("NTSTATUS", 32, "status")
KIRQL = CType("KIRQL", 8)
KPROCESSOR_MODE = CType("KPROCESSOR_MODE", 8)
POOL_TYPE = CType("POOL_TYPE", 32, "enum")
POOL_FLAGS = CType("POOL_FLAGS", 64, "ptr")
TAG = CType("ULONG", 32, "tag")
ACCESS_MASK = CType("ACCESS_MASK", 32, "ptr")
PROTECTION = CType("ULONG", 32, "ptr")           # PAGE_* / WIN32_PROTECTION_MASK
PHYSICAL_ADDRESS = CType("PHYSICAL_ADDRESS", 64, "ptr")
# Pointer parameters keep their C names for decoded-call display.
PUNICODE_STRING = CType("PUNICODE_STRING", 64, "ptr")
PCUNICODE_STRING = PUNICODE_STRING
PANSI_STRING = CType("PANSI_STRING", 64, "ptr")
PCWSTR = CType("PCWSTR", 64, "ptr")
PCSTR = CType("PCSTR", 64, "ptr")
PMDL = CType("PMDL", 64, "ptr")
PIRP = CType("PIRP", 64, "ptr")
PDEVICE_OBJECT = CType("PDEVICE_OBJECT", 64, "ptr")
PDRIVER_OBJECT = CType("PDRIVER_OBJECT", 64, "ptr")
PHANDLE = CType("PHANDLE", 64, "ptr")
POBJECT_ATTRIBUTES = CType("POBJECT_ATTRIBUTES", 64, "ptr")
PLARGE_INTEGER = CType("PLARGE_INTEGER", 64, "ptr")
PKSPIN_LOCK = CType("PKSPIN_LOCK", 64, "ptr")
PULONG = CType("PULONG", 64, "ptr")
PSIZE_T = CType("PSIZE_T", 64, "ptr")

# The constants above by C name, for types read from the prototype tables (TAG and PROTECTION are
# ULONGs shown differently by parameter, so a table's ULONG stays a plain ULONG).
_BY_NAME = {t.name: t for t in (
    VOID, PVOID, HANDLE, SIZE_T, ULONG_PTR, ULONG64, LONGLONG, ULONG, LONG, USHORT, UCHAR, BOOLEAN, LOGICAL,
    NTSTATUS, KIRQL, KPROCESSOR_MODE, POOL_TYPE, POOL_FLAGS, ACCESS_MASK, PHYSICAL_ADDRESS, PUNICODE_STRING,
    PANSI_STRING, PCWSTR, PCSTR, PMDL, PIRP, PDEVICE_OBJECT, PDRIVER_OBJECT, PHANDLE, POBJECT_ATTRIBUTES,
    PLARGE_INTEGER, PKSPIN_LOCK, PULONG, PSIZE_T)}


def ctype_of(spelling: str, kind: str, bits: int) -> CType:
    """The CType of a C type as rootfs/prototypes describes it (kind status|ptr|void|bool|int, width
    in bits): the constant of that name when its width agrees, else a CType of that kind."""
    known = _BY_NAME.get(spelling)
    if known is not None and known.bits == bits:
        return known
    return VOID if kind == "void" else CType(spelling, bits, kind)


@dataclass(frozen=True)
class Export:
    """One kernel routine as declared: the module that exports it, its parameters, its handler."""

    name: str
    module: str
    handler: Callable
    params: tuple[tuple[str, CType], ...]
    returns: CType
    variadic: bool = False             # `...` after the parameters (also: parameters unknown)

    def show_call(self, args: list[int]) -> str:
        """`ExAllocatePoolWithTag(NonPagedPool, 0x40, 'tseT')`-style text of a call."""
        from hooks.names import show_arg   # names are kernel vocabulary, kept beside the handlers
        shown = [show_arg(self.name, pname, ctype, value) for (pname, ctype), value in zip(self.params, args)]
        return f"{self.name}({', '.join(shown + ['...'] * self.variadic)})"


EXPORTS: dict[str, Export] = {}


def export(*names: str, module: str = "ntoskrnl.exe") -> Callable[[Callable], Callable]:
    """Register the decorated function as the handler of the named exports (aliases share it)."""

    def decorate(fn: Callable) -> Callable:
        sig = inspect.signature(fn)

        def ctype(annotation):     # string annotations (from __future__ import annotations) resolved once
            return eval(annotation, fn.__globals__) if isinstance(annotation, str) else annotation

        params = []
        for i, (pname, p) in enumerate(sig.parameters.items()):
            if i == 0:
                continue                      # the kernel object
            if not isinstance(ctype(p.annotation), CType):
                raise TypeError(f"{fn.__name__}: parameter {pname} needs a CType annotation")
            params.append((pname, ctype(p.annotation)))
        ret = ctype(sig.return_annotation)
        returns = ret if isinstance(ret, CType) else VOID
        for name in names or (fn.__name__,):
            if name in EXPORTS:
                raise ValueError(f"export {name} declared twice")
            EXPORTS[name] = Export(name, module, fn, tuple(params), returns)
        return fn

    return decorate


def make_routine(exp: Export, k, read_q: Callable[[int], int]) -> Callable[[int, int, int, int, int], "int | None"]:
    """Build the stub routine: decode arguments, note the registers (the caller is read from
    [RSP] only when asked for, see Kernel.caller), call the handler.

    The decoder is generated once per export (cached across kernels) so the per-call path is a
    straight line of masks and loads.
    """
    return _routine_factory(exp)(k, exp, exp.handler, read_q)


@lru_cache(maxsize=None)
def _routine_factory(exp: Export) -> Callable:
    regs = ("rcx", "rdx", "r8", "r9")
    exprs = []
    for i, (_, ctype) in enumerate(exp.params):
        src = regs[i] if i < 4 else f"read_q(rsp + {0x28 + 8 * (i - 4)})"
        exprs.append(src if ctype.bits == 64 else f"({src} & {ctype.mask})")
    src = (f"def factory(k, exp, handler, read_q):\n"
           f"    def routine(rcx, rdx, r8, r9, rsp):\n"
           f"        k.regs = (rcx, rdx, r8, r9, rsp)\n"
           f"        k.current_export = exp\n"
           f"        return handler(k{''.join(', ' + e for e in exprs)})\n"
           f"    return routine\n")
    scope: dict = {}
    exec(compile(src, f"<routine {exp.name}>", "exec"), scope)
    return scope["factory"]
