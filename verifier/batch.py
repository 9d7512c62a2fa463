"""`verifier batch`: scan + run every driver of a folder or manifest, each in a worker of its own, and
compare the findings with a baseline (the nightly gate: only new findings fail).

Jobs run on a local pool of forked workers (verifier.worker), or on a Dask cluster (verifier.dask_engine).
Finished drivers are cached by driver sha256 + options + tool version, so a rerun resumes.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import wait
from typing import Callable

from verifier import baseline, manifest
from verifier.inputs import make_folder
from verifier.render.json_report import driver_from_json, report_json
from verifier.render.junit import render_batch_junit
from verifier.render.sarif import render_sarif, rule_id
from verifier.report import EXIT_CLEAN, EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_USAGE, DriverReport, Report
from verifier.session import Options
from verifier.worker import Isolated, Job, prepare

Done = Callable[[Job, tuple, float], None]        # (job, (outcome, driver JSON or reason), seconds)


@dataclass
class Outcome:
    name: str
    report: DriverReport
    seconds: float
    cached: bool = False


@dataclass
class BatchResult:
    outcomes: list[Outcome] = field(default_factory=list)
    comparison: baseline.Comparison = field(default_factory=baseline.Comparison)
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        """The nightly gate: 1 for new findings only; fixed, known and unfinished drivers are reported."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_FINDINGS if self.comparison.new else EXIT_CLEAN

    @property
    def report(self) -> Report:
        return Report("batch", [o.report for o in self.outcomes], self.interrupted)

    @property
    def names(self) -> list[str]:
        return [o.name for o in self.outcomes]


# ---- jobs ------------------------------------------------------------------------------------------------
FUZZ_SLACK = 1.5       # --fuzz-time S adds 1.5 S to a driver's wall-clock limit (minimising, replaying findings)


def jobs_for(target: str, wall_timeout: float, memory_mb: int, faults: dict[str, str] | None = None,
             fuzz_time: float = 0.0) -> list[Job]:
    """Jobs for a folder or a manifest (ManifestError if unusable). `faults` (name -> how the worker
    fails) exists for the tests of a worker that crashes; nothing outside Python reaches it."""
    if os.path.isdir(target):
        entries = manifest.from_directory(target)
        if not entries:
            raise manifest.ManifestError(f"folder {target} holds no *.sys driver")
    else:
        entries = manifest.load(target)
    jobs = []
    for e in entries:
        try:
            with open(e.path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise manifest.ManifestError(f"cannot read driver {e.path}: {exc.strerror or exc}") from None
        limit = e.wall_timeout or wall_timeout or math.inf          # --timeout inf arrives as 0.0
        # Each entry point's emulation budget stays inside the worker's wall-clock limit, so a spinning
        # driver is stopped by the emulator (which says where it was) before its worker is killed.
        options = {"timeout": min(Options().timeout, limit), **e.options}
        # Fuzzing comes on top of the run: its time (plus minimising and replaying findings) extends the limit.
        jobs.append(Job(e.name, e.path, data, options, limit + fuzz_time * FUZZ_SLACK, e.memory_mb or memory_mb,
                        (faults or {}).get(e.name), fuzz_time))
    return jobs


def tool_version() -> str:
    """The package version plus a digest of its sources: a cache written by other code is not reused."""
    from importlib.metadata import version
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    digest = hashlib.sha256()
    for package in ("emu", "hooks", "verifier", "rootfs"):
        for folder, _, files in sorted(os.walk(os.path.join(top, package))):
            for f in sorted(files):
                if f.endswith((".py", ".txt", ".json")):
                    with open(os.path.join(folder, f), "rb") as fh:
                        digest.update(f.encode() + fh.read())
    return f"{version('hvci-verifier')}+{digest.hexdigest()[:16]}"


def _file_digest(path) -> str | None:
    """A scenario file's content is part of a driver's options: edit it and the driver runs again."""
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except (OSError, TypeError):
        return None


class Cache:
    """One JSON file per finished driver, keyed by its sha256, its options and the tool version."""

    def __init__(self, folder: str | None):
        self.folder, self.version = folder, tool_version()

    def key(self, job: Job) -> str:
        inputs = {k: _file_digest(job.options[k]) for k in manifest.PATH_OPTIONS if k in job.options}
        material = json.dumps({"sha256": hashlib.sha256(job.data).hexdigest(), "options": job.options,
                               "inputs": inputs, "fault": job.fault, "fuzz_time": job.fuzz_time,
                               "tool": self.version},
                              sort_keys=True, default=str)
        return hashlib.sha256(material.encode()).hexdigest()

    def get(self, job: Job) -> tuple[dict, float] | None:
        if not self.folder:
            return None
        try:
            with open(os.path.join(self.folder, self.key(job) + ".json"), encoding="utf-8") as fh:
                entry = json.load(fh)
            return {**entry["driver"], "path": job.path}, entry["seconds"]
        except (OSError, ValueError, KeyError):
            return None

    def put(self, job: Job, driver: dict, seconds: float) -> None:
        if not self.folder:
            return
        os.makedirs(self.folder, exist_ok=True)
        target = os.path.join(self.folder, self.key(job) + ".json")
        with open(target + ".tmp", "w", encoding="utf-8") as fh:
            json.dump({"driver": driver, "seconds": seconds}, fh)
        os.replace(target + ".tmp", target)          # a batch killed mid-write leaves no half entry


# ---- engines -------------------------------------------------------------------------------------------
def run_local(jobs: list[Job], workers: int, done: Done) -> None:
    """At most `workers` drivers at a time, each in its own child; a dead child takes only its driver."""
    pending, running = deque(jobs), []
    if jobs:
        prepare()
    try:
        while pending or running:
            while pending and len(running) < workers:
                running.append(Isolated(pending.popleft()))
            wait([s for r in running for s in r.sentinels], timeout=0.5)
            for r in list(running):
                result = r.result()
                if result is not None:
                    running.remove(r)
                    done(r.job, result, time.monotonic() - r.started)
    finally:
        for r in running:                            # Ctrl-C: no orphan keeps emulating
            r.kill()


def execute(jobs: list[Job], workers: int = 2, cache_dir: str | None = None, scheduler: str | None = None,
            baseline_findings: dict | None = None, progress: Callable[[Outcome], None] | None = None) -> BatchResult:
    """Check every job (cached ones from the cache), in the jobs' order in the result."""
    cache = Cache(cache_dir)
    outcomes: dict[str, Outcome] = {}

    def finish(job: Job, result: tuple, seconds: float, cached: bool = False) -> None:
        kind, payload = result
        if kind == "ok":
            report = driver_from_json(payload)
            if not cached:
                cache.put(job, payload, seconds)
        else:
            report = DriverReport(job.path, sha256=hashlib.sha256(job.data).hexdigest(), incomplete=payload)
        outcomes[job.name] = Outcome(job.name, report, round(seconds, 3), cached)
        if progress:
            progress(outcomes[job.name])

    todo = []
    for job in jobs:
        hit = cache.get(job)
        if hit:
            finish(job, ("ok", hit[0]), hit[1], cached=True)
        else:
            todo.append(job)
    interrupted = False
    try:
        if scheduler:
            from verifier.dask_engine import run_dask
            run_dask(todo, scheduler, finish)
        else:
            run_local(todo, workers, finish)
    except KeyboardInterrupt:
        interrupted = True
    result = BatchResult([outcomes[j.name] for j in jobs if j.name in outcomes], interrupted=interrupted)
    current = baseline.findings([(o.name, o.report) for o in result.outcomes])
    result.comparison = baseline.compare(current, baseline_findings)
    return result


# ---- outputs -------------------------------------------------------------------------------------------
def batch_json(result: BatchResult) -> dict:
    doc = report_json(result.report)
    doc["exit_code"] = result.exit_code
    doc["batch"] = {"drivers": [{"name": o.name, "seconds": o.seconds, "cached": o.cached} for o in result.outcomes],
                    **result.comparison.json()}
    return doc


def states(result: BatchResult) -> dict[str, str]:
    c = result.comparison
    return {f.fingerprint: state for state in ("new", "updated", "unchanged") for f in getattr(c, state)}


def write_outputs(result: BatchResult, json_path: str | None, sarif_path: str | None, junit_path: str | None,
                  with_baseline: bool) -> None:
    """OSError names the file that could not be written."""
    outputs = []
    if json_path:
        outputs.append((json_path, json.dumps(batch_json(result), indent=2)))
    if sarif_path:
        outputs.append((sarif_path, render_sarif(result.report, result.names,
                                                 states(result) if with_baseline else None,
                                                 result.comparison.fixed)))
    if junit_path:
        outputs.append((junit_path, render_batch_junit(
            result.report, result.names, states(result), result.comparison.fixed, [o.seconds for o in result.outcomes],
            datetime.now().strftime("%Y-%m-%dT%H:%M:%S"), socket.gethostname() or "localhost")))
    for path, text in outputs:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")


def summary_table(result: BatchResult):
    """driver, rules hit, new/fixed, entry points reached, time."""
    from rich.table import Table
    c = result.comparison
    new = {f.driver: 0 for f in c.new + c.fixed}
    fixed = dict(new)
    for f in c.new:
        new[f.driver] += 1
    for f in c.fixed:
        fixed[f.driver] += 1
    table = Table(title="verifier batch")
    for column, justify in (("driver", "left"), ("rules hit", "left"), ("new", "right"), ("fixed", "right"),
                            ("entry points", "right"), ("time", "right")):
        table.add_column(column, justify=justify)
    for o in result.outcomes:
        d = o.report
        rules = ", ".join(dict.fromkeys(rule_id(b) for b in d.bugchecks)) or "-"
        if d.error or d.incomplete:
            rules += f" ({d.error or d.incomplete})"
        took = "cached" if o.cached else f"{o.seconds:.1f} s"
        table.add_row(o.name, rules, str(new.get(o.name, 0)), str(fixed.get(o.name, 0)),
                      str(len(d.entry_points)), took)
    return table


def main(args) -> int:
    """The `batch` subcommand (args from verifier.cli)."""
    from rich.console import Console
    err = Console(stderr=True)
    try:
        known = baseline.load(args.baseline) if args.baseline else None
        jobs = jobs_for(args.target, args.timeout, args.memory_mb, fuzz_time=args.fuzz_time)
    except (baseline.BaselineError, manifest.ManifestError) as exc:
        print(f"verifier: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    cache_dir = None if args.no_cache else args.cache
    unusable = cache_dir and make_folder(cache_dir, "cache folder", "pass another --cache DIR, or --no-cache")
    if unusable:
        print(f"verifier: error: {unusable}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with _ProgressBar(err, len(jobs)) as advance:
            result = execute(jobs, args.jobs, cache_dir, args.scheduler, known, advance)
    except ImportError as exc:
        print(f"verifier: error: --scheduler needs dask.distributed ({exc}); "
              "install it with: pip install 'hvci-verifier[dask]'", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:          # the scheduler cannot be reached (TimeoutError is an OSError)
        if not args.scheduler:
            raise
        print(f"verifier: error: cannot use the Dask scheduler {args.scheduler}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        write_outputs(result, args.json, args.sarif, args.junit, known is not None)
    except OSError as exc:
        print(f"verifier: error: cannot write {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    Console().print(summary_table(result))
    c = result.comparison
    cached = sum(o.cached for o in result.outcomes)
    unfinished = sum(1 for o in result.outcomes if o.report.incomplete or o.report.error)
    print(f"{len(result.outcomes)} driver(s) checked ({cached} from the cache), {unfinished} unfinished; "
          f"findings: {len(c.new)} new, {len(c.fixed)} fixed, {len(c.unchanged)} unchanged, {len(c.updated)} updated")
    if result.interrupted:
        resume = "; the same command resumes (finished drivers are cached)" if cache_dir else ""
        print(f"verifier: interrupted{resume}", file=sys.stderr)
    return result.exit_code


class _ProgressBar:
    """A rich progress bar over drivers on stderr, only when stderr is a terminal."""

    def __init__(self, console, total: int):
        self.console, self.total, self.bar = console, total, None

    def __enter__(self) -> Callable[[Outcome], None] | None:
        if not self.console.is_terminal:
            return None
        from rich.progress import Progress
        # No refresh thread: the local pool forks its workers from this process.
        self.bar = Progress(console=self.console, transient=True, auto_refresh=False)
        self.task = self.bar.add_task("drivers", total=self.total)
        self.bar.start()
        return self._advance

    def _advance(self, outcome: Outcome) -> None:
        self.bar.update(self.task, advance=1, description=outcome.name)
        self.bar.refresh()

    def __exit__(self, *exc) -> None:
        if self.bar:
            self.bar.stop()
