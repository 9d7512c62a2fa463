"""Debug output: DbgPrint and friends, captured line by line for the report."""
from hooks.api import PCSTR, PVOID, ULONG, NTSTATUS, export
from hooks.fmt import VarArgs, format_string

DPFLTR_ERROR_LEVEL = 0
STATUS_SUCCESS = 0


def emit(k, text: str) -> None:
    pending = getattr(k, "_dbg_partial", "") + text
    *lines, k._dbg_partial = pending.split("\n")
    k.debug_output.extend(line.rstrip("\r") for line in lines)
    if len(k._dbg_partial) > 4096:
        k.debug_output.append(k._dbg_partial)
        k._dbg_partial = ""


@export("DbgPrint")
def DbgPrint(k, Format: PCSTR) -> NTSTATUS:
    emit(k, format_string(k, k.mem.read_cstr(Format), VarArgs(k, 1)))
    return STATUS_SUCCESS


@export("DbgPrintEx")
def DbgPrintEx(k, ComponentId: ULONG, Level: ULONG, Format: PCSTR) -> NTSTATUS:
    emit(k, format_string(k, k.mem.read_cstr(Format), VarArgs(k, 3)))
    return STATUS_SUCCESS


class _VaList(VarArgs):
    """Arguments from a va_list (on x64 a pointer to consecutive 8-byte slots)."""

    def __init__(self, k, va_list: int):
        super().__init__(k, 0)
        self.ptr = va_list

    def next(self) -> int:
        value = self.k.mem.read_q(self.ptr)
        self.ptr += 8
        return value


@export("vDbgPrintEx")
def vDbgPrintEx(k, ComponentId: ULONG, Level: ULONG, Format: PCSTR, arglist: PVOID) -> NTSTATUS:
    emit(k, format_string(k, k.mem.read_cstr(Format), _VaList(k, arglist)))
    return STATUS_SUCCESS


@export("vDbgPrintExWithPrefix")
def vDbgPrintExWithPrefix(k, Prefix: PCSTR, ComponentId: ULONG, Level: ULONG, Format: PCSTR,
                          arglist: PVOID) -> NTSTATUS:
    prefix = k.mem.read_cstr(Prefix).decode("latin-1") if Prefix else ""
    emit(k, prefix + format_string(k, k.mem.read_cstr(Format), _VaList(k, arglist)))
    return STATUS_SUCCESS


@export("DbgBreakPoint", "DbgBreakPointWithStatus")
def DbgBreakPoint(k) -> None:
    return None                                 # no debugger attached: KdDebuggerNotPresent
