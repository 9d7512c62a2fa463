"""The bug-check model: what Windows would stop with, in Microsoft's own words.

Every command (static scan, emulated run, later fuzzing and reproduction) produces `BugCheck` values,
so reports look the same whichever way a finding was made. The descriptions are the ones WinDbg's
`!analyze -v` prints, so a reader who knows a real dump recognises them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

Arg = Union[int, str]

DRIVER_VERIFIER_DETECTED_VIOLATION = 0xC4
IRQL_NOT_LESS_OR_EQUAL = 0xA
KMODE_EXCEPTION_NOT_HANDLED = 0x1E
SYSTEM_SERVICE_EXCEPTION = 0x3B
PAGE_FAULT_IN_NONPAGED_AREA = 0x50
SYSTEM_THREAD_EXCEPTION_NOT_HANDLED = 0x7E
UNEXPECTED_KERNEL_MODE_TRAP = 0x7F
ATTEMPTED_WRITE_TO_READONLY_MEMORY = 0xBE
DRIVER_IRQL_NOT_LESS_OR_EQUAL = 0xD1
ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY = 0xFC
KERNEL_SECURITY_CHECK_FAILURE = 0x139

# Arg1 values of 0xC4 that belong to the code integrity option (verifier flag 0x02000000).
CI_EXECUTABLE_POOL = 0x2000
CI_EXECUTABLE_PROTECTION = 0x2001
CI_EXECUTABLE_MDL_MAPPING = 0x2002
CI_WRITABLE_EXECUTABLE_SECTION = 0x2003
CI_SECTION_NOT_PAGE_ALIGNED = 0x2004
CI_IAT_IN_EXECUTABLE_SECTION = 0x2005

_C4_PREAMBLE = (
    "A device driver attempting to corrupt the system has been caught.  This is\n"
    "because the driver was specified in the registry as being suspect (by the\n"
    "administrator) and the kernel has enabled substantial checking of this driver.\n"
    "If the driver attempts to corrupt the system, bugchecks 0xC4, 0xC1 and 0xA will\n"
    "be among the most commonly seen crashes."
)

_CALLER = "The address in the driver's code where the error was detected."

# Arg1 -> (text after "Code Integrity Issue: ", Arg2, Arg3, Arg4 descriptions).
C4_CODE_INTEGRITY: dict[int, tuple[str, str, str, str]] = {
    CI_EXECUTABLE_POOL: (
        "The caller specified an executable pool type. (Expected: NonPagedPoolNx)",
        _CALLER, "Pool Type.", "Pool Tag (if provided)."),
    CI_EXECUTABLE_PROTECTION: (
        "The caller specified an executable page protection. (Expected: cleared PAGE_EXECUTE* bits)",
        _CALLER, "Page Protection (WIN32_PROTECTION_MASK).", "Reserved."),
    CI_EXECUTABLE_MDL_MAPPING: (
        "The caller specified an executable MDL mapping. (Expected: MdlMappingNoExecute).",
        _CALLER, "Page Priority (MM_PAGE_PRIORITY logically OR'd with MdlMapping*).", "Reserved."),
    CI_WRITABLE_EXECUTABLE_SECTION: (
        "The image contains an executable and writable section.",
        "The image file name (Unicode string).", "The address of the section header.",
        "The section name (UTF-8 encoded string)."),
    CI_SECTION_NOT_PAGE_ALIGNED: (
        "The image contains a section that is not page aligned.",
        "The image file name (Unicode string).", "The address of the section header.",
        "The section name (UTF-8 encoded string)."),
    CI_IAT_IN_EXECUTABLE_SECTION: (
        "The image contains an IAT located in an executable section.",
        "The image file name (Unicode string).", "IAT Directory.",
        "The section name (UTF-8 encoded string)."),
}

_EXCEPTION_PREAMBLE = (
    "This is a very common BugCheck.  Usually the exception address pinpoints\n"
    "the driver/function that caused the problem.  Always note this address\n"
    "as well as the link date of the driver/image that contains this address."
)
_IRQL_PREAMBLE = (
    "An attempt was made to access a pageable (or completely invalid) address at an\n"
    "interrupt request level (IRQL) that is too high.  This is usually\n"
    "caused by drivers using improper addresses.\n"
)

# code -> (name, preamble, (Arg1..Arg4 descriptions)) for the other bug checks a run can end in.
OTHER_BUGCHECKS: dict[int, tuple[str, str, tuple[str, str, str, str]]] = {
    PAGE_FAULT_IN_NONPAGED_AREA: (
        "PAGE_FAULT_IN_NONPAGED_AREA",
        "Invalid system memory was referenced.  This cannot be protected by try-except.\n"
        "Typically the address is just plain bad or it is pointing at freed memory.",
        ("memory referenced.",
         "value 0 = read operation, 2 = write operation, 10 = execute operation.",
         "If non-zero, the instruction address which referenced the bad memory address.",
         "(reserved)")),
    KMODE_EXCEPTION_NOT_HANDLED: (
        "KMODE_EXCEPTION_NOT_HANDLED", _EXCEPTION_PREAMBLE,
        ("The exception code that was not handled", "The address that the exception occurred at",
         "Parameter 0 of the exception", "Parameter 1 of the exception")),
    SYSTEM_THREAD_EXCEPTION_NOT_HANDLED: (
        "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED", _EXCEPTION_PREAMBLE,
        ("The exception code that was not handled", "The address that the exception occurred at",
         "Exception Record Address", "Context Record Address")),
    SYSTEM_SERVICE_EXCEPTION: (
        "SYSTEM_SERVICE_EXCEPTION",
        "An exception happened while executing a system service routine.",
        ("Exception code that caused the BugCheck", "Address of the instruction which caused the BugCheck",
         "Address of the context record for the exception that caused the BugCheck", "zero.")),
    KERNEL_SECURITY_CHECK_FAILURE: (
        "KERNEL_SECURITY_CHECK_FAILURE",
        "A kernel component has corrupted a critical data structure.  The corruption\n"
        "could potentially allow a malicious user to gain control of this machine.",
        ("Type of memory safety violation",
         "Address of the trap frame for the exception that caused the BugCheck",
         "Address of the exception record for the exception that caused the BugCheck",
         "Reserved")),
    DRIVER_IRQL_NOT_LESS_OR_EQUAL: (
        "DRIVER_IRQL_NOT_LESS_OR_EQUAL",
        _IRQL_PREAMBLE + "If kernel debugger is available get stack backtrace.",
        ("memory referenced", "IRQL", "value 0 = read operation, 1 = write operation",
         "address which referenced memory")),
    IRQL_NOT_LESS_OR_EQUAL: (
        "IRQL_NOT_LESS_OR_EQUAL",
        _IRQL_PREAMBLE + "If a kernel debugger is available get the stack backtrace.",
        ("memory referenced", "IRQL",
         "bitfield :\n\tbit 0 : value 0 = read operation, 1 = write operation\n"
         "\tbit 3 : value 0 = not an execute operation, 1 = execute operation "
         "(only on chips which support this level of status)",
         "address which referenced memory")),
    UNEXPECTED_KERNEL_MODE_TRAP: (
        "UNEXPECTED_KERNEL_MODE_TRAP",
        "This means a trap occurred in kernel mode, and it's a trap of a kind\n"
        "that the kernel isn't allowed to have/catch (bound trap) or that\n"
        "is always instant death (double fault).",
        ("The trap number (8: EXCEPTION_DOUBLE_FAULT, typically a kernel stack overflow)",
         "(reserved)", "(reserved)", "(reserved)")),
    ATTEMPTED_WRITE_TO_READONLY_MEMORY: (
        "ATTEMPTED_WRITE_TO_READONLY_MEMORY",
        "An attempt was made to write to readonly memory.  The guilty driver is on the\n"
        "stack trace (and is typically the current instruction pointer).",
        ("Virtual address for the attempted write.", "PTE contents.", "(reserved)", "(reserved)")),
    ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY: (
        "ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY",
        "An attempt was made to execute non-executable memory.  The guilty driver\n"
        "is on the stack trace (and is typically the current instruction pointer).",
        ("Virtual address for the attempted execute.", "PTE contents.", "(reserved)", "(reserved)")),
}

FIXES: dict[int, str] = {
    CI_EXECUTABLE_POOL: "use NonPagedPoolNx (or POOL_FLAG_NON_PAGED with ExAllocatePool2), or build with POOL_NX_OPTIN=1",
    CI_EXECUTABLE_PROTECTION: "clear the PAGE_EXECUTE* bits: ask for PAGE_READWRITE or PAGE_READONLY",
    CI_EXECUTABLE_MDL_MAPPING: "OR MdlMappingNoExecute into the priority (MmGetSystemAddressForMdlSafe(Mdl, Priority | MdlMappingNoExecute))",
    CI_WRITABLE_EXECUTABLE_SECTION: "do not mark code sections writable (no /SECTION:name,RWE; no #pragma section with write on code)",
    CI_SECTION_NOT_PAGE_ALIGNED: "link with the default 4 KiB section alignment (no /ALIGN below 0x1000, no --section-alignment below 0x1000)",
    CI_IAT_IN_EXECUTABLE_SECTION: "keep the import address table out of code: do not /MERGE:.rdata=.text or .idata into an executable section",
}


@dataclass
class BugCheck:
    """One bug check as Windows would raise it, plus where in the driver it came from."""

    code: int
    args: tuple[Arg, Arg, Arg, Arg]
    api: str | None = None
    caller_rva: int | None = None
    section: str | None = None
    entry_point: str | None = None
    # Human context shown in text reports; not part of the bug check itself.
    notes: list[str] = field(default_factory=list)
    call: str | None = None            # decoded call, e.g. ExAllocatePoolWithTag(NonPagedPool, 0x40, 'tseT')
    disassembly: list[str] = field(default_factory=list)
    stack: list[str] = field(default_factory=list)
    count: int = 1                     # times seen with the same rule and caller (--continue)

    @property
    def name(self) -> str:
        if self.code == DRIVER_VERIFIER_DETECTED_VIOLATION:
            return "DRIVER_VERIFIER_DETECTED_VIOLATION"
        known = OTHER_BUGCHECKS.get(self.code)
        return known[0] if known else f"BUGCHECK_{self.code:X}"

    @property
    def rule(self) -> str | None:
        """Arg1 in hex for 0xC4 (the verifier's sub-code), else None."""
        if self.code == DRIVER_VERIFIER_DETECTED_VIOLATION and isinstance(self.args[0], int):
            return f"0x{self.args[0]:x}"
        return None

    @property
    def fix(self) -> str | None:
        if self.code == DRIVER_VERIFIER_DETECTED_VIOLATION and isinstance(self.args[0], int):
            return FIXES.get(self.args[0])
        return None

    def key(self) -> tuple:
        """Identity for de-duplication: the same rule at the same place."""
        return (self.code, self.args[0], self.api, self.caller_rva, self.section)

    def describe(self) -> tuple[str, list[str]]:
        """The preamble and the four argument descriptions, as WinDbg words them."""
        if self.code == DRIVER_VERIFIER_DETECTED_VIOLATION:
            ci = C4_CODE_INTEGRITY.get(self.args[0]) if isinstance(self.args[0], int) else None
            if ci:
                return _C4_PREAMBLE, ["Code Integrity Issue: " + ci[0], ci[1], ci[2], ci[3]]
            return _C4_PREAMBLE, ["Driver Verifier violation code.", "", "", ""]
        known = OTHER_BUGCHECKS.get(self.code)
        if known:
            return known[1], list(known[2])
        return "", ["", "", "", ""]
