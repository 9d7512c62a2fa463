"""System threads scheduled cooperatively (hooks/scheduler.py, verifier/threads.py).

tests/drivers/src/threads.c: a worker thread that waits for work, fed by DriverEntry and an IOCTL and
stopped by DriverUnload, and an ImDisk-style unload that polls a flag the thread clears. The
expected records and lines follow from that source: a thread runs only when the running one gives
the processor up at a wait (or at the deferred-work stage); each thread has one `SystemThread`
record, appended when it starts, whose outcome is its last.
"""
from __future__ import annotations

from conftest import driver_path, load_manifest, read
from hooks import kstructs as ks
from verifier.scenario_run import ScenarioRun
from verifier.session import Options, Session, run_driver

MANIFEST = load_manifest()
IOCTL_THREADS_JOB = 0x222000


def _run(name: str, **options):
    return run_driver(driver_path(name), read(name), Options(timeout=30, **options))


def _records(report):
    return [(e.name, e.outcome, e.status) for e in report.entry_points]


def _lines(name: str) -> list[str]:
    return [line.rstrip("\n") for line in MANIFEST[name]["debug_output"]]


WORKER_RECORDS = [
    ("DriverEntry", "returned", 0),          # waited for ReadyEvent: the worker started there
    ("SystemThread", "exited", 0x1234),      # resumed in the IOCTL and in DriverUnload, then exited
    ("IRP_MJ_CREATE", "returned", 0),
    ("IRP_MJ_DEVICE_CONTROL", "returned", 0),
    ("IRP_MJ_CLEANUP", "returned", 0),
    ("IRP_MJ_CLOSE", "returned", 0),
    ("DriverUnload", "returned", None),       # its wait on the thread object was satisfied
]


def test_a_worker_thread_runs_whenever_the_code_feeding_it_waits_and_unload_waits_for_it_to_end():
    report = _run("threads_worker")
    assert report.error is None and report.incomplete is None and report.bugchecks == []
    assert _records(report) == WORKER_RECORDS
    ioctl = report.entry_points[3]
    # the worker did jobs 1 (DriverEntry's) and 2 (this IOCTL's) while the IOCTL waited for DoneEvent;
    # the I/O manager cleared DO_DEVICE_INITIALIZING after DriverEntry and counts the one open handle
    done, initializing, references = 2, 0, 1
    output = b"".join(v.to_bytes(4, "little") for v in (done, initializing, references)).hex()
    assert (ioctl.ioctl, ioctl.information, ioctl.output, ioctl.completed) == (IOCTL_THREADS_JOB, 12, output, True)
    # its own thread (own-thread=1), the jobs in order, the stop, unload's wait satisfied (0x0) and
    # no handle left open (refs=0: CLOSE was sent)
    assert report.debug_output == _lines("threads_worker")


def test_nothing_is_left_blocked_and_the_thread_object_is_signalled():
    session = Session(driver_path("threads_worker"), read("threads_worker"), Options(timeout=30))
    session.run()
    k = session.kernel
    (thread,) = k.deferred.threads.values()
    assert thread.exit_status == 0x1234
    assert k.deferred.blocked_waits == [] and k.scheduler.parked == {}
    assert k.read_struct(ks.DISPATCHER_HEADER, thread.thread).SignalState == 1
    assert k.current_thread == k.initial_thread


def test_a_violation_in_the_resumed_worker_is_found_at_its_call_site():
    report = _run("threads_worker_exec")
    (b,) = report.bugchecks
    assert (b.code, b.args[0], b.args[2], b.args[3]) == (0xC4, 0x2000, 0, int.from_bytes(b"krhT", "big"))
    assert (b.entry_point, b.api) == ("SystemThread", "ExAllocatePoolWithTag")
    assert b.args[1] == report.image_base + b.caller_rva
    # job 1 is first done once the worker resumes in the IOCTL: the machine stops there, under the
    # IOCTL, which was waiting for DoneEvent
    assert _records(report) == [("DriverEntry", "returned", 0), ("SystemThread", "bugcheck", None),
                                ("IRP_MJ_CREATE", "returned", 0), ("IRP_MJ_DEVICE_CONTROL", "waiting", None)]
    assert report.debug_output == _lines("threads_worker")[:2]


def test_with_continue_each_job_hits_the_same_call_site_and_the_run_ends_cleanly():
    report = _run("threads_worker_exec", keep_going=True)
    (b,) = report.bugchecks
    assert (b.entry_point, b.count) == ("SystemThread", 2)
    assert _records(report) == WORKER_RECORDS
    assert report.debug_output == _lines("threads_worker")


def test_an_unload_that_polls_with_a_delay_lets_the_thread_clear_its_flag():
    report = _run("threads_poll")
    assert report.error is None and report.incomplete is None and report.bugchecks == []
    # the thread starts at the deferred stage: its 1 s wait times out when the clock moves there,
    # then it parks on StopEvent; DriverUnload's first 10 ms delay lets it run, clear Busy and return
    # (polls=1); ZwWaitForSingleObject then finds its thread signalled, and the closed handle invalid
    assert _records(report) == [("DriverEntry", "returned", 0), ("SystemThread", "returned", None),
                                ("DriverUnload", "returned", None)]
    assert report.debug_output == _lines("threads_poll")


def test_a_parked_thread_is_part_of_a_kernel_snapshot(monkeypatch):
    """Snapshot right after DriverEntry, the worker parked on WorkEvent; the rest of the run ends it.
    Restored, the worker is parked again with the same CPU, and the rest runs the same way again."""
    taken = []
    run = ScenarioRun.run

    def snapshot_then_run(self, entry):
        taken.append((self.k.snapshot(), dict(self.k.scheduler.parked)))
        run(self, entry)

    monkeypatch.setattr(ScenarioRun, "run", snapshot_then_run)
    session = Session(driver_path("threads_worker"), read("threads_worker"), Options(timeout=30))
    first = session.run()
    k = session.kernel
    (snap, parked), = taken
    (worker,) = parked
    assert k.scheduler.parked == {}
    k.restore(snap)
    assert k.scheduler.parked == parked and parked[worker].wait.api == "KeWaitForSingleObject"
    assert k.debug.lines == _lines("threads_worker")[:2]
    records = len(first.entry_points)
    ScenarioRun(session, None, []).run(first.entry_points[0])
    again = first.entry_points[records:]
    assert [(e.name, e.outcome, e.status, e.output) for e in again] == \
        [(e.name, e.outcome, e.status, e.output) for e in first.entry_points[2:records]]
    assert k.debug.lines == _lines("threads_worker")
    assert k.deferred.threads[worker].exit_status == 0x1234 and k.scheduler.parked == {}


YIELD_RECORDS = [
    ("DriverEntry", "returned", 0),
    ("AddDevice", "returned", 0),            # creates threads A and B: ready, not run yet
    ("IRP_MJ_PNP", "returned", 0),           # START: its delay already over lets A and B start
    ("SystemThread", "exited", 0xA0),        # A: PsTerminateSystemThread(0xA0) once REMOVE set Stop
    ("SystemThread", "returned", None),      # B: three retries, then its start routine returns
    ("IRP_MJ_POWER", "returned", 0),
    ("IRP_MJ_CREATE", "returned", 0),
    ("IRP_MJ_CLOSE", "returned", 0),
    ("IRP_MJ_PNP", "returned", 0),           # REMOVE: the lower driver's status, not 0xE0000001
    ("DriverUnload", "returned", None),
]


def test_a_remove_that_polls_with_delays_already_over_lets_the_threads_it_woke_exit():
    """CH341S64.sys's REMOVE (threads_yield.c): its delay's interval is positive (ULONG arithmetic),
    an absolute time long past, so each KeDelayExecutionThread only yields (Sleep(0) in Microsoft's
    Sleep documentation: the rest of the time slice to another thread ready to run). Derived from
    the source, one yield each time, ready threads in creation order, a thread that yielded behind
    the others: START's yield starts A, whose own delay yields to B (never ran: `B waits`, parks on
    EventB), then START goes on (`started`); the deferred stage resumes A (`A waits`). REMOVE's
    first poll (Running 2) wakes A (`A stops`) and B, whose zero-interval retries alternate with
    REMOVE's polls 1..3; B returns (Running 0) and poll 4 finds no thread running."""
    report = _run("threads_yield")
    assert report.error is None and report.incomplete is None and report.bugchecks == []
    assert _records(report) == YIELD_RECORDS
    assert [e.minor for e in report.entry_points if e.name == "IRP_MJ_PNP"] == [0x00, 0x02]   # START, REMOVE
    assert report.debug_output == _lines("threads_yield")


def test_delays_already_over_move_no_clock_and_leave_no_thread_parked():
    session = Session(driver_path("threads_yield"), read("threads_yield"), Options(timeout=30))
    entry = session.start()
    k = session.kernel
    before = k.interrupt_time
    ScenarioRun(session, None, []).run(entry)
    # every delay the driver makes is already over (an absolute time in 1601, or zero): none waits
    assert k.interrupt_time == before
    assert k.scheduler.parked == {} and k.deferred.blocked_waits == []
    assert [t.exit_status for t in k.deferred.threads.values()] == [0xA0, None]
