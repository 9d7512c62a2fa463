"""Cooperative, deterministic scheduling of the system threads a driver creates (one processor).

Every system thread has its own kernel stack. A thread runs until it waits: when the wait cannot be
satisfied at once and another thread could run in the meantime, the wait handler stops the machine
with `Blocked` (hooks/dispatcher.py); the thread is then *parked* here with its whole CPU context,
as bytes, and the objects and deadline it waits on. Whoever drives the runs (verifier/threads.py)
then picks the next thread: parked threads whose wait is now satisfied and created threads that never
ran, in creation order, the thread the running entry point belongs to first, threads that yielded
(KeDelayExecutionThread with a delay already over) last, in the order they yielded. A parked thread
resumes at its wait's return, with the status the wait returns (the signal consumed as Windows
consumes it, or the timeout status once the clock reached its deadline).

All of it is kernel state a snapshot copies (the saved CPUs are bytes); the stacks are guest memory.
Each resume counts against MAX_SWITCHES per entry point, so threads that wake each other forever
without progress end in the old behaviour (a wait resolved in place) instead of ping-ponging.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from emu.machine import Stop
from hooks import kstructs as ks
from hooks.deferred import Wait
from hooks.dispatcher import satisfy

MAX_SWITCHES = 256                 # thread starts and resumes per entry point
_SIGNAL_STATE = ks.offset_of(ks.DISPATCHER_HEADER, "SignalState")


@dataclass
class Parked:
    """A thread stopped at a wait's stub: its CPU and what it waits for."""

    thread: int
    cpu: bytes
    wait: Wait
    order: int                  # when it parked (Scheduler.parks): yielders go round in that order


class Scheduler:
    """Which threads started, which are parked, their stacks; how many switches this entry made."""

    def __init__(self) -> None:
        self.stacks: dict[int, int] = {}         # system thread -> top of its own kernel stack
        self.started: list[int] = []             # system threads that ran, in the order they started
        self.parked: dict[int, Parked] = {}      # thread (system or an entry point's) -> its saved wait
        self.switches = 0                        # starts and resumes since the entry point began
        self.parks = 0                           # threads parked so far (orders the yielders)
        self.nested = 0                          # driver code called back from a kernel routine: no switching
        self.dispatch_level = False              # a DPC runs: it may not wait, so nothing switches

    def can_switch(self) -> bool:
        return not self.nested and not self.dispatch_level and self.switches < MAX_SWITCHES


def switch_to(k, thread: int) -> None:
    """Make `thread` the current one: PsGetCurrentThread, KPRCB.CurrentThread (gs:[0x188]), waits."""
    if k.current_thread == thread:
        return
    k.current_thread = thread
    k.mem.write_q(k.kpcr + ks.offset_of(ks.KPCR, "Prcb.CurrentThread"), thread)


def park(k, thread: int, wait: Wait) -> None:
    """The machine stopped at `thread`'s wait: keep its CPU to resume it later."""
    k.scheduler.parks += 1
    k.scheduler.parked[thread] = Parked(thread, k.machine.park_cpu(), wait, k.scheduler.parks)


def resume(k, thread: int, status: int) -> Stop:
    """Go on with a parked thread, its wait returning `status`."""
    parked = k.scheduler.parked.pop(thread)
    k.scheduler.switches += 1
    switch_to(k, thread)
    return k.machine.resume_from_stub(parked.cpu, status, k.return_trap)


def start(k, thread: int) -> Stop:
    """Run a created system thread's start routine on its own stack, from the beginning."""
    created = k.deferred.threads[thread]
    k.scheduler.started.append(thread)
    k.scheduler.switches += 1
    switch_to(k, thread)
    return k.call(created.start_routine, [created.context], stack_top=k.scheduler.stacks[thread])


def terminated(k, thread: int) -> None:
    """A system thread returned from its start routine: PspSystemThreadStartup terminates it, so its
    object is signalled as PsTerminateSystemThread signals it."""
    k.mem.write(thread + _SIGNAL_STATE, struct.pack("<i", 1))


def next_ready(k, first: int | None = None) -> tuple[int, int | None] | None:
    """The next thread that can run now and how: (thread, the status its wait returns) for a parked
    thread whose wait is satisfied (consumed here), (thread, None) for a created thread never started.
    `first` (the entry point's own thread) goes before the system threads, which go in creation order;
    threads that yielded go after all of them, the one that yielded last at the end."""
    s = k.scheduler
    if first is None and not k.deferred.threads:
        return None
    order = ([first] if first is not None else []) + [t for t in k.deferred.threads if t != first]
    order.sort(key=lambda t: s.parked[t].order if t in s.parked and s.parked[t].wait.yields else 0)   # stable
    for thread in order:
        parked = s.parked.get(thread)
        if parked is not None:
            status = satisfy(k, parked.wait, thread)
            if status is not None:
                return thread, status
        elif thread in k.deferred.threads and thread not in s.started:
            return thread, None
    return None


def earliest_wake(k) -> int | None:
    """The interrupt time at which the first parked wait can end by the clock alone: its deadline, or
    an armed timer among its objects."""
    times = []
    for parked in k.scheduler.parked.values():
        if parked.wait.deadline is not None:
            times.append(parked.wait.deadline)
        times += [k.deferred.timers[o].due for o in parked.wait.objects if o in k.deferred.timers]
    return min(times) if times else None
