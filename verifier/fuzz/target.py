"""The fuzz target: a driver started once, snapshotted with its handle open, restored before each input.

Preparing runs what `verifier run --scenario` runs before the scenario's requests: DriverEntry, and
for a PnP driver AddDevice, IRP_MN_START_DEVICE and IRP_MJ_POWER; then the prefix (the given
scenario's steps, or IRP_MJ_CREATE) on the handle. The kernel snapshot is taken there. An input is
a short list of scenario steps; executing it restores the snapshot (guest memory, CPU and every
subsystem's Python state, with the translated-block cache kept warm), sends the steps and runs the
deferred work they queued, exactly as a replay of prefix + input with `run --scenario` would.
"""
from __future__ import annotations

from dataclasses import dataclass

from hooks import kstructs as ks
from hooks.irp import IrpRequest, nt_success
from verifier.bugcheck import DRIVER_VERIFIER_DETECTED_VIOLATION, BugCheck
from verifier.deferred_run import DeferredWork
from verifier.fuzz.coverage import EdgeCoverage
from verifier.report import DriverReport
from verifier.scenario import Step
from verifier.scenario_run import ScenarioRun
from verifier.session import Options, Session


class NotFuzzable(Exception):
    """Why no input can reach the driver (one line, naming the driver)."""


class StoppedBeforeInputs(NotFuzzable):
    """A violation the rules raise (at load, in DriverEntry or the prefix) stopped the start; with
    `--continue` semantics (Options.keep_going) it would be recorded and the start would go on."""


@dataclass
class Execution:
    """What one input did."""

    bugchecks: list[BugCheck]         # one, or with --continue semantics each violation it raised
    fresh_edges: int
    incomplete: str | None            # a routine did not finish: the time budget, or an emulator failure


class FuzzTarget:
    def __init__(self, path: str, data: bytes, options: Options, input_timeout: float):
        self.path = path
        self.session = Session(path, data, options)
        self.input_timeout = input_timeout
        self.prefix: list[Step] = []
        self.run: ScenarioRun | None = None
        self.coverage: EdgeCoverage | None = None
        self.snap = None

    def prepare(self) -> DriverReport:
        """Start the driver up to the snapshot point; NotFuzzable says why it cannot be fuzzed. The
        report of that start (DriverEntry and the prefix) is returned."""
        s, name = self.session, self.path
        entry = s.start()
        if entry is None:
            if s.report.error:
                raise NotFuzzable(f"{name}: {s.report.error}")
            raise StoppedBeforeInputs(f"{name}: bug check 0x{s.report.bugchecks[0].code:X} at load")
        k = s.kernel
        image = s.driver.image
        self.coverage = EdgeCoverage(k.machine.uc, image.base, image.base + image.size)
        if entry.outcome != "returned" or not nt_success(entry.status or 0):
            raise self._stopped("DriverEntry", entry.outcome, entry.status)
        self.run = run = ScenarioRun(s, s.options.scenario, [])
        if not run.start():
            raise self._stopped("PnP start", "bugcheck", None)
        if run.device is None:
            raise NotFuzzable(f"{name}: the driver created no device, so no request can reach it")
        if s.options.scenario is not None:
            self.prefix = list(s.options.scenario.steps)
        elif run.handles(ks.IRP_MJ_CREATE):
            self.prefix = [Step(IrpRequest(ks.IRP_MJ_CREATE))]
        if not run.requests(self.prefix):
            raise self._stopped("the prefix", "bugcheck", None)
        created = [e for e in s.report.entry_points if e.name == "IRP_MJ_CREATE"]
        if created and created[-1].status is not None and not nt_success(created[-1].status):
            raise NotFuzzable(f"{name}: IRP_MJ_CREATE fails with 0x{created[-1].status:08X}, so Windows opens no "
                              "handle to send requests on (a driver whose handles are named: give --scenario FILE "
                              "with an IRP_MJ_CREATE step's file_name and disposition)")
        k.machine.time_budget_s = self.input_timeout
        self.coverage.take_fresh()
        k.pool.start_small_pages()
        self.snap = k.snapshot()
        return s.finish()

    def _stopped(self, what: str, outcome: str, status: int | None) -> NotFuzzable:
        report = self.session.report
        if report.bugchecks:
            b = report.bugchecks[0]
            stopped = f"{self.path}: {what} bug checks (0x{b.code:X}) before any input"
            if outcome == "bugcheck" and b.code == DRIVER_VERIFIER_DETECTED_VIOLATION and \
                    not self.session.options.keep_going:
                return StoppedBeforeInputs(stopped)
            return NotFuzzable(f"{stopped}: `verifier run` reports it")
        if outcome == "returned":
            return NotFuzzable(f"{self.path}: {what} fails with 0x{status or 0:08X}, so Windows unloads the driver")
        return NotFuzzable(f"{self.path}: {what} did not finish ({outcome}): {report.incomplete or 'see verifier run'}")

    def execute(self, steps: list[Step]) -> Execution:
        """Restore the snapshot and run one input."""
        s, k = self.session, self.session.kernel
        k.restore(self.snap)
        s.report = DriverReport(self.path, image_base=s.driver.image.base)
        s.reset_findings()
        run = self.run
        run.sent = []
        if run.requests(steps):
            DeferredWork(run).run()
        report = s.report
        return Execution(report.bugchecks, self.coverage.take_fresh(), report.incomplete)
