"""The deferred-work stage: what a driver queued runs once its requests are done, as Windows would run it.

Windows runs deferred work concurrently with the driver's other code; here, with one processor and
one thread, it runs in a fixed order after the requests (and before REMOVE and DriverUnload), until
nothing new is queued: queued DPCs at DISPATCH_LEVEL (`Dpc`, or `Timer` for a timer's DPC), work
items in a system worker thread at PASSIVE_LEVEL (`WorkItem`), then the system threads the driver
created that never ran and the parked ones whose wait is now satisfied, in creation order
(`SystemThread`, verifier/threads.py), each until it returns, calls PsTerminateSystemThread or waits
again. KMDF timers, work items and DPCs the driver queued (WdfTimerStart, WdfWorkItemEnqueue,
WdfDpcEnqueue) run after the kernel's work items, before the threads, each an entry point named
after its callback's kind (`EvtTimerFunc`, `EvtWorkItemFunc`, `EvtDpcFunc`). When nothing else is
pending, the clock moves to the earliest armed timer (which expires and queues its DPC) or parked
thread's deadline. A periodic timer, a thread that polls with a timeout or work that requeues
itself runs at most MAX_RUNS times in all.

Each run is an entry point in the report. An unhandled exception in a DPC is 0x1E
(KMODE_EXCEPTION_NOT_HANDLED: it runs in an arbitrary thread), in a work item or system thread 0x7E.
"""
from __future__ import annotations

from hooks import scheduler
from hooks.dispatcher import advance_clock
from verifier.report import EntryPointResult
from verifier.triage import DISPATCH_LEVEL, EntryKind

MAX_RUNS = 64
# entry-point names; all return VOID (KMDF's are named after the callback's kind)
ROUTINES = ("Dpc", "Timer", "WorkItem", "SystemThread", "EvtTimerFunc", "EvtWorkItemFunc", "EvtDpcFunc")


class DeferredWork:
    """Runs one scenario's queued work; `run` is False when a bug check ended the session."""

    def __init__(self, runner):
        self.runner = runner                    # the ScenarioRun: which routines ran is recorded there
        self.session = runner.session
        self.k = runner.session.kernel
        self.runs = 0

    def run(self) -> bool:
        work = self.k.deferred
        while self.runs < MAX_RUNS:
            if work.dpcs:
                dpc = work.dpcs.pop(next(iter(work.dpcs)))       # dequeued first: it may queue itself again
                work.ran.append(dpc)
                name = "Timer" if dpc.api.startswith("KeSetTimer") else "Dpc"
                result = self._run(name, dpc.routine, [dpc.dpc, dpc.context, dpc.argument1, dpc.argument2],
                                   EntryKind.ARBITRARY_THREAD, DISPATCH_LEVEL)
            elif work.work_items:
                item = work.work_items.pop(0)
                work.ran.append(item)
                result = self._run("WorkItem", item.routine, list(item.args), EntryKind.SYSTEM_THREAD)
            elif self.k.wdf.queued:
                result = self._framework_callback(self.k.wdf.objects[self.k.wdf.queued.pop(0)])
            elif ready := scheduler.next_ready(self.k):
                self.runs += 1
                self.runner.ran.add("SystemThread")
                result = self.session.threads.run_thread(*ready)
            elif wake := self._next_wake():
                self.runs += 1                   # a periodic timer without a DPC would expire forever
                advance_clock(self.k, wake - self.k.interrupt_time)
                continue
            else:
                return True
            if self.session.bugchecked(result):
                return False
        return True

    def _next_wake(self) -> int | None:
        """When the clock moves next: the first armed timer, or the first parked thread's deadline."""
        if not self.k.deferred.timers and not self.k.scheduler.parked:
            return None
        times = [t.due for t in self.k.deferred.timers.values()]
        wake = scheduler.earliest_wake(self.k)
        return min(times + ([wake] if wake is not None else []), default=None)

    def _framework_callback(self, obj) -> EntryPointResult:
        """A KMDF timer, work item or DPC the driver queued: its callback(handle), a timer's and a DPC's at
        DISPATCH_LEVEL in an arbitrary thread, a work item's in a system worker thread; a periodic
        timer is armed again."""
        deferred = obj.state
        if deferred.kind not in self.k.wdf.ran:
            self.k.wdf.ran.append(deferred.kind)
        if deferred.kind == "EvtWorkItemFunc":
            result = self._run(deferred.kind, deferred.routine, [obj.handle], EntryKind.SYSTEM_THREAD)
        else:
            result = self._run(deferred.kind, deferred.routine, [obj.handle], EntryKind.ARBITRARY_THREAD,
                               DISPATCH_LEVEL)
        if deferred.period_ms and obj.handle in self.k.wdf.objects and obj.handle not in self.k.wdf.queued:
            self.k.wdf.queued.append(obj.handle)
        return result

    def _run(self, name: str, routine: int, args: list[int], kind: EntryKind, irql: int = 0) -> EntryPointResult:
        self.runs += 1
        self.runner.ran.add(name)
        result = self.session.call_entry(name, routine, args, kind, irql)
        if result.outcome == "returned":
            result.status = None                # DPC, work-item and thread routines return VOID
        return result
