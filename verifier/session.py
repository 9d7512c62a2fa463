"""One verification run: an emulated kernel, a driver, the rules, and the report they produce."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from emu.loader import LoadError
from emu.machine import Halt, Stop
from emu.pe import ImageError, PeImage
from hooks.deferred import ThreadTerminated
from hooks.events import Request
from hooks.kernel import DriverContext, Kernel, Unimplemented
from verifier.bugcheck import BugCheck
from verifier.image_rules import check_image
from verifier.report import DriverReport, EntryPointResult, ErrorLogRecord, UnimplementedApi
from verifier.rules import CODE_INTEGRITY_FLAG, CodeIntegrityRules
from verifier.scenario import Scenario, Step
from verifier.scenario_run import LOW_RESOURCES_FLAG, POOL_TRACKING_FLAG, ScenarioRun
from verifier.threads import Running, Threads, blocked
from verifier.triage import DISPATCH_LEVEL, EntryKind, Resume, Triage
from verifier.warning import DriverWarning
from verifier.wdf_summary import wdf_summary

NT_FAILURE_BIT = 0x80000000           # NT_SUCCESS(status) is status >= 0

MAX_HANDLED_EXCEPTIONS = 10_000      # per entry point: beyond that a driver is looping on exceptions


@dataclass
class Options:
    flags: int = CODE_INTEGRITY_FLAG
    keep_going: bool = False          # --continue
    strict: bool = False              # stop at the first unimplemented export
    max_instructions: int = 0
    timeout: float = 60.0
    profile: str | None = None
    seed: int = 0                     # run seed: the /GS security cookie the loader writes derives from it
    init_security_cookie: bool = True  # False only in tests of the /GS failure path (cookie left as linked)
    scenario: Scenario | None = None  # --scenario: the IRPs after DriverEntry (None: the default run)
    ioctls: list[Step] = field(default_factory=list)   # --ioctl: the default run's IOCTLs


class Session:
    def __init__(self, path: str, data: bytes, options: Options):
        self.path, self.data, self.options = path, data, options
        self.report = DriverReport(path, sha256=DriverReport.digest(data))
        self.kernel: Kernel | None = None
        self.driver: DriverContext | None = None
        self.triage: Triage | None = None
        self.threads: Threads | None = None
        self.scenario_run: ScenarioRun | None = None
        self._seen: dict[tuple, BugCheck] = {}

    # ---- called by rules ----------------------------------------------------------------------------
    def rva(self, address: int) -> int | None:
        return self.triage.rva(address) if self.triage else None

    def violation(self, bugcheck: BugCheck, request: Request | None = None) -> None:
        """A rule fired: triage locates it, then halt (default) or record and carry on."""
        self.triage.violation(bugcheck, request)
        if not self.options.keep_going:
            raise Halt(bugcheck)
        self._record(bugcheck)

    def warn(self, warning: DriverWarning) -> None:
        if warning not in self.report.warnings:
            self.report.warnings.append(warning)

    def reset_findings(self) -> None:
        """Forget the bug checks seen so far (a fuzzer's next input starts from none)."""
        self._seen.clear()

    def record(self, bugcheck: BugCheck) -> None:
        """A bug check found outside a running routine (e.g. pool tracking at unload)."""
        self._record(bugcheck)

    def _record(self, bugcheck: BugCheck) -> None:
        seen = self._seen.get(bugcheck.key())
        if seen:
            seen.count += 1
            return
        self._seen[bugcheck.key()] = bugcheck
        self.report.bugchecks.append(bugcheck)

    # ---- the run ---------------------------------------------------------------------------------------
    def run(self) -> DriverReport:
        entry = self.start()
        if entry is not None:
            self.scenario_run = ScenarioRun(self, self.options.scenario, self.options.ioctls)
            self.scenario_run.run(entry)
        return self.finish()

    def start(self) -> EntryPointResult | None:
        """Build the kernel, load the driver and run DriverEntry; None when the run ends before
        DriverEntry (`report.error` says why, or a load-time bug check stopped it)."""
        name = os.path.basename(self.path)
        try:
            image = PeImage.parse(self.data, name)
            image.require_kernel_driver()
        except ImageError as exc:
            self.report.error = str(exc)
            return None
        try:
            self.kernel = Kernel(**({"profile": self.options.profile} if self.options.profile else {}))
        except KeyError as exc:
            self.report.error = str(exc.args[0])
            return None
        k = self.kernel
        self.triage = Triage(k)
        self.threads = Threads(self)
        k.machine.time_budget_s = self.options.timeout
        k.machine.instructions_budget = self.options.max_instructions
        if self.options.flags & CODE_INTEGRITY_FLAG:
            CodeIntegrityRules(self)
        other = self.options.flags & ~(CODE_INTEGRITY_FLAG | POOL_TRACKING_FLAG | LOW_RESOURCES_FLAG)
        if other:
            self.warn(DriverWarning("verifier-flags", f"Driver Verifier flags 0x{other:x} are accepted but not "
                                    f"modelled: only code integrity checking (0x{CODE_INTEGRITY_FLAG:08x}), pool "
                                    f"tracking (0x{POOL_TRACKING_FLAG:x}) and low resources simulation "
                                    f"(0x{LOW_RESOURCES_FLAG:x}) are"))
        try:
            # --continue lets a load-time violation proceed as if allowed: writable code stays writable.
            self.driver = k.load_driver(image, os.path.splitext(name)[0], allow_wx=self.options.keep_going,
                                        seed=self.options.seed,
                                        init_security_cookie=self.options.init_security_cookie)
        except (ImageError, LoadError) as exc:
            self.report.error = f"cannot load: {exc}"
            return None
        self.report.image_base = self.driver.image.base
        if self.options.flags & CODE_INTEGRITY_FLAG and not self._load_time_rules(image):
            return None
        if self.options.strict:
            k.on_unimplemented = self._stop_at_unimplemented
        return self.call_entry("DriverEntry", self.driver.image.entry,
                               [self.driver.driver_object, self.driver.registry_path])

    @staticmethod
    def _stop_at_unimplemented(api: Unimplemented) -> None:
        raise Halt(api)

    def _load_time_rules(self, image: PeImage) -> bool:
        """Image rules at load, as Windows applies them; False if the load itself bug checks."""
        found = check_image(image, base=self.driver.image.base)
        self.report.unsupported_relocs = found.unsupported_relocs
        self.report.warnings.extend(found.warnings)
        for b in found.bugchecks:
            b.entry_point = self.triage.entry_point
            self._record(b)
        # Windows 10+ strips W from INIT at load, so an RWX INIT alone does not stop the load.
        fatal = [b for b in found.bugchecks if (b.section or "").upper() != "INIT"]
        return not fatal or self.options.keep_going

    def call_entry(self, name: str, routine: int, args: list[int],
                   kind: EntryKind = EntryKind.SYSTEM_THREAD, irql: int = 0) -> EntryPointResult:
        """Run one entry point at `irql`; `kind` is the context Windows runs it in (DriverEntry and
        DriverUnload: a system thread), which decides the bug check of an exception nobody handles.
        While it waits, the driver's system threads may run (verifier/threads.py)."""
        k = self.kernel
        self.triage.entry_point = name
        result = EntryPointResult(name)
        self.report.entry_points.append(result)
        k.standins.cut = None
        k.standins.entry = name
        k.scheduler.switches, k.scheduler.dispatch_level = 0, irql >= DISPATCH_LEVEL
        try:
            self.threads.run(Running(k.current_thread, result, kind), k.call(routine, args, irql=irql))
        except KeyboardInterrupt:
            result.outcome = "interrupted"
            raise
        finally:
            k.scheduler.dispatch_level = False
        return result

    def bugchecked(self, result: EntryPointResult) -> bool:
        """Whether a bug check ended the run during this entry point (in it, or in a thread that ran
        while it waited) and Windows would stop there (no --continue)."""
        return (result.outcome == "bugcheck" or self.threads.crashed) and not self.options.keep_going

    def settle(self, stop: Stop, kind: EntryKind) -> tuple[Stop, BugCheck | Resume | None]:
        """Dispatch the exceptions of a stopped run to the driver's own handlers, resuming it as long
        as they handle them: the stop that ends the run (or parks its thread) and its verdict."""
        verdict = None
        for _ in range(MAX_HANDLED_EXCEPTIONS):
            if stop.kind in ("returned", "budget") or blocked(stop):
                break
            verdict = self._verdict(stop, kind)
            if not isinstance(verdict, Resume):
                break
            stop = self.kernel.resume(verdict.regs, verdict.rip, verdict.irql)    # the driver handled it
        return stop, verdict

    def conclude(self, result: EntryPointResult, stop: Stop, verdict: BugCheck | Resume | None) -> None:
        """A routine's record from the stop that ended it."""
        name = result.name
        if stop.kind == "returned":
            result.outcome, result.status = "returned", stop.return_value & 0xFFFFFFFF
            self._note_coverage(result)
        elif stop.kind == "budget":
            result.outcome = "timeout"
            limit = (f"{self.options.timeout:g} s" if stop.detail == "time"
                     else f"{self.options.max_instructions} instructions")
            self.report.incomplete = f"{name} did not return within the budget ({limit}); stopped at {self.kernel.symbol(stop.rip)}"
        elif stop.kind == "halted" and isinstance(stop.detail, ThreadTerminated):
            result.outcome, result.status = "exited", stop.detail.exit_status & 0xFFFFFFFF
        elif isinstance(verdict, BugCheck):
            result.outcome = "bugcheck"
            self._record(verdict)
        else:
            result.outcome = "error"
            self.report.incomplete = self.report.incomplete or (
                f"{name} raised more than {MAX_HANDLED_EXCEPTIONS} exceptions that its own handlers took"
                if isinstance(verdict, Resume) else self._engine_failure(name, stop))

    def _engine_failure(self, entry: str, stop: Stop) -> str:
        detail = stop.detail
        if isinstance(detail, BaseException):
            where = self.kernel.symbol(stop.rip)
            return (f"{entry}: the emulated {where} failed ({type(detail).__name__}: {detail}); "
                    "this is a gap in hvci-verifier, please report it with the driver")
        return f"{entry}: emulation failed at {self.kernel.symbol(stop.rip)}: {detail}"

    def _verdict(self, stop: Stop, kind: EntryKind) -> BugCheck | Resume | None:
        detail = stop.detail
        if stop.kind == "halted" and isinstance(detail, Unimplemented):       # --strict
            where = self.kernel.symbol(detail.caller)
            self.report.incomplete = f"--strict: {detail.module}!{detail.name} (called from {where}) is not implemented"
            return None
        return self.triage.stop(stop, kind)

    def interrupted(self) -> DriverReport:
        """Ctrl-C during this run: what was found so far, the run marked as cut short by the user."""
        during = self.triage.entry_point if self.triage else "load"
        self.report.incomplete = f"interrupted by the user (Ctrl-C) during {during}"
        return self.finish()

    def _note_coverage(self, result: EntryPointResult) -> None:
        """An entry point that failed after a stand-in answered a failure cuts coverage short."""
        cut = self.kernel.standins.cut
        if result.status & NT_FAILURE_BIT and cut:
            self.report.coverage, self.report.coverage_cut = "partial", cut

    def finish(self) -> DriverReport:
        """The report, completed with what the kernel recorded along the run."""
        k = self.kernel
        if k is not None:
            self.report.debug_output = k.debug.lines
            self.report.error_log = [ErrorLogRecord(e.source, e.error_code, e.unique_error_value, e.final_status,
                                                    e.major_function, e.sequence_number, e.io_control_code,
                                                    e.dump_data, e.strings, self.rva(e.caller))
                                     for e in k.error_log.written]
            self.report.files_written = k.files.written()
            self.report.unimplemented_apis = [
                UnimplementedApi(u.name, u.module, self.rva(u.caller), u.count, u.call, list(u.entry_points))
                for u in k.unimplemented.values()]
            self.report.wdf = wdf_summary(k, self.rva)
            for module, names in k.unresolved_imports:
                if names:
                    self.warn(DriverWarning("unknown-exports", f"imports {', '.join(names)} from {module}, which "
                                            "its export list (rootfs/exports) lacks: answered by stand-ins"))
                else:
                    self.warn(DriverWarning("stub-module", f"imports from {module} are answered by stand-ins "
                                                           "(no handlers for that module)"))
        return self.report


def run_driver(path: str, data: bytes, options: Options) -> DriverReport:
    return Session(path, data, options).run()
