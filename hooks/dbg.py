"""Debug output: DbgPrint and friends, captured line by line for the report."""
from hooks.api import PCSTR, PVOID, ULONG, NTSTATUS, export
from hooks.fmt import VaList, VarArgs, format_string

DPFLTR_ERROR_LEVEL = 0
STATUS_SUCCESS = 0


class DebugLog:
    """What the driver printed, as lines; text after the last newline is kept as a partial line."""

    MAX_LINE = 4096

    def __init__(self):
        self._lines: list[str] = []
        self._partial = ""

    def write(self, text: str) -> None:
        *complete, self._partial = (self._partial + text).split("\n")
        self._lines.extend(line.rstrip("\r") for line in complete)
        if len(self._partial) > self.MAX_LINE:
            self._lines.append(self._partial)
            self._partial = ""

    @property
    def lines(self) -> list[str]:
        return self._lines + ([self._partial] if self._partial else [])


def emit(k, text: str) -> None:
    """Log a line of debug output; a lone UTF-16 surrogate (from a %ws string) shows as '?'."""
    k.debug.write(text.encode("utf-8", "replace").decode("utf-8"))


@export("DbgPrint")
def DbgPrint(k, Format: PCSTR) -> NTSTATUS:
    emit(k, format_string(k, k.mem.read_cstr(Format), VarArgs(k, 1)))
    return STATUS_SUCCESS


@export("DbgPrintEx")
def DbgPrintEx(k, ComponentId: ULONG, Level: ULONG, Format: PCSTR) -> NTSTATUS:
    emit(k, format_string(k, k.mem.read_cstr(Format), VarArgs(k, 3)))
    return STATUS_SUCCESS


@export("vDbgPrintEx")
def vDbgPrintEx(k, ComponentId: ULONG, Level: ULONG, Format: PCSTR, arglist: PVOID) -> NTSTATUS:
    emit(k, format_string(k, k.mem.read_cstr(Format), VaList(k, arglist)))
    return STATUS_SUCCESS


@export("vDbgPrintExWithPrefix")
def vDbgPrintExWithPrefix(k, Prefix: PCSTR, ComponentId: ULONG, Level: ULONG, Format: PCSTR,
                          arglist: PVOID) -> NTSTATUS:
    prefix = k.mem.read_cstr(Prefix).decode("latin-1") if Prefix else ""
    emit(k, prefix + format_string(k, k.mem.read_cstr(Format), VaList(k, arglist)))
    return STATUS_SUCCESS


@export("DbgBreakPoint", "DbgBreakPointWithStatus")
def DbgBreakPoint(k) -> None:
    return None                                 # no debugger attached: KdDebuggerNotPresent
