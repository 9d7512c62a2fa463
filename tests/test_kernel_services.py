"""Kernel services real drivers call (issue 7), driven from our C test drivers.

The C drivers check results against Microsoft's documentation themselves (their DriverEntry
returns 0xE000xxxx on a mismatch, see tests/drivers/src/*.c); these tests check what the kernel
recorded from those calls: deferred work, callbacks, error-log entries, ETW registrations. Expected
addresses come from the drivers' own export tables, expected values from their C sources.
"""
from __future__ import annotations

import pefile
import pytest

from conftest import built, driver_path, read
from verifier.session import Options, Session


def run(name: str, **options) -> Session:
    session = Session(driver_path(name), read(name), Options(timeout=10, **options))
    report = session.run()
    assert report.error is None and report.incomplete is None, (report.error, report.incomplete)
    assert report.bugchecks == []
    assert report.entry_points[0].status == 0, hex(report.entry_points[0].status)
    return session


def exported(session: Session, name: str) -> int:
    """Run-time address of a name the driver exports (its preferred base is not where it runs)."""
    pe = pefile.PE(data=read(session.driver.name))
    rva = next(e.address for e in pe.DIRECTORY_ENTRY_EXPORT.symbols if e.name == name.encode())
    return session.driver.image.base + rva


needs = lambda *names: pytest.mark.skipif(built(names) != sorted(names), reason="driver not built")  # noqa: E731


# ---- dispatcher objects, DPCs, timers, threads ---------------------------------------------------------
@needs("dispatcher")
def test_queued_dpc_is_recorded_with_the_drivers_routine_context_and_arguments():
    s = run("dispatcher")
    dpcs = s.kernel.deferred.dpcs
    queued = dpcs[exported(s, "QueuedDpc")]
    assert (queued.routine, queued.context) == (exported(s, "DpcRoutine"), exported(s, "QueuedContext"))
    assert (queued.argument1, queued.argument2, queued.api) == (0x1111, 0x2222, "KeInsertQueueDpc")
    assert s.rva(queued.caller) is not None                   # the call came from the driver's code


@needs("dispatcher")
def test_an_expired_timer_queues_its_dpc_with_the_expiry_time():
    s = run("dispatcher")
    timer_dpc = s.kernel.deferred.dpcs[exported(s, "TimerDpc")]
    assert (timer_dpc.routine, timer_dpc.context) == (exported(s, "TimerDpcRoutine"), exported(s, "TimerContext"))
    assert timer_dpc.api == "KeSetTimer"
    # SystemArgument1/2: the low and high parts of the system time at expiry, 10 ms after the start
    expiry = timer_dpc.argument1 | timer_dpc.argument2 << 32
    assert 0 < expiry <= s.kernel.system_time
    assert s.kernel.deferred.timers == {}                      # a one-shot timer leaves the queue


@needs("dispatcher")
def test_created_system_thread_is_recorded_not_run():
    s = run("dispatcher")
    (thread,) = s.kernel.deferred.threads.values()
    assert (thread.start_routine, thread.context) == (exported(s, "ThreadStart"), exported(s, "StopEvent"))
    assert thread.process == s.kernel.system_process and thread.exit_status is None
    assert len(s.kernel.handles) == 0                          # the driver closed its thread handle
    assert s.kernel.deferred.blocked_waits == []
