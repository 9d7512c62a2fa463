"""The fuzzing loop: pick a corpus input, mutate it, run it on the restored driver, keep what is new.

An input that adds coverage (a new edge of the driver's code, see coverage.py) joins the corpus
(and, with a corpus folder, is written there as a scenario file other workers pick up). An input
whose run ends in a bug check is a finding when its (code, Arg1, caller RVA) is new: it is
minimised, replayed from scratch as `verifier run --scenario FILE` would run it, and written to the
findings folder as that scenario plus its report. Inputs that exceed the per-input time budget or
stop on an emulator failure are counted, and the first few kept under hangs/ and errors/.
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import random
import time
from dataclasses import dataclass, field
from typing import Callable

from hooks import kstructs as ks
from hooks.wdf.queue import io_control_callbacks
from verifier.bugcheck import BugCheck
from verifier.fuzz.minimize import minimize
from verifier.fuzz.mutate import Mutator
from verifier.fuzz.target import FuzzTarget, NotFuzzable
from verifier.report import DriverReport
from verifier.scenario import (DEFAULT_INPUT, DEFAULT_OUTPUT, IOCTL_MAJORS, ScenarioError, Step, document, ioctl_step,
                               load, small_transfer, step_json)

FUZZED_MAJORS = (ks.IRP_MJ_DEVICE_CONTROL, ks.IRP_MJ_INTERNAL_DEVICE_CONTROL, ks.IRP_MJ_READ, ks.IRP_MJ_WRITE)
MAX_KEPT = 5                     # hangs and emulator failures kept per folder
SYNC_S = 2.0                     # how often a worker looks for inputs other workers wrote


def finding_key(b: BugCheck) -> tuple:
    """A finding's identity: the bug check code, Arg1 and the caller in the driver."""
    return b.code, b.args[0], b.caller_rva


@dataclass
class Finding:
    bugcheck: BugCheck
    steps: list[Step]                     # the minimised input (after the prefix)
    scenario: str | None = None           # where its scenario file was written
    reproduced: bool = True               # a fresh `run --scenario` gives the same bug check
    execs: int = 0                        # inputs run when it was first found


@dataclass
class Stats:
    execs: int = 0
    seconds: float = 0.0
    edges: int = 0
    corpus: int = 0
    hangs: int = 0
    errors: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def execs_per_s(self) -> float:
        return self.execs / self.seconds if self.seconds else 0.0


class Campaign:
    def __init__(self, target: FuzzTarget, seed: int, low_resources: bool, ioctls: list[int],
                 corpus_dir: str | None, out_dir: str | None,
                 replay: Callable[[list[Step]], DriverReport] | None = None, given: list[list[Step]] = ()):
        self.target, self.corpus_dir, self.out_dir, self.replay = target, corpus_dir, out_dir, replay
        self.given = list(given)              # the user's inputs (--ioctl), tried first
        self.rng = random.Random(seed)
        run = target.run
        majors = [m for m in FUZZED_MAJORS if run.handles(m)]
        if not majors:
            raise NotFuzzable(f"{target.path}: the driver handles none of IRP_MJ_DEVICE_CONTROL, "
                              "IRP_MJ_INTERNAL_DEVICE_CONTROL, IRP_MJ_READ and IRP_MJ_WRITE: nothing to fuzz")
        if ks.IRP_MJ_DEVICE_CONTROL not in majors:
            ioctls = []
        self.ioctls = ioctls
        k, driver = target.session.kernel, target.session.driver
        image = driver.image
        routines = [run.major_routine(m) for m in majors] + io_control_callbacks(k, driver.driver_object)
        from verifier.harvest import comparison_operands
        self.tokens = comparison_operands(k.mem.read, [r for r in routines if image.contains(r)], image.base,
                                          image.size)
        self.mutator = Mutator(self.rng, self.tokens, ioctls, [m for m in majors if m not in IOCTL_MAJORS] or majors,
                               low_resources)
        self.majors = majors
        self.corpus: list[list[Step]] = []
        self.known: set[str] = set()          # digests of corpus inputs (ours and other workers')
        self.found: dict[tuple, Finding] = {}
        self.stats = Stats()
        self._last_sync = 0.0
        self.until: Callable[[BugCheck], bool] | None = None
        self.hit: list[Step] | None = None     # the first input whose bug check `until` accepted

    # ---- the corpus ------------------------------------------------------------------------------
    def seeds(self) -> list[list[Step]]:
        """The first inputs: the user's, then what the default run sends: each harvested IOCTL with
        zeros, and a small READ and WRITE when the driver handles them."""
        seeds = self.given + [[ioctl_step(code, DEFAULT_INPUT, DEFAULT_OUTPUT)] for code in self.ioctls]
        seeds += [[small_transfer(major)] for major in self.majors if major not in IOCTL_MAJORS]
        return seeds or [[self.mutator.fresh_step()]]

    def _digest(self, steps: list[Step]) -> str:
        return hashlib.sha1(json.dumps([step_json(s) for s in steps], sort_keys=True).encode()).hexdigest()

    def _keep(self, steps: list[Step]) -> None:
        digest = self._digest(steps)
        if digest in self.known:
            return
        self.known.add(digest)
        self.corpus.append(steps)
        if self.corpus_dir:
            self._write(os.path.join(self.corpus_dir, f"{digest}.json"), steps, "fuzz corpus input")

    def _write(self, path: str, steps: list[Step], description: str) -> None:
        doc = document(self.target.prefix + steps, description)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1)
        os.replace(tmp, path)                       # other workers never read half a file

    def sync(self) -> None:
        """Take in the corpus folder's inputs this worker has not seen (users' seeds, other workers')."""
        if not self.corpus_dir:
            return
        for path in sorted(glob.glob(os.path.join(self.corpus_dir, "*.json"))):
            name = os.path.basename(path)[:-5]
            if name in self.known:
                continue
            self.known.add(name)
            try:
                steps = load(path).steps
            except ScenarioError:
                continue                            # a file someone else is writing, or not a scenario
            prefix = self.target.prefix
            if [step_json(s) for s in steps[:len(prefix)]] == [step_json(s) for s in prefix]:
                steps = steps[len(prefix):]
            steps = [s for s in steps if s.request is not None and s.request.major in self.majors]
            if steps:
                self.known.add(self._digest(steps))
                self.corpus.append(steps)
                self._execute(steps)

    # ---- the loop -----------------------------------------------------------------------------------
    def run(self, seconds: float | None, runs: int | None, status: Callable[[Stats], None] | None = None,
            until: Callable[[BugCheck], bool] | None = None) -> Stats:
        """Fuzz for `seconds` or `runs` inputs, or until an input raises a bug check `until` accepts
        (then `hit` is that input, not minimised)."""
        started = time.perf_counter()
        self.until = until
        stats = self.stats
        self.sync()
        for steps in self.seeds():
            self._execute(steps, keep_anyway=True)
        next_status = started
        while self.hit is None and (runs is None or stats.execs < runs) and \
                (seconds is None or time.perf_counter() - started < seconds):
            parent = self.rng.choice(self.corpus)
            other = self.rng.choice(self.corpus) if len(self.corpus) > 1 else None
            self._execute(self.mutator.mutate(parent, other))
            if stats.execs & 0xFF == 0:
                now = time.perf_counter()
                stats.seconds = now - started
                if self.corpus_dir and now - self._last_sync > SYNC_S:
                    self._last_sync = now
                    self.sync()
                if status and now >= next_status:
                    next_status = now + 0.25
                    status(stats)
        stats.seconds = time.perf_counter() - started
        return stats

    def _execute(self, steps: list[Step], keep_anyway: bool = False) -> None:
        stats = self.stats
        result = self.target.execute(steps)
        stats.execs += 1
        if result.fresh_edges or keep_anyway:
            stats.edges = len(self.target.coverage.edges)
            self._keep(steps)
            stats.corpus = len(self.corpus)
        for bugcheck in result.bugchecks:
            key = finding_key(bugcheck)
            if self.until is not None:
                if self.hit is None and self.until(bugcheck):
                    self.hit = steps
            elif key not in self.found:
                self._finding(key, steps)
        if not result.bugchecks and result.incomplete:
            kind = "hangs" if "budget" in result.incomplete else "errors"
            count = stats.hangs if kind == "hangs" else stats.errors
            if self.out_dir and count < MAX_KEPT:
                os.makedirs(os.path.join(self.out_dir, kind), exist_ok=True)
                self._write(os.path.join(self.out_dir, kind, f"{self._digest(steps)}.json"), steps,
                            result.incomplete)
            if kind == "hangs":
                stats.hangs += 1
            else:
                stats.errors += 1

    def _finding(self, key: tuple, steps: list[Step]) -> None:
        def raised(candidate: list[Step]) -> BugCheck | None:
            return next((b for b in self.target.execute(candidate).bugchecks if finding_key(b) == key), None)

        small = minimize(steps, lambda candidate: raised(candidate) is not None)
        bugcheck = raised(small)
        finding = Finding(bugcheck, small, execs=self.stats.execs)
        self.found[key] = finding
        self.stats.findings.append(finding)
        if self.out_dir:
            name = f"{bugcheck.code:X}-{_arg(bugcheck.args[0])}-{_arg(bugcheck.caller_rva)}"
            finding.scenario = os.path.join(self.out_dir, f"{name}.json")
            self._write(finding.scenario, small, f"verifier fuzz finding: bug check 0x{bugcheck.code:X} "
                                                 f"({_arg(bugcheck.args[0])}) in {bugcheck.entry_point}")
        if self.replay is not None:
            report = self.replay(self.target.prefix + small)
            finding.reproduced = any(finding_key(b) == key for b in report.bugchecks)
            if finding.scenario:
                from verifier.render.text import render_text
                from verifier.report import Report
                with open(finding.scenario[:-5] + ".txt", "w", encoding="utf-8") as fh:
                    fh.write(render_text(Report("run", [report])) + "\n")


def _arg(value) -> str:
    return f"{value:X}" if isinstance(value, int) else str(value)
