"""Deferred work runs after the requests: DPCs, timers, work items and system threads (issue 8, item 4).

tests/drivers/src/deferred.c queues one of each and reports with DbgPrint what each routine saw; the
expected order and lines follow from that source and the documented run order of
verifier/deferred_run.py (DPCs, then work items in queue order, then threads, then the clock moves to
the timer).
"""
from __future__ import annotations

from conftest import driver_path, load_manifest, read
from verifier.session import Options, run_driver

MANIFEST = load_manifest()


def _run(name: str, **options):
    return run_driver(driver_path(name), read(name), Options(timeout=30, **options))


def test_each_kind_of_deferred_work_runs_once_in_order_with_its_outcome():
    report = _run("deferred")
    assert report.error is None and report.incomplete is None and report.bugchecks == []
    assert [(e.name, e.outcome, e.status) for e in report.entry_points] == [
        ("DriverEntry", "returned", 0),
        ("Dpc", "returned", None),
        ("WorkItem", "returned", None),                 # IoQueueWorkItem
        ("WorkItem", "returned", None),                 # ExQueueWorkItem
        ("SystemThread", "exited", 0x1234),             # PsTerminateSystemThread(0x1234)
        ("SystemThread", "waiting", None),              # waits for good on NeverEvent
        ("Timer", "returned", None),                    # KeSetTimer 10 ms: its DPC, once the clock moves
    ]


def test_routines_see_their_irql_arguments_and_thread():
    # DPCs at DISPATCH_LEVEL with their context and system arguments, work items at PASSIVE_LEVEL with
    # the device and context, a thread in its own thread object; nothing after the endless wait
    assert _run("deferred").debug_output == [line.rstrip("\n") for line in MANIFEST["deferred"]["debug_output"]]


def test_a_violation_reachable_only_in_a_work_item_is_found_there():
    report = _run("deferred_exec")
    (b,) = report.bugchecks
    assert (b.code, b.args[0], b.args[2], b.args[3]) == (0xC4, 0x2000, 0, int.from_bytes(b"krWD", "big"))
    assert b.entry_point == "WorkItem" and b.api == "ExAllocatePoolWithTag"
    assert b.args[1] == report.image_base + b.caller_rva
    # the run stopped there, as Windows would: nothing queued after it ran
    assert [e.name for e in report.entry_points] == ["DriverEntry", "Dpc", "WorkItem"]


def test_with_continue_the_rest_of_the_deferred_work_still_runs():
    report = _run("deferred_exec", keep_going=True)
    assert [b.entry_point for b in report.bugchecks] == ["WorkItem"]
    assert [e.name for e in report.entry_points][-1] == "Timer"
