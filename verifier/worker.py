"""What a batch worker does with one driver: scan + run in one report, inside a process of its own.

`check` is the unit of work, the same on the local pool and on a Dask worker. `Isolated` runs it in a
child forked from the prepared batch process (the emulator, handlers and rules imported), under an
address-space limit and a wall-clock deadline after which the child is killed: a driver that hangs,
exhausts memory or takes its process down becomes a report entry and the batch goes on.
"""
from __future__ import annotations

import ctypes
import faulthandler
import gc
import multiprocessing
import os
import resource
import signal
import time
from dataclasses import dataclass

from verifier.render.json_report import driver_json
from verifier.report import DriverReport
from verifier.scan import scan_bytes
from verifier.session import Options, Session
from verifier.warning import DriverWarning

# Seconds a worker gets beyond its driver's wall-clock limit to start and hand its report back.
GRACE_S = 2.0


@dataclass
class Job:
    """One driver to check; picklable, so it travels to a forked child or a Dask worker as is."""

    name: str                          # stable name (path relative to the batch root): fingerprints, summary
    path: str
    data: bytes
    options: dict                      # verifier.session.Options fields
    wall_timeout: float                # seconds before the worker is killed
    memory_mb: int                     # address-space limit of the worker
    fault: str | None = None           # tests only: how the worker should fail (see _inject_fault)
    fuzz_time: float = 0.0             # seconds of `verifier fuzz` after the run (0: none)


def combine(scanned: DriverReport, ran: DriverReport) -> DriverReport:
    """The run's report, plus any image-rule finding it lacks: a driver the loader refuses, or a run
    without the code-integrity flag, still shows what the static scan found."""
    if scanned.error:
        return ran
    known = {b.key() for b in ran.bugchecks}
    ran.bugchecks.extend(b for b in scanned.bugchecks if b.key() not in known)
    ran.warnings.extend(w for w in scanned.warnings if w not in ran.warnings)
    if ran.error:                      # refused at load: the image was still read and scanned
        ran.incomplete, ran.error = f"not run: {ran.error}", None
        ran.image_base = scanned.image_base
        ran.unsupported_relocs = scanned.unsupported_relocs
    return ran


def check(job: Job) -> dict:
    """Scan + run one driver; the report as `run --format json` writes a driver record."""
    _inject_fault(job)
    scanned = scan_bytes(job.path, job.data)
    ran = Session(job.path, job.data, Options(**job.options)).run()
    if job.fuzz_time and not ran.error:
        gc.collect()                   # the run's kernel (reference cycles) before the fuzzer's
        fuzz(job, ran)
    return driver_json(combine(scanned, ran))


def fuzz(job: Job, ran: DriverReport) -> None:
    """`--fuzz-time`: fuzz the driver after its run; findings the run lacks join its bug checks."""
    from verifier.fuzz.command import campaign_for, summarize
    from verifier.fuzz.campaign import finding_key
    from verifier.fuzz.target import NotFuzzable
    try:
        campaign, start = campaign_for(job.path, job.data, Options(**job.options))
    except NotFuzzable as exc:
        ran.warnings.append(DriverWarning("not-fuzzed", str(exc)))
        return
    fuzzed = summarize(start, campaign.run(job.fuzz_time, None), seed=0, jobs=1)
    known = {finding_key(b) for b in ran.bugchecks}
    ran.bugchecks.extend(b for b in fuzzed.bugchecks if finding_key(b) not in known)
    ran.fuzz = fuzzed.fuzz


def _inject_fault(job: Job) -> None:
    """Test hook, set only through the Python API (never from the command line or a manifest)."""
    fault = job.fault
    if fault == "exit":
        os._exit(70)
    elif fault == "segfault":
        faulthandler.disable()         # pytest's traceback dump would only be noise here
        os.kill(os.getpid(), signal.SIGSEGV)
    elif fault == "memory":
        bytearray(job.memory_mb << 20)     # as much as the whole limit: only the limit makes this fail
    elif fault == "hang":
        time.sleep(1e6)


def attempt(job: Job) -> tuple[str, dict | str]:
    """("ok", driver JSON), or ("crashed", why) when the check itself failed."""
    try:
        return "ok", check(job)
    except MemoryError:
        return "crashed", f"the worker ran out of memory (MemoryError; local workers are limited to {job.memory_mb} MB)"
    except Exception as exc:           # a gap in the verifier: report it against this driver, go on
        return "crashed", f"the worker failed: {type(exc).__name__}: {exc}"


PR_SET_PDEATHSIG = 1                   # linux/prctl.h


def _child(conn, job: Job) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # Ctrl-C is the batch's to handle: it kills its workers
    # ... and if the batch itself is killed (SIGTERM/SIGKILL from a CI timeout), so is its worker.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    limit = job.memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    conn.send(attempt(job))
    conn.close()


def context() -> multiprocessing.context.BaseContext:
    """Children are forked from the batch process, which has imported the emulator, handlers and rules and
    warmed their caches (`prepare`): a child starts prepared instead of importing ~0.7 s of modules. The
    batch process runs no thread while it forks (its progress bar refreshes from the main loop)."""
    return multiprocessing.get_context("fork")


class Isolated:
    """One job in a child process; poll `result()` until it is not None."""

    def __init__(self, job: Job):
        self.job = job
        self.conn, child_conn = context().Pipe(duplex=False)
        self.process = context().Process(target=_child, args=(child_conn, job), daemon=True)
        self.started = time.monotonic()
        self.process.start()
        child_conn.close()

    @property
    def sentinels(self) -> list:
        return [self.conn, self.process.sentinel]

    def result(self) -> tuple[str, dict | str] | None:
        """("ok", driver JSON) or (outcome, reason) once the child is done, killed or gone; else None."""
        if self.conn.poll():
            try:
                outcome = self.conn.recv()
            except (EOFError, OSError):
                outcome = None
            if outcome is not None:
                self._reap()
                return outcome
        if not self.process.is_alive() or self._overdue():
            overdue = self.process.is_alive()
            self._reap()
            if overdue:
                return "timeout", f"killed after {self.job.wall_timeout:g} s (wall-clock limit per driver)"
            return "crashed", _death(self.process.exitcode)
        return None

    def _overdue(self) -> bool:
        return time.monotonic() - self.started > self.job.wall_timeout + GRACE_S

    def _reap(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()

    def kill(self) -> None:
        self._reap()


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"the worker process died of {name}"
    return f"the worker process exited with status {exitcode} without a report"


def prepare() -> float:
    """Warm this process's kernel-side caches (handler catalog, rootfs export lists, argument decoders)
    by building one kernel; returns the seconds it took. The batch process does it once before forking
    its children, a Dask worker once at start."""
    from hooks.kernel import Kernel
    start = time.perf_counter()
    Kernel()
    gc.collect()        # the kernel's Unicorn instance (~2 GB of address space) must not reach the children
    return time.perf_counter() - start
