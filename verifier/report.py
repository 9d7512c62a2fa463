"""The report model every command fills in, and the exit code it implies.

JSON keys here are a contract with users' scripts: later commands add keys, none is renamed.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from verifier.bugcheck import BugCheck
from verifier.warning import DriverWarning

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2          # usage error or unreadable input
EXIT_INCOMPLETE = 3     # the emulation could not finish (budget exhausted, engine failure)


@dataclass
class EntryPointResult:
    name: str
    status: int | None = None          # NTSTATUS as an unsigned 32-bit integer; None if it never returned
    outcome: str = "returned"          # returned | bugcheck | timeout | error


@dataclass
class UnimplementedApi:
    name: str
    module: str
    caller_rva: int | None
    count: int = 1


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
    unsupported_relocs: int | None = None
    debug_output: list[str] = field(default_factory=list)
    wdf: WdfSummary | None = None      # KMDF drivers only

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

    @property
    def exit_code(self) -> int:
        """1 if anything was found, else 3 if a run could not finish, else 2 if an input was unusable."""
        codes = {d.exit_code for d in self.drivers}
        for code in (EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_USAGE):
            if code in codes:
                return code
        return EXIT_CLEAN
