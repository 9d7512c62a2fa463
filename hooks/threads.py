"""System threads (Ps*SystemThread): created and recorded in DeferredWork, scheduled by hooks/scheduler.py.

A created thread gets a KTHREAD-like object (a DISPATCHER_HEADER of type ThreadObject, unsignalled
until it terminates, and the owning process at KTHREAD.ApcState.Process), a kernel stack of its own
and a kernel handle to it, so ObReferenceObjectByHandle, KeWaitForSingleObject on the object and
ZwClose behave. It first runs when another thread gives the processor up or at the deferred-work stage.
"""
from __future__ import annotations

import struct

from emu.machine import Halt
from emu.memory import PAGE, poke
from hooks import kstructs as ks
from hooks.api import (ACCESS_MASK, BOOLEAN, HANDLE, LONG, NTSTATUS, PHANDLE, PLARGE_INTEGER, POBJECT_ATTRIBUTES, PVOID,
                       export)
from hooks.dispatcher import WAIT_ANY, deadline, wait
from hooks.deferred import SystemThread, ThreadTerminated
from hooks.scheduler import switch_to

STATUS_SUCCESS = 0
STATUS_INVALID_HANDLE = 0xC0000008
NT_CURRENT_PROCESS = 0xFFFFFFFFFFFFFFFF
SYSTEM_PROCESS_ID = 4
CURRENT_THREAD_ID = 8           # the thread DriverEntry runs in (PsGetCurrentThreadId)


class ThreadRef:
    """A handle's target: the thread object (ObReferenceObjectByHandle reads `address`)."""

    def __init__(self, address: int):
        self.address = address


def thread_id(k, thread: int) -> int:
    """Thread IDs are multiples of 4 handed out in creation order after the current thread's."""
    if thread == k.initial_thread:
        return CURRENT_THREAD_ID
    order = list(k.deferred.threads).index(thread) if thread in k.deferred.threads else -1
    return CURRENT_THREAD_ID + 4 * (order + 1) if order >= 0 else 0


class running:
    """Make `thread` the current thread while its code runs: PsGetCurrentThread, KPRCB.CurrentThread
    (gs:[0x188]) and waits see it; the thread that was current is current again afterwards. (A
    class rather than a generator: every user request enters one.)"""

    __slots__ = ("k", "thread", "previous")

    def __init__(self, k, thread: int):
        self.k, self.thread = k, thread

    def __enter__(self) -> None:
        self.previous = self.k.current_thread
        switch_to(self.k, self.thread)

    def __exit__(self, *_exc) -> None:
        switch_to(self.k, self.previous)


@export("PsCreateSystemThread")
def PsCreateSystemThread(k, ThreadHandle: PHANDLE, DesiredAccess: ACCESS_MASK, ObjectAttributes: POBJECT_ATTRIBUTES,
                         ProcessHandle: HANDLE, ClientId: PVOID, StartRoutine: PVOID, StartContext: PVOID) -> NTSTATUS:
    """ProcessHandle NULL (what drivers pass) or NtCurrentProcess(): the System process."""
    if ProcessHandle not in (0, NT_CURRENT_PROCESS):
        target = k.handles.get(ProcessHandle)
        if getattr(target, "address", 0) != k.system_process:
            return STATUS_INVALID_HANDLE
    thread = k.alloc_kdata(PAGE)
    header = ks.DISPATCHER_HEADER()
    header.Type = ks.ThreadObject
    header.WaitListHead.Flink = header.WaitListHead.Blink = thread + ks.offset_of(ks.DISPATCHER_HEADER,
                                                                                    "WaitListHead")
    k.write_struct(thread, header)
    poke(k.mem, thread + ks.KTHREAD_PROCESS_OFFSET, struct.pack("<Q", k.system_process))
    k.deferred.threads[thread] = SystemThread(thread, StartRoutine, StartContext, k.system_process, k.caller)
    k.scheduler.stacks[thread] = k.thread_stack(len(k.scheduler.stacks) + 1)
    k.mem.write_q(ThreadHandle, k.handles.open(ThreadRef(thread)))
    if ClientId:
        k.write_struct(ClientId, ks.CLIENT_ID(SYSTEM_PROCESS_ID, thread_id(k, thread)))
    return STATUS_SUCCESS


@export("PsTerminateSystemThread")
def PsTerminateSystemThread(k, ExitStatus: NTSTATUS) -> NTSTATUS:
    """Never returns to its caller: the running thread ends (its object becomes signalled)."""
    running = k.deferred.threads.get(k.current_thread)
    if running is not None:
        running.exit_status = ExitStatus
    k.mem.write(k.current_thread + ks.offset_of(ks.DISPATCHER_HEADER, "SignalState"), struct.pack("<i", 1))
    raise Halt(ThreadTerminated(ExitStatus))


@export("ZwWaitForSingleObject")
def ZwWaitForSingleObject(k, Handle: HANDLE, Alertable: BOOLEAN, Timeout: PLARGE_INTEGER) -> NTSTATUS:
    """A wait on the thread a handle names (other threads may run meanwhile, hooks/scheduler.py), as
    KeWaitForSingleObject on its object; a handle to no thread is STATUS_INVALID_HANDLE."""
    target = k.handles.get(Handle, ThreadRef)
    if target is None:
        return STATUS_INVALID_HANDLE
    return wait(k, (target.address,), WAIT_ANY, deadline(k, Timeout))


@export("PsGetThreadId")
def PsGetThreadId(k, Thread: PVOID) -> HANDLE:
    return thread_id(k, Thread)


@export("PsGetThreadProcessId")
def PsGetThreadProcessId(k, Thread: PVOID) -> HANDLE:
    return SYSTEM_PROCESS_ID if thread_id(k, Thread) else 0


DEFAULT_THREAD_PRIORITY = 8              # what a system thread starts with


@export("KeSetPriorityThread")
def KeSetPriorityThread(k, Thread: PVOID, Priority: LONG) -> LONG:
    """Returns the previous priority; one processor and one thread: the priority changes nothing."""
    previous = k.deferred.priorities.get(Thread, DEFAULT_THREAD_PRIORITY)
    k.deferred.priorities[Thread] = Priority
    return previous
