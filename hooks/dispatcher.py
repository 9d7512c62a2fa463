"""Dispatcher objects and waits: events, semaphores, mutexes, timers, DPCs, guarded/fast mutexes.

Objects live in the driver's memory with the layouts of wdm.h (hooks.kstructs), initialised as
Windows initialises them, so a driver that reads a field inline (KeReadStateSemaphore is
sometimes inlined) sees what it would on Windows.

One processor, deterministic time. A wait is satisfied when its object is signalled (consuming
the signal as Windows does: a synchronization event resets, a semaphore decrements, a mutex becomes
owned). When it cannot be satisfied at once, the thread gives the processor up if another could run
meanwhile (a system thread always does; an entry point's thread when a created thread never ran or a
parked one could wake before this wait ends): the machine stops with `Blocked` and hooks/scheduler.py
parks the thread until its objects are signalled or its deadline passes. Otherwise the wait is
resolved in place: an armed timer among the objects expires by moving the clock to its due time; a
wait with a timeout returns STATUS_TIMEOUT after that time has passed; a wait with no timeout on an
object nothing could signal would hang the thread for good: it is recorded in
DeferredWork.blocked_waits and returns STATUS_SUCCESS, as the kernel did before waits were modelled,
so the driver goes on. Driver code the kernel calls back (a nested call) and DPCs never switch.
DPCs and timer DPCs are queued in DeferredWork, never run here.
"""
from __future__ import annotations

import ctypes
import struct

from emu.machine import Halt, Raised
from emu.memory import poke
from hooks import kstructs as ks
from hooks.api import (BOOLEAN, CType, KPROCESSOR_MODE, LONG, LONGLONG, NTSTATUS, PLARGE_INTEGER, PVOID, ULONG, export)
from hooks.deferred import ArmedTimer, Blocked, BlockedWait, QueuedDpc, Wait
from hooks.events import Crash
from hooks.seh import EXCEPTION_NONCONTINUABLE

PKDPC = CType("PKDPC", 64, "ptr")
PKTIMER = CType("PKTIMER", 64, "ptr")
PRKSEMAPHORE = CType("PRKSEMAPHORE", 64, "ptr")
PRKMUTEX = CType("PRKMUTEX", 64, "ptr")
PRKEVENT = CType("PRKEVENT", 64, "ptr")
PKGUARDED_MUTEX = CType("PKGUARDED_MUTEX", 64, "ptr")
CCHAR = CType("CCHAR", 8)

STATUS_SUCCESS = 0
STATUS_TIMEOUT = 0x102
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_MUTANT_NOT_OWNED = 0xC0000046
STATUS_SEMAPHORE_LIMIT_EXCEEDED = 0xC0000047
MAXIMUM_WAIT_OBJECTS_EXCEEDED = 0xC
THREAD_WAIT_OBJECTS = 3                   # wdm.h: waits on more need a caller-supplied WaitBlockArray
MAXIMUM_WAIT_OBJECTS = 64
WAIT_ALL, WAIT_ANY = 0, 1
_AUTO_RESET = (ks.EventSynchronizationObject, ks.TimerSynchronizationObject, ks.GateObject)
_SIGNAL_STATE = ks.offset_of(ks.DISPATCHER_HEADER, "SignalState")
_MUTANT_OWNER = ks.offset_of(ks.KMUTANT, "OwnerThread")
TIME_INCREMENT = 156_250                  # 100 ns units per clock tick (KeQueryTimeIncrement)
_MAX_TIMER_STEPS = 64                     # timer expiries one wait may go through before giving up


def raise_status(k, status: int) -> None:
    """ExRaiseStatus from inside a routine, as KeReleaseSemaphore/KeReleaseMutex do: a
    non-continuable exception in the calling driver, dispatched to its own handlers first."""
    raise Raised(status, flags=EXCEPTION_NONCONTINUABLE)


def _header(kind: int, size: type, signal: int, at: int) -> ks.DISPATCHER_HEADER:
    """A DISPATCHER_HEADER as KeInitialize* writes it: Size counts LONGs, wait list empty."""
    h = ks.DISPATCHER_HEADER()
    h.Type, h.Size, h.SignalState = kind, ctypes.sizeof(size) // 4, signal
    h.WaitListHead.Flink = h.WaitListHead.Blink = at + ks.offset_of(ks.DISPATCHER_HEADER, "WaitListHead")
    return h


def _state(k, obj: int) -> tuple[int, int]:
    """(Type, SignalState) of a dispatcher object."""
    kind = k.mem.read(obj, 1)[0]
    return kind, struct.unpack("<i", k.mem.read(obj + _SIGNAL_STATE, 4))[0]


def _set_state(k, obj: int, value: int) -> int:
    """Write SignalState; returns the previous value."""
    old = _state(k, obj)[1]
    k.mem.write(obj + _SIGNAL_STATE, struct.pack("<i", value))
    return old


# ---- the clock and timers --------------------------------------------------------------------------
def advance_clock(k, interval: int) -> None:
    """Let `interval` (100 ns units) pass; timers that fall due expire. KUSER_SHARED_DATA follows:
    on x64 the WDK's KeQueryInterruptTime/KeQuerySystemTime/KeQueryTickCount read it inline."""
    if interval > 0:
        k.system_time += interval
        k.interrupt_time += interval
        publish_time(k)
    for armed in sorted(k.deferred.timers.values(), key=lambda a: a.due):
        if armed.due <= k.interrupt_time:
            _expire(k, armed)


def publish_time(k) -> None:
    """Copy the clock into KUSER_SHARED_DATA (InterruptTime, SystemTime, TickCount)."""
    ticks = k.interrupt_time // TIME_INCREMENT
    for name, value in (("InterruptTime", k.interrupt_time), ("SystemTime", k.system_time), ("TickCount", ticks)):
        at = ks.KI_USER_SHARED_DATA + ks.offset_of(ks.KUSER_SHARED_DATA, name)
        poke(k.mem, at, bytes(ks.KSYSTEM_TIME(value & 0xFFFFFFFF, value >> 32, value >> 32)))


def _expire(k, armed: ArmedTimer) -> None:
    """Signal the timer, queue its DPC with the expiry's system time, re-arm a periodic timer."""
    _set_state(k, armed.timer, 1)
    if armed.dpc:
        _queue_dpc(k, armed.dpc, k.system_time & 0xFFFFFFFF, k.system_time >> 32, armed.api, armed.caller)
    if armed.period_ms:
        armed.due = k.interrupt_time + armed.period_ms * 10_000
    else:
        del k.deferred.timers[armed.timer]


def _due(k, value: int) -> int:
    """A LARGE_INTEGER due time or timeout as interrupt time: negative = relative, else absolute."""
    value -= (1 << 64) if value >> 63 else 0
    if value < 0:
        return k.interrupt_time - value
    return k.interrupt_time + max(0, value - k.system_time)


# ---- waits -----------------------------------------------------------------------------------------
def _signalled(k, obj: int, thread: int) -> bool:
    kind, state = _state(k, obj)
    if kind == ks.MutantObject:              # owned by this thread: acquired again (mutexes are recursive)
        return state > 0 or k.mem.read_q(obj + _MUTANT_OWNER) == thread
    return state > 0


def _consume(k, obj: int, thread: int) -> None:
    """What satisfying a wait does to the object."""
    kind, state = _state(k, obj)
    if kind in _AUTO_RESET:
        _set_state(k, obj, 0)
    elif kind == ks.SemaphoreObject:
        _set_state(k, obj, state - 1)
    elif kind == ks.MutantObject:
        _set_state(k, obj, state - 1)
        k.mem.write_q(obj + _MUTANT_OWNER, thread)


def _satisfiable(k, objects: tuple[int, ...], wait_type: int, thread: int) -> bool:
    if not objects:
        return False
    test = all if wait_type == WAIT_ALL else any
    return test(_signalled(k, o, thread) for o in objects)


def _satisfy(k, objects: tuple[int, ...], wait_type: int, thread: int) -> int | None:
    """The wait status if the wait can be satisfied now (consuming the signals), else None."""
    if not _satisfiable(k, objects, wait_type, thread):
        return None
    if wait_type == WAIT_ALL:
        for o in objects:
            _consume(k, o, thread)
        return STATUS_SUCCESS
    i = next(i for i, o in enumerate(objects) if _signalled(k, o, thread))
    _consume(k, objects[i], thread)
    return STATUS_SUCCESS + i                   # STATUS_WAIT_0 + index


def satisfy(k, wait: Wait, thread: int) -> int | None:
    """What `thread`'s parked wait returns now (its signals consumed), or None while it must go on
    waiting: the objects' status first, else the timeout status once the clock reached the deadline."""
    status = _satisfy(k, wait.objects, wait.wait_type, thread)
    if status is None and wait.deadline is not None and wait.deadline <= k.interrupt_time:
        return wait.timeout_status
    return status


def _could_wake(k, wait: Wait, thread: int, by: int | None) -> bool:
    """Whether a parked wait is satisfied now or ends by the clock before `by` (None: ever)."""
    if _satisfiable(k, wait.objects, wait.wait_type, thread):
        return True
    times = [wait.deadline] if wait.deadline is not None else []
    times += [k.deferred.timers[o].due for o in wait.objects if o in k.deferred.timers]
    return bool(times) and (by is None or min(times) <= by)


def _others_could_run(k, by: int | None) -> bool:
    """Whether another thread could run before `by` (None: ever): a system thread created that never
    ran, or a parked thread (a system thread, the entry point's) whose wait is satisfied by then."""
    s = k.scheduler
    return (any(t not in s.started for t in k.deferred.threads if t != k.current_thread)
            or any(_could_wake(k, p.wait, t, by) for t, p in s.parked.items() if t != k.current_thread))


def _yields(k, deadline: int | None) -> bool:
    """Whether the current thread gives the processor up at this wait (see the module docstring)."""
    if not k.scheduler.can_switch():
        return False
    return k.current_thread in k.deferred.threads or _others_could_run(k, deadline)


def yield_execution(k) -> int:
    """A delay that is already over (a zero interval, an absolute time already past): as Sleep(0)
    does, the thread gives the rest of its time slice to another thread ready to run, if any, and
    goes on at once otherwise; the clock does not move. So a routine that sets its threads' events
    and polls with such a delay until they exit lets them run, as they would on Windows (the setter
    is preempted by the higher-priority threads it woke, or they run on another processor)."""
    if k.scheduler.can_switch() and _others_could_run(k, k.interrupt_time):
        raise Halt(Blocked(Wait((), WAIT_ANY, k.interrupt_time, k.current_export.name, STATUS_SUCCESS, k.caller,
                                yields=True)))
    return STATUS_SUCCESS


def deadline(k, timeout: int) -> int | None:
    """The interrupt time a wait's PLARGE_INTEGER timeout ends it at; None for no timeout (NULL)."""
    return _due(k, k.mem.read_q(timeout)) if timeout else None


def wait(k, objects: tuple[int, ...], wait_type: int, until: int | None, timeout_status: int = STATUS_TIMEOUT) -> int:
    """Wait as Windows would on one processor; see the module docstring."""
    thread = k.current_thread
    status = _satisfy(k, objects, wait_type, thread)
    if status is not None:
        return status
    if until is not None and until <= k.interrupt_time:       # a zero timeout polls
        return timeout_status
    if _yields(k, until):
        raise Halt(Blocked(Wait(objects, wait_type, until, k.current_export.name, timeout_status, k.caller)))
    for _ in range(_MAX_TIMER_STEPS):
        armed = k.deferred.next_timer(list(objects))
        if armed is None or (until is not None and armed.due > until):
            break
        advance_clock(k, armed.due - k.interrupt_time)
        status = _satisfy(k, objects, wait_type, thread)
        if status is not None:
            return status
    if until is not None:
        advance_clock(k, until - k.interrupt_time)
        return timeout_status
    if thread in k.deferred.threads:      # a created thread sleeps for good where it cannot be parked
        raise Halt(Blocked(Wait(objects, wait_type, None, k.current_export.name, timeout_status, k.caller)))
    k.deferred.blocked_waits.append(BlockedWait(objects, k.current_export.name, k.caller))
    return STATUS_SUCCESS


@export("KeWaitForSingleObject", "KeWaitForMutexObject")
def KeWaitForSingleObject(k, Object: PVOID, WaitReason: ULONG, WaitMode: KPROCESSOR_MODE, Alertable: BOOLEAN,
                          Timeout: PLARGE_INTEGER) -> NTSTATUS:
    return wait(k, (Object,), WAIT_ANY, deadline(k, Timeout))


@export("KeWaitForMultipleObjects")
def KeWaitForMultipleObjects(k, Count: ULONG, Object: PVOID, WaitType: ULONG, WaitReason: ULONG,
                             WaitMode: KPROCESSOR_MODE, Alertable: BOOLEAN, Timeout: PLARGE_INTEGER,
                             WaitBlockArray: PVOID) -> NTSTATUS:
    if Count > MAXIMUM_WAIT_OBJECTS or (Count > THREAD_WAIT_OBJECTS and not WaitBlockArray):
        raise Halt(Crash(MAXIMUM_WAIT_OBJECTS_EXCEEDED, (0, 0, 0, 0), k.caller, "KeWaitForMultipleObjects",
                         note=f"{Count} objects with {'a' if WaitBlockArray else 'no'} WaitBlockArray"))
    objects = struct.unpack(f"<{Count}Q", k.mem.read(Object, 8 * Count))
    return wait(k, objects, WaitType, deadline(k, Timeout))


# ---- events --------------------------------------------------------------------------------------------
@export("KeInitializeEvent")
def KeInitializeEvent(k, Event: PRKEVENT, Type: ULONG, State: BOOLEAN) -> None:
    """Type is NotificationEvent (0) or SynchronizationEvent (1), which are also the header types."""
    k.write_struct(Event, ks.KEVENT(_header(Type, ks.KEVENT, State, Event)))


def set_event(k, event: int) -> int:
    """Signal an event (KeSetEvent, and the I/O manager for a synchronous IRP's caller); the old state."""
    return _set_state(k, event, 1)


@export("KeSetEvent")
def KeSetEvent(k, Event: PRKEVENT, Increment: LONG, Wait: BOOLEAN) -> LONG:
    return set_event(k, Event)


@export("KeResetEvent")
def KeResetEvent(k, Event: PRKEVENT) -> LONG:
    return _set_state(k, Event, 0)


@export("KeClearEvent")
def KeClearEvent(k, Event: PRKEVENT) -> None:
    _set_state(k, Event, 0)


@export("KeReadStateEvent")
def KeReadStateEvent(k, Event: PRKEVENT) -> LONG:
    return _state(k, Event)[1]


# ---- semaphores and mutexes ----------------------------------------------------------------------------
@export("KeInitializeSemaphore")
def KeInitializeSemaphore(k, Semaphore: PRKSEMAPHORE, Count: LONG, Limit: LONG) -> None:
    k.write_struct(Semaphore, ks.KSEMAPHORE(_header(ks.SemaphoreObject, ks.KSEMAPHORE, _signed(Count), Semaphore),
                                            _signed(Limit)))


def _signed(value: int) -> int:
    return value - (1 << 32) if value >> 31 else value


@export("KeReleaseSemaphore")
def KeReleaseSemaphore(k, Semaphore: PRKSEMAPHORE, Increment: LONG, Adjustment: LONG, Wait: BOOLEAN) -> LONG:
    """Raises STATUS_SEMAPHORE_LIMIT_EXCEEDED when the count would pass the limit (or overflow)."""
    state = _state(k, Semaphore)[1]
    limit = k.read_struct(ks.KSEMAPHORE, Semaphore).Limit
    adjustment = _signed(Adjustment)
    if adjustment < 0 or state + adjustment > limit or state + adjustment > 0x7FFFFFFF:
        raise_status(k, STATUS_SEMAPHORE_LIMIT_EXCEEDED)
    return _set_state(k, Semaphore, state + adjustment)


@export("KeReadStateSemaphore")
def KeReadStateSemaphore(k, Semaphore: PRKSEMAPHORE) -> LONG:
    return _state(k, Semaphore)[1]


@export("KeInitializeMutex")
def KeInitializeMutex(k, Mutex: PRKMUTEX, Level: ULONG) -> None:
    """Signalled (free), no owner, ApcDisable 1: a kernel mutex disables normal kernel APCs."""
    k.write_struct(Mutex, ks.KMUTANT(_header(ks.MutantObject, ks.KMUTANT, 1, Mutex), ApcDisable=1))


@export("KeReleaseMutex")
def KeReleaseMutex(k, Mutex: PRKMUTEX, Wait: BOOLEAN) -> LONG:
    """Releasing a mutex this thread does not own raises STATUS_MUTANT_NOT_OWNED."""
    state = _state(k, Mutex)[1]
    if state > 0 or k.mem.read_q(Mutex + _MUTANT_OWNER) != k.current_thread:
        raise_status(k, STATUS_MUTANT_NOT_OWNED)
    if state + 1 == 1:
        k.mem.write_q(Mutex + _MUTANT_OWNER, 0)
    return _set_state(k, Mutex, state + 1)


@export("KeReadStateMutex")
def KeReadStateMutex(k, Mutex: PRKMUTEX) -> LONG:
    return _state(k, Mutex)[1]


# ---- guarded and fast mutexes (one structure since Windows 8) ------------------------------------------
_FM_COUNT = ks.offset_of(ks.FAST_MUTEX, "Count")
_FM_OWNER = ks.offset_of(ks.FAST_MUTEX, "Owner")


@export("KeInitializeGuardedMutex")
def KeInitializeGuardedMutex(k, Mutex: PKGUARDED_MUTEX) -> None:
    """As ExInitializeFastMutex (inline in wdm.h) does: unlocked, no owner, an unsignalled
    synchronization event for waiters."""
    event_at = Mutex + ks.offset_of(ks.FAST_MUTEX, "Event")
    k.write_struct(Mutex, ks.FAST_MUTEX(Count=ks.FM_LOCK_BIT, Event=ks.KEVENT(
        _header(ks.EventSynchronizationObject, ks.KEVENT, 0, event_at))))


def _try_lock(k, mutex: int) -> bool:
    count = struct.unpack("<i", k.mem.read(mutex + _FM_COUNT, 4))[0]
    if not count & ks.FM_LOCK_BIT:
        return False
    k.mem.write(mutex + _FM_COUNT, struct.pack("<i", count & ~ks.FM_LOCK_BIT))
    k.mem.write_q(mutex + _FM_OWNER, k.current_thread)
    return True


@export("KeAcquireGuardedMutex", "KeAcquireGuardedMutexUnsafe", "ExAcquireFastMutex", "ExAcquireFastMutexUnsafe")
def KeAcquireGuardedMutex(k, Mutex: PKGUARDED_MUTEX) -> None:
    """These mutexes are not recursive: a second acquire by the owner waits forever on Windows."""
    if not _try_lock(k, Mutex):
        k.deferred.blocked_waits.append(BlockedWait((Mutex,), k.current_export.name, k.caller))


@export("KeTryToAcquireGuardedMutex", "ExTryToAcquireFastMutex")
def KeTryToAcquireGuardedMutex(k, Mutex: PKGUARDED_MUTEX) -> BOOLEAN:
    return int(_try_lock(k, Mutex))


@export("KeReleaseGuardedMutex", "KeReleaseGuardedMutexUnsafe", "ExReleaseFastMutex", "ExReleaseFastMutexUnsafe")
def KeReleaseGuardedMutex(k, Mutex: PKGUARDED_MUTEX) -> None:
    count = struct.unpack("<i", k.mem.read(Mutex + _FM_COUNT, 4))[0]
    k.mem.write_q(Mutex + _FM_OWNER, 0)
    k.mem.write(Mutex + _FM_COUNT, struct.pack("<i", count | ks.FM_LOCK_BIT))


# ---- timers ----------------------------------------------------------------------------------------------
@export("KeInitializeTimer")
def KeInitializeTimer(k, Timer: PKTIMER) -> None:
    KeInitializeTimerEx(k, Timer, 0)


@export("KeInitializeTimerEx")
def KeInitializeTimerEx(k, Timer: PKTIMER, Type: ULONG) -> None:
    """Type NotificationTimer (0) or SynchronizationTimer (1): header types 8 and 9."""
    k.deferred.timers.pop(Timer, None)
    k.write_struct(Timer, ks.KTIMER(_header(ks.TimerNotificationObject + (Type & 1), ks.KTIMER, 0, Timer)))


def _set_timer(k, timer: int, due_time: int, period_ms: int, dpc: int) -> int:
    """Arm (or re-arm) the timer; returns TRUE if it was already in the timer queue."""
    was_set = timer in k.deferred.timers
    due = _due(k, due_time)
    k.deferred.timers[timer] = ArmedTimer(timer, due, period_ms, dpc, k.current_export.name, k.caller)
    _set_state(k, timer, 0)
    at = ks.offset_of(ks.KTIMER, "DueTime")
    k.mem.write(timer + at, struct.pack("<Q", due))
    k.mem.write(timer + ks.offset_of(ks.KTIMER, "Dpc"), struct.pack("<Q", dpc))
    k.mem.write(timer + ks.offset_of(ks.KTIMER, "Period"), struct.pack("<I", period_ms))
    advance_clock(k, 0)                      # a due time already past expires at once
    return int(was_set)


@export("KeSetTimer")
def KeSetTimer(k, Timer: PKTIMER, DueTime: LONGLONG, Dpc: PKDPC) -> BOOLEAN:
    return _set_timer(k, Timer, DueTime, 0, Dpc)


@export("KeSetTimerEx")
def KeSetTimerEx(k, Timer: PKTIMER, DueTime: LONGLONG, Period: LONG, Dpc: PKDPC) -> BOOLEAN:
    return _set_timer(k, Timer, DueTime, max(0, _signed(Period)), Dpc)


@export("KeSetCoalescableTimer")
def KeSetCoalescableTimer(k, Timer: PKTIMER, DueTime: LONGLONG, Period: ULONG, TolerableDelay: ULONG,
                          Dpc: PKDPC) -> BOOLEAN:
    return _set_timer(k, Timer, DueTime, Period, Dpc)


@export("KeCancelTimer")
def KeCancelTimer(k, Timer: PKTIMER) -> BOOLEAN:
    return int(k.deferred.timers.pop(Timer, None) is not None)


@export("KeReadStateTimer")
def KeReadStateTimer(k, Timer: PKTIMER) -> BOOLEAN:
    return int(_state(k, Timer)[1] != 0)


# ---- DPCs --------------------------------------------------------------------------------------------------
def _init_dpc(k, dpc: int, kind: int, routine: int, context: int) -> None:
    k.write_struct(dpc, ks.KDPC(Type=kind, Importance=ks.MediumImportance, DeferredRoutine=routine,
                                DeferredContext=context))


@export("KeInitializeDpc")
def KeInitializeDpc(k, Dpc: PKDPC, DeferredRoutine: PVOID, DeferredContext: PVOID) -> None:
    _init_dpc(k, Dpc, ks.DpcObject, DeferredRoutine, DeferredContext)


@export("KeInitializeThreadedDpc")
def KeInitializeThreadedDpc(k, Dpc: PKDPC, DeferredRoutine: PVOID, DeferredContext: PVOID) -> None:
    _init_dpc(k, Dpc, ks.ThreadedDpcObject, DeferredRoutine, DeferredContext)


@export("KeSetImportanceDpc")
def KeSetImportanceDpc(k, Dpc: PKDPC, Importance: ULONG) -> None:
    k.mem.write(Dpc + ks.offset_of(ks.KDPC, "Importance"), bytes([Importance & 0xFF]))


@export("KeSetTargetProcessorDpc")
def KeSetTargetProcessorDpc(k, Dpc: PKDPC, Number: CCHAR) -> None:
    k.mem.write_u16(Dpc + ks.offset_of(ks.KDPC, "Number"), Number + ks.MAXIMUM_PROCESSORS)


@export("KeSetTargetProcessorDpcEx")
def KeSetTargetProcessorDpcEx(k, Dpc: PKDPC, ProcNumber: PVOID) -> NTSTATUS:
    """PROCESSOR_NUMBER {USHORT Group; UCHAR Number; UCHAR Reserved}: one group here."""
    group, number, _ = struct.unpack("<HBB", k.mem.read(ProcNumber, 4))
    if group != 0 or number >= k.profile["processors"]:
        return STATUS_INVALID_PARAMETER
    KeSetTargetProcessorDpc(k, Dpc, number)
    return STATUS_SUCCESS


def _queue_dpc(k, dpc: int, argument1: int, argument2: int, api: str, caller: int) -> bool:
    d = k.read_struct(ks.KDPC, dpc)
    if not k.deferred.queue_dpc(QueuedDpc(dpc, d.DeferredRoutine, d.DeferredContext, argument1, argument2, api,
                                          caller)):
        return False
    d.SystemArgument1, d.SystemArgument2 = argument1, argument2
    d.DpcData = k.kpcr + ks.offset_of(ks.KPCR, "Prcb")     # non-NULL while queued: this processor's
    k.write_struct(dpc, d)
    return True


@export("KeInsertQueueDpc")
def KeInsertQueueDpc(k, Dpc: PKDPC, SystemArgument1: PVOID, SystemArgument2: PVOID) -> BOOLEAN:
    """Queued, not run: FALSE if this DPC is already in the queue."""
    return int(_queue_dpc(k, Dpc, SystemArgument1, SystemArgument2, "KeInsertQueueDpc", k.caller))


@export("KeRemoveQueueDpc")
def KeRemoveQueueDpc(k, Dpc: PKDPC) -> BOOLEAN:
    if k.deferred.dpcs.pop(Dpc, None) is None:
        return 0
    k.mem.write_q(Dpc + ks.offset_of(ks.KDPC, "DpcData"), 0)
    return 1


@export("KeFlushQueuedDpcs")
def KeFlushQueuedDpcs(k) -> None:
    """Returns once queued DPCs have run; running them belongs to the deferred-work stage."""
    return None

