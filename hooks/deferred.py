"""Deferred work a driver handed to the kernel: queued DPCs, armed timers, work items, system threads.

One processor: nothing here runs when it is asked for. Each record keeps what the session's
deferred-work stage (verifier/deferred_run.py) needs to run it as Windows would (the routine, its
context and arguments, who asked); system threads also run earlier, when another thread waits
(hooks/scheduler.py). The waits nothing could satisfy, no other thread being able to run, are kept
too.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class QueuedDpc:
    """A KDPC in the DPC queue: Windows would call routine(dpc, context, argument1, argument2)."""

    dpc: int
    routine: int
    context: int
    argument1: int
    argument2: int
    api: str                   # KeInsertQueueDpc, or the KeSetTimer* call whose timer expired
    caller: int


@dataclass
class ArmedTimer:
    """A KTIMER in the timer queue; `due` is in interrupt time (100 ns units)."""

    timer: int
    due: int
    period_ms: int
    dpc: int                   # KDPC queued at expiry, 0 for none
    api: str
    caller: int


@dataclass
class SystemThread:
    """A thread PsCreateSystemThread created; Windows would call start_routine(context)."""

    thread: int                # the KTHREAD-like object
    start_routine: int
    context: int
    process: int
    caller: int
    exit_status: int | None = None


@dataclass
class QueuedWorkItem:
    """A work item queued to a system worker thread: Windows calls routine(*args) there.
    `item` is the IO_WORKITEM or WORK_QUEUE_ITEM the driver queued."""

    item: int
    routine: int
    args: tuple[int, ...]
    api: str
    caller: int


@dataclass
class ThreadTerminated:
    """Why the machine stopped: the running thread called PsTerminateSystemThread."""

    exit_status: int

    def __str__(self) -> str:
        return f"PsTerminateSystemThread(0x{self.exit_status:08X}) ended the running thread"


@dataclass(frozen=True)
class Wait:
    """What a thread waits for: any or all of `objects` (WAIT_ANY 1 / WAIT_ALL 0), or until
    `deadline` (interrupt time; None: no timeout), when the wait returns `timeout_status`
    (STATUS_TIMEOUT; STATUS_SUCCESS for KeDelayExecutionThread, a wait on nothing). A yield (a delay
    already over) is satisfied at once but lets the other threads that are ready run first."""

    objects: tuple[int, ...]
    wait_type: int
    deadline: int | None
    api: str
    timeout_status: int
    caller: int                # the driver's return address
    yields: bool = False


@dataclass
class Blocked:
    """Why the machine stopped: the running thread cannot go on until its wait is satisfied, so it
    gives the processor up at the wait (hooks/scheduler.py parks it; another thread runs)."""

    wait: Wait

    def __str__(self) -> str:
        objects = ", ".join(f"0x{o:x}" for o in self.wait.objects) or "nothing"
        until = "for good" if self.wait.deadline is None else "with a timeout"
        return f"{self.wait.api} waits {until} on {objects}"


@dataclass
class BlockedWait:
    """A wait with no timeout, outside a system thread, on objects nothing could signal (no other
    thread could run): it returned STATUS_SUCCESS."""

    objects: tuple[int, ...]
    api: str
    caller: int


class DeferredWork:
    """What is pending, in the order it was asked for."""

    def __init__(self) -> None:
        self.dpcs: dict[int, QueuedDpc] = {}          # KDPC address -> its queue entry
        self.timers: dict[int, ArmedTimer] = {}       # KTIMER address -> when it expires
        self.threads: dict[int, SystemThread] = {}    # thread object -> its start routine
        self.work_items: list[QueuedWorkItem] = []    # in the order queued
        self.ran: list[QueuedDpc | QueuedWorkItem | SystemThread] = []   # what the deferred stage ran
        self.priorities: dict[int, int] = {}         # thread -> priority set by KeSetPriorityThread
        self.blocked_waits: list[BlockedWait] = []

    def queue_dpc(self, entry: QueuedDpc) -> bool:
        """False if that KDPC is already queued (KeInsertQueueDpc's contract)."""
        if entry.dpc in self.dpcs:
            return False
        self.dpcs[entry.dpc] = entry
        return True

    def next_timer(self, timers: list[int]) -> ArmedTimer | None:
        """The earliest-expiring armed timer among `timers`."""
        armed = [self.timers[t] for t in timers if t in self.timers]
        return min(armed, key=lambda a: a.due) if armed else None
