"""`verifier fuzz DRIVER`: the command around the campaign (options, worker processes, status, report).

With `--jobs N`, N worker processes fuzz side by side with seeds SEED..SEED+N-1, sharing the corpus
folder (a temporary one unless --corpus is given): each writes the inputs that added coverage there
and takes in those the others wrote every few seconds. `--runs` is shared out among them. Only
`--jobs 1` is deterministic: the same seed and --runs give the same inputs, edges and findings.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
import time
from dataclasses import replace

from emu.machine import stop_on_interrupt
from verifier.fuzz import DEFAULT_INPUT_TIMEOUT
from verifier.fuzz.campaign import Campaign, Finding, Stats, finding_key
from verifier.fuzz.target import FuzzTarget, NotFuzzable, StoppedBeforeInputs
from verifier.inputs import make_folder, read_driver
from verifier.report import EXIT_USAGE, DriverReport, FuzzFinding, FuzzSummary, Report
from verifier.scenario import Scenario, Step
from verifier.scenario_run import LOW_RESOURCES_FLAG
from verifier.session import Options, run_driver
from verifier.warning import DriverWarning


def main(args, scenario: Scenario | None) -> int:
    """The `fuzz` subcommand (args from verifier.cli, which read the --scenario prefix)."""
    from verifier.cli import emit
    data, failed = read_driver(args.driver)
    if failed is not None:
        print(f"verifier: error: {args.driver}: {failed.error}", file=sys.stderr)
        return EXIT_USAGE
    for folder in (args.corpus, args.out):
        unusable = folder and make_folder(folder, "folder", "give a folder; a missing one is created")
        if unusable:
            print(f"verifier: error: {unusable}", file=sys.stderr)
            return EXIT_USAGE
    options = Options(flags=args.flags, seed=args.seed, scenario=scenario)
    seconds = None if args.runs else args.time
    try:
        with stop_on_interrupt():
            if args.jobs == 1:
                report = _one(args, data, options, seconds)
            else:
                with tempfile.TemporaryDirectory(prefix="hvci-fuzz-") as shared:
                    report = _many(args, data, options, seconds, args.corpus or shared)
    except NotFuzzable as exc:
        print(f"verifier: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if sys.stderr.isatty() and report.fuzz:
        _summary_table(report)
    return emit(Report("fuzz", [report]), args.format, args.output)


def campaign_for(path: str, data: bytes, options: Options, seed: int = 0,
                 input_timeout: float = DEFAULT_INPUT_TIMEOUT, ioctl_steps: list[Step] = (),
                 corpus: str | None = None, out: str | None = None) -> tuple[Campaign, DriverReport]:
    """A campaign on `path`, its driver started up to the snapshot point, and the report of that
    start. NotFuzzable says why no input can reach the driver.

    A driver whose start already violates a rule (executable pool in DriverEntry, a writable code
    section) would stop there on Windows, and no input would ever run: it is fuzzed as with
    `--continue` instead (the start's bug checks are listed first, and its findings replay with
    `verifier run --continue --scenario FILE`)."""
    try:
        target = FuzzTarget(path, data, options, input_timeout)
        report = target.prepare()
    except StoppedBeforeInputs as exc:
        options = replace(options, keep_going=True)
        target = FuzzTarget(path, data, options, input_timeout)
        report = target.prepare()
        report.warnings.append(DriverWarning("fuzzed-with-continue", f"{exc}: fuzzed as with --continue (those "
                                             "bug checks recorded, the run going on); replay the findings with "
                                             "`verifier run --continue --scenario FILE`"))
    ioctls = sorted({s.request.ioctl for s in ioctl_steps}) if ioctl_steps else target.run.harvested()
    replay = lambda steps: run_driver(path, data, replace(options, scenario=Scenario(steps)))  # noqa: E731
    campaign = Campaign(target, seed, bool(options.flags & LOW_RESOURCES_FLAG), ioctls, corpus, out, replay,
                        given=[[s] for s in ioctl_steps])
    return campaign, report


def _campaign(args, data: bytes, options: Options, index: int, corpus: str | None) -> tuple[Campaign, DriverReport]:
    return campaign_for(args.driver, data, options, args.seed + index, args.timeout, args.ioctls, corpus, args.out)


def _one(args, data: bytes, options: Options, seconds: float | None) -> DriverReport:
    campaign, report = _campaign(args, data, options, 0, args.corpus)
    with _Status(sys.stderr.isatty()) as show:
        try:
            stats = campaign.run(seconds, args.runs, show)
        except KeyboardInterrupt:
            stats = campaign.stats
            report.incomplete = "interrupted by the user (Ctrl-C): the findings so far are listed"
    return summarize(report, stats, args.seed, 1)


def _worker(args, data: bytes, options: Options, seconds: float | None, runs: int | None, index: int,
            corpus: str, queue) -> None:
    try:
        campaign, report = _campaign(args, data, options, index, corpus)
    except NotFuzzable as exc:
        queue.put(("failed", index, str(exc)))
        return

    def status(stats: Stats) -> None:
        queue.put(("status", index, stats.execs, stats.edges, stats.corpus, len(stats.findings)))
    stats = campaign.run(seconds, runs, status)
    queue.put(("done", index, report, stats, campaign.target.coverage.edges))


def _many(args, data: bytes, options: Options, seconds: float | None, corpus: str) -> DriverReport:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    jobs = args.jobs
    shares = [args.runs // jobs + (i < args.runs % jobs) for i in range(jobs)] if args.runs else [None] * jobs
    workers = [context.Process(target=_worker, args=(args, data, options, seconds, shares[i], i, corpus, queue),
                               daemon=True) for i in range(jobs)]
    for w in workers:
        w.start()
    live: dict[int, tuple] = {}
    done: dict[int, tuple] = {}
    with _Status(sys.stderr.isatty()) as show:
        while len(done) < jobs:
            message = queue.get()
            if message[0] == "failed":
                for w in workers:
                    w.terminate()
                raise NotFuzzable(message[2])
            if message[0] == "status":
                live[message[1]] = message[2:]
                show(Stats(execs=sum(v[0] for v in live.values()), edges=max(v[1] for v in live.values()),
                           corpus=max(v[2] for v in live.values())), sum(v[3] for v in live.values()))
            else:
                done[message[1]] = message[2:]
    for w in workers:
        w.join()
    report = done[0][0]
    stats = Stats(execs=sum(d[1].execs for d in done.values()), seconds=max(d[1].seconds for d in done.values()),
                  corpus=max(d[1].corpus for d in done.values()), hangs=sum(d[1].hangs for d in done.values()),
                  errors=sum(d[1].errors for d in done.values()))
    stats.edges = len(set().union(*(d[2] for d in done.values())))
    unique: dict[tuple, Finding] = {}
    for index in sorted(done):
        for finding in done[index][1].findings:
            unique.setdefault(finding_key(finding.bugcheck), finding)
    stats.findings = list(unique.values())
    return summarize(report, stats, args.seed, jobs)


def summarize(report: DriverReport, stats: Stats, seed: int, jobs: int) -> DriverReport:
    """`report` (the driver's start) with the campaign's findings as its bug checks and its summary."""
    findings = [FuzzFinding(f.bugcheck, f.scenario, f.reproduced, f.execs) for f in stats.findings]
    known = {finding_key(b) for b in report.bugchecks}          # the start's own (fuzzed as with --continue)
    report.bugchecks += [f.bugcheck for f in findings if finding_key(f.bugcheck) not in known]
    report.fuzz = FuzzSummary(stats.execs, round(stats.execs_per_s, 1), stats.edges, stats.corpus,
                              round(stats.seconds, 3), seed, jobs, stats.hangs, stats.errors, findings)
    return report


class _Status:
    """The live status line on stderr (a terminal only): execs/s, edges, corpus, unique bug checks, elapsed."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.live = None
        self.started = 0.0

    def __enter__(self):
        self.started = time.perf_counter()
        if self.enabled:
            from rich.console import Console
            from rich.live import Live
            self.live = Live("", console=Console(stderr=True), refresh_per_second=4, transient=True)
            self.live.__enter__()
        return self.show

    def show(self, stats: Stats, findings: int | None = None) -> None:
        if self.live is None:
            return
        elapsed = time.perf_counter() - self.started
        rate = stats.execs / elapsed if elapsed else 0.0
        found = len(stats.findings) if findings is None else findings
        self.live.update(f"[bold]fuzz[/] {elapsed:6.1f} s  {stats.execs:,} execs  {rate:,.0f}/s  "
                         f"{stats.edges:,} edges  corpus {stats.corpus:,}  [red]{found} unique bug check(s)[/]")

    def __exit__(self, *exc) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)


def _summary_table(report: DriverReport) -> None:
    from rich.console import Console
    from rich.table import Table
    from verifier.render.text import short_arg
    fuzz = report.fuzz
    table = Table(title=f"verifier fuzz: {fuzz.execs:,} inputs in {fuzz.seconds:.1f} s "
                        f"({fuzz.execs_per_s:,.0f}/s), {fuzz.edges:,} edges, corpus {fuzz.corpus:,}")
    for column in ("bug check", "Arg1", "caller", "entry point", "replays", "scenario"):
        table.add_column(column)
    name = os.path.basename(report.path)
    for f in fuzz.findings:
        b = f.bugcheck
        caller = f"{name}+0x{b.caller_rva:x}" if b.caller_rva is not None else "-"
        table.add_row(f"0x{b.code:X}", short_arg(b.args[0]), caller, b.entry_point or "-", "yes" if f.reproduced else "NO",
                      f.scenario or "-")
    Console(stderr=True).print(table)
