"""The other threads that run while an entry point waits (hooks/scheduler.py parks and resumes them).

An entry point runs in its own thread (DriverEntry's, a requestor's, a system thread the deferred stage
starts or resumes). When it gives the processor up at a wait, the system threads that can run do, one
at a time, each until it waits again, returns or exits: created threads that never ran start on their
own stack, parked threads whose wait is satisfied resume. The entry point's thread resumes as soon as
its own wait is satisfied. When nobody can run and the entry point is not a system thread, the clock
moves to the first deadline among the parked waits (a wait's timeout, an armed timer it waits on);
with none, its wait is given up as before threads were scheduled (recorded in blocked_waits, it
returns STATUS_SUCCESS). A system thread run by the deferred stage stays parked instead (outcome
`waiting`): the stage and the rest of the scenario go on, and resume it when its wait is satisfied.

Records: a system thread has one `SystemThread` record, appended when it starts (during whichever
entry point let it run); every later resume continues that record, whose outcome is the thread's
last (`waiting` while parked, then `exited`, `returned`, `bugcheck`...). A bug check in another thread
ends the run: the entry point that was waiting keeps the outcome `waiting` (the machine stopped under
it; the bug check names the thread's record) and `Session.bugchecked` says the run is over.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from emu.machine import Stop
from hooks import scheduler
from hooks.deferred import Blocked, BlockedWait
from hooks.dispatcher import advance_clock
from verifier.report import EntryPointResult
from verifier.triage import EntryKind

if TYPE_CHECKING:
    from verifier.session import Session


@dataclass
class Running:
    """A thread the session drives and the record its stops go to."""

    thread: int
    result: EntryPointResult
    kind: EntryKind


def blocked(stop: Stop) -> bool:
    return stop.kind == "halted" and isinstance(stop.detail, Blocked)


class Threads:
    """The system threads' records, and the loop that switches threads under an entry point."""

    def __init__(self, session: Session):
        self.session = session
        self.kernel = session.kernel
        self.records: dict[int, Running] = {}       # system thread -> its SystemThread record
        self.crashed = False                         # a bug check in another thread stopped the machine

    def run(self, own: Running, stop: Stop) -> None:
        """Drive the entry point's thread `own` from its first `stop` to its end, letting the other
        threads run while it waits (see the module docstring)."""
        k, session = self.kernel, self.session
        budget = session.options.timeout
        ends = time.perf_counter() + budget if budget and budget != float("inf") else None
        current = own
        try:
            while True:
                stop, verdict = session.settle(stop, current.kind)
                if blocked(stop):
                    scheduler.park(k, current.thread, stop.detail.wait)
                    current.result.outcome = "waiting"
                else:
                    self._conclude(current, stop, verdict)
                    if current is own:
                        return
                    if current.result.outcome == "bugcheck" and not session.options.keep_going:
                        self.crashed = True            # `own` stays `waiting`: the machine stopped under it
                        return
                if ends is not None and time.perf_counter() >= ends:
                    k.scheduler.switches = scheduler.MAX_SWITCHES     # out of time: nothing else runs
                ready = self._next(own)
                if ready is None and own.thread in k.deferred.threads:
                    return                                  # stays parked: the deferred stage goes on
                thread, status = ready if ready is not None else (own.thread, self._give_up(own))
                current = own if thread == own.thread else self.records.get(thread) or self._record(thread)
                session.triage.entry_point = current.result.name
                if ends is not None:
                    k.machine.time_budget_s = max(ends - time.perf_counter(), 1e-3)
                stop = scheduler.start(k, thread) if status is None else scheduler.resume(k, thread, status)
        finally:
            k.machine.time_budget_s = budget
            session.triage.entry_point = own.result.name
            scheduler.switch_to(k, own.thread)

    def run_thread(self, thread: int, status: int | None) -> EntryPointResult:
        """The deferred stage runs a system thread: starts it (status None) or resumes its wait with
        `status`; returns its record."""
        k = self.kernel
        own = self.records.get(thread) or self._record(thread)
        k.scheduler.switches, k.scheduler.dispatch_level = 0, False
        self.session.triage.entry_point = own.result.name
        previous = k.current_thread
        try:
            self.run(own, scheduler.start(k, thread) if status is None else scheduler.resume(k, thread, status))
        finally:
            scheduler.switch_to(k, previous)
        return own.result

    def _record(self, thread: int) -> Running:
        """A system thread starts: its record."""
        result = EntryPointResult("SystemThread")
        self.session.report.entry_points.append(result)
        self.kernel.deferred.ran.append(self.kernel.deferred.threads[thread])
        self.records[thread] = running = Running(thread, result, EntryKind.SYSTEM_THREAD)
        return running

    def _conclude(self, current: Running, stop: Stop, verdict: object) -> None:
        self.session.conclude(current.result, stop, verdict)
        if current.thread in self.records and current.result.outcome == "returned":
            current.result.status = None                     # a thread's start routine returns VOID
            scheduler.terminated(self.kernel, current.thread)

    def _next(self, own: Running) -> tuple[int, int | None] | None:
        """The next thread to run, moving the clock to the first parked deadline when nobody can run
        and the entry point is not a system thread."""
        k = self.kernel
        if not k.scheduler.can_switch():
            return None
        ready = scheduler.next_ready(k, own.thread)
        if ready is None and own.thread not in k.deferred.threads:
            wake = scheduler.earliest_wake(k)
            if wake is not None:
                advance_clock(k, max(0, wake - k.interrupt_time))
                ready = scheduler.next_ready(k, own.thread)
        return ready

    def _give_up(self, own: Running) -> int:
        """Nobody else can run: the entry point's wait ends as it did before threads were scheduled."""
        k = self.kernel
        wait = k.scheduler.parked[own.thread].wait
        if wait.deadline is not None:
            advance_clock(k, max(0, wait.deadline - k.interrupt_time))
            return wait.timeout_status
        k.deferred.blocked_waits.append(BlockedWait(wait.objects, wait.api, wait.caller))
        return 0
