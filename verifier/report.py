"""The report model every command fills in, and the exit code it implies.

JSON keys here are a contract with users' scripts: later commands add keys, none is renamed.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from hooks.volume import WrittenFile
from verifier.bugcheck import BugCheck
from verifier.warning import DriverWarning

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2          # usage error or unreadable input
EXIT_INCOMPLETE = 3     # the emulation could not finish (budget exhausted, engine failure)
EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as shells report a process that SIGINT ended


@dataclass
class EntryPointResult:
    """One driver routine that ran. For an IRP, `status` is the IRP's final IoStatus.Status once it
    completed (else what the routine returned, e.g. STATUS_PENDING), `information` its
    IoStatus.Information and `output` the bytes the caller got back, in hex."""

    name: str
    status: int | None = None          # NTSTATUS as an unsigned 32-bit integer; None if it never returned
    outcome: str = "returned"          # returned | exited | waiting | bugcheck | timeout | error | interrupted
    information: int | None = None
    output: str = ""
    ioctl: int | None = None           # IRP_MJ_(INTERNAL_)DEVICE_CONTROL: the control code
    minor: int | None = None           # IRP_MJ_PNP / IRP_MJ_POWER: the minor function
    pending: bool = False              # the routine returned STATUS_PENDING
    completed: bool | None = None      # IRPs: whether IoCompleteRequest finished it (None: not an IRP)
    expected_status: int | None = None  # from the scenario step, when given


@dataclass
class PoolLeak:
    """An allocation the driver still held after DriverUnload (pool tracking, verifier flag 0x8)."""

    tag: int
    size: int
    caller_rva: int | None
    address: int


@dataclass
class UnimplementedApi:
    name: str
    module: str
    caller_rva: int | None
    count: int = 1
    call: str | None = None            # the first call, decoded from the export's prototype
    entry_points: list[str] = field(default_factory=list)   # where it was called: DriverEntry, EvtIoDeviceControl...


@dataclass
class ErrorLogRecord:
    """An entry the driver wrote to the I/O error log: what the System event log would show."""

    source: str                        # \Device\X or \Driver\X
    error_code: int
    unique_error_value: int
    final_status: int
    major_function: int
    sequence_number: int
    io_control_code: int
    dump_data: list[int] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)
    caller_rva: int | None = None


@dataclass
class WdfQueue:
    dispatch: str                      # sequential | parallel | manual
    default: bool
    callbacks: dict[str, int | None]   # EvtIoDeviceControl... -> RVA in the driver (None outside it)


@dataclass
class WdfDevice:
    name: str | None
    control: bool                      # a control device (non-PnP) rather than a PnP device
    callbacks: dict[str, int | None]   # file-object and PnP/power callbacks -> RVA
    queues: list[WdfQueue] = field(default_factory=list)


@dataclass
class WdfSummary:
    """What a KMDF driver bound to and registered with the framework."""

    version: str                       # e.g. "1.15", from its WDF_BIND_INFO
    func_count: int
    driver_callbacks: dict[str, int | None]   # EvtDriverDeviceAdd / EvtDriverUnload -> RVA
    devices: list[WdfDevice] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)   # framework functions it called, first call order
    ran: list[str] = field(default_factory=list)     # its callbacks the framework ran, first run order
    not_run: list[str] = field(default_factory=list)  # callbacks it registered that never ran


@dataclass
class FuzzFinding:
    bugcheck: BugCheck
    scenario: str | None               # the minimised scenario file (`run --scenario` replays it)
    reproduced: bool                   # a fresh run of that scenario raised the same bug check
    execs: int                         # inputs run when it was first found


@dataclass
class FuzzSummary:
    """What `verifier fuzz` did: inputs run, their rate, driver edges covered, and its findings."""

    execs: int
    execs_per_s: float
    edges: int
    corpus: int
    seconds: float
    seed: int
    jobs: int
    hangs: int = 0                     # inputs that exceeded the per-input time budget
    errors: int = 0                    # inputs the emulator could not finish (a gap in hvci-verifier)
    findings: list[FuzzFinding] = field(default_factory=list)


@dataclass
class DriverReport:
    path: str
    sha256: str | None = None
    error: str | None = None
    incomplete: str | None = None      # why the emulation could not finish
    image_base: int | None = None
    bugchecks: list[BugCheck] = field(default_factory=list)
    warnings: list[DriverWarning] = field(default_factory=list)
    entry_points: list[EntryPointResult] = field(default_factory=list)
    unimplemented_apis: list[UnimplementedApi] = field(default_factory=list)
    # "partial" when an entry point failed after a stand-in answered a failure: only the code before
    # that call (coverage_cut, module!export) ran, so finding nothing proves little.
    coverage: str = "full"
    coverage_cut: str | None = None
    unsupported_relocs: int | None = None
    registered_not_run: list[str] = field(default_factory=list)   # routines the driver set that never ran
    pool_leaks: list[PoolLeak] = field(default_factory=list)
    debug_output: list[str] = field(default_factory=list)
    error_log: list[ErrorLogRecord] = field(default_factory=list)
    files_written: list[WrittenFile] = field(default_factory=list)    # files the driver created or changed
    wdf: WdfSummary | None = None      # KMDF drivers only
    fuzz: FuzzSummary | None = None    # `verifier fuzz` only

    @staticmethod
    def digest(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    @property
    def exit_code(self) -> int:
        if self.bugchecks:
            return EXIT_FINDINGS
        if self.incomplete:
            return EXIT_INCOMPLETE
        if self.error:
            return EXIT_USAGE
        return EXIT_CLEAN


@dataclass
class Report:
    command: str
    drivers: list[DriverReport] = field(default_factory=list)
    interrupted: bool = False          # Ctrl-C: the drivers after the last one listed were not checked

    @property
    def exit_code(self) -> int:
        """130 if interrupted, else 1 if anything was found, else 3 if a run could not finish, else 2 if an
        input was unusable."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        codes = {d.exit_code for d in self.drivers}
        for code in (EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_USAGE):
            if code in codes:
                return code
        return EXIT_CLEAN
