"""Cancel-safe queues (IoCsq*): the driver keeps the queue, the kernel calls its callbacks.

IoCsqInsertIrp* takes the driver's lock (CsqAcquireLock/CsqReleaseLock, with a KIRQL the kernel
owns), lets the driver queue the IRP, marks it pending and sets a cancel routine of the kernel's
own (IopCsqCancelRoutine), so cancelling a queued IRP dequeues it through the driver and hands it
to CsqCompleteCanceledIrp. Removal clears that cancel routine first; an IRP whose cancel routine
is already gone belongs to a cancel in progress and is skipped, as on Windows. Every callback is
driver code run as a nested call.
"""
from __future__ import annotations

from typing import Callable

from hooks import kstructs as ks
from hooks.api import NTSTATUS, PDEVICE_OBJECT, PIRP, PVOID, export
from hooks.irp import STATUS_SUCCESS, mark_pending, nt_success

MAX_QUEUE_WALK = 100000
IO_TYPE_CSQ_IRP_CONTEXT, IO_TYPE_CSQ, IO_TYPE_CSQ_EX = 3, 1, 2
_DRIVER_CONTEXT3 = ks.offset_of(ks.IRP, "Tail.Overlay.DriverContext[3]")   # where IoCsq keeps the queue


def _queue(k, csq: int) -> ks.IO_CSQ:
    """The IO_CSQ as the driver's IoCsqInitialize(Ex) call filled it in."""
    return k.read_struct(ks.IO_CSQ, csq)


def locked(k, csq: int, work: Callable[[ks.IO_CSQ], int]) -> int:
    """Run `work` between the queue's CsqAcquireLock and CsqReleaseLock callbacks."""
    q = _queue(k, csq)
    slot = k.io.scratch_irql()
    k.call_nested(q.CsqAcquireLock, [csq, slot])
    try:
        return work(q)
    finally:
        k.call_nested(q.CsqReleaseLock, [csq, k.mem.read(slot, 1)[0]])


def insert(k, csq: int, irp: int, context: int, insert_context: int) -> int:
    """IoCsqInsertIrp(Ex): the driver's insert callback under its lock, then pending and cancellable."""
    cancel_routine = k.module_exports["ntoskrnl.exe"]["IopCsqCancelRoutine"]

    def queue_it(q: ks.IO_CSQ) -> int:
        if q.Type == IO_TYPE_CSQ_EX:                   # the callback's shape follows the queue's type
            status = k.call_nested(q.CsqInsertIrp, [csq, irp, insert_context]) & 0xFFFFFFFF
            if not nt_success(status):
                return status
        else:
            k.call_nested(q.CsqInsertIrp, [csq, irp])
            status = STATUS_SUCCESS
        if context:                                    # only once the driver accepted the IRP
            k.write_struct(context, ks.IO_CSQ_IRP_CONTEXT(Type=IO_TYPE_CSQ_IRP_CONTEXT, Irp=irp, Csq=csq))
        k.mem.write_q(irp + _DRIVER_CONTEXT3, context or csq)
        k.mem.write_q(irp + ks.offset_of(ks.IRP, "CancelRoutine"), cancel_routine)
        mark_pending(k, irp)
        return status

    return locked(k, csq, queue_it)


def remove(k, csq: int, q: ks.IO_CSQ, irp: int) -> int:
    """Take `irp` off the queue unless a cancel already owns it (its cancel routine is gone)."""
    slot = irp + ks.offset_of(ks.IRP, "CancelRoutine")
    if not k.mem.read_q(slot):
        return 0
    k.mem.write_q(slot, 0)
    k.call_nested(q.CsqRemoveIrp, [csq, irp])
    context = k.mem.read_q(irp + _DRIVER_CONTEXT3)
    if context != csq and context:
        k.mem.write_q(context + ks.offset_of(ks.IO_CSQ_IRP_CONTEXT, "Irp"), 0)
    k.mem.write_q(irp + _DRIVER_CONTEXT3, 0)
    return irp


def cancel(k, irp: int) -> None:
    """The cancel routine IoCsqInsertIrp sets: dequeue through the driver, then its completion."""
    context = k.mem.read_q(irp + _DRIVER_CONTEXT3)
    csq = context
    if context and k.mem.read_u32(context) == IO_TYPE_CSQ_IRP_CONTEXT:
        csq = k.mem.read_q(context + ks.offset_of(ks.IO_CSQ_IRP_CONTEXT, "Csq"))
        k.mem.write_q(context + ks.offset_of(ks.IO_CSQ_IRP_CONTEXT, "Irp"), 0)

    def take(q: ks.IO_CSQ) -> int:
        k.call_nested(q.CsqRemoveIrp, [csq, irp])
        return 0

    locked(k, csq, take)
    k.call_nested(_queue(k, csq).CsqCompleteCanceledIrp, [csq, irp])


# ---- handlers -------------------------------------------------------------------------------------
@export("IoCsqInitialize", "IoCsqInitializeEx")
def IoCsqInitialize(k, Csq: PVOID, CsqInsertIrp: PVOID, CsqRemoveIrp: PVOID, CsqPeekNextIrp: PVOID,
                    CsqAcquireLock: PVOID, CsqReleaseLock: PVOID, CsqCompleteCanceledIrp: PVOID) -> NTSTATUS:
    """The Ex form differs only in the insert callback's shape, which IoCsqInsertIrp* reads from Type."""
    kind = IO_TYPE_CSQ_EX if k.current_export.name == "IoCsqInitializeEx" else IO_TYPE_CSQ
    k.write_struct(Csq, ks.IO_CSQ(kind, CsqInsertIrp, CsqRemoveIrp, CsqPeekNextIrp, CsqAcquireLock, CsqReleaseLock,
                                  CsqCompleteCanceledIrp, 0))
    return STATUS_SUCCESS


@export("IoCsqInsertIrp")
def IoCsqInsertIrp(k, Csq: PVOID, Irp: PIRP, Context: PVOID) -> None:
    insert(k, Csq, Irp, Context, 0)


@export("IoCsqInsertIrpEx")
def IoCsqInsertIrpEx(k, Csq: PVOID, Irp: PIRP, Context: PVOID, InsertContext: PVOID) -> NTSTATUS:
    return insert(k, Csq, Irp, Context, InsertContext)


@export("IoCsqRemoveNextIrp")
def IoCsqRemoveNextIrp(k, Csq: PVOID, PeekContext: PVOID) -> PIRP:
    def next_irp(q: ks.IO_CSQ) -> int:
        irp = 0
        for _ in range(MAX_QUEUE_WALK):                # IRPs being cancelled are skipped, as on Windows
            irp = k.call_nested(q.CsqPeekNextIrp, [Csq, irp, PeekContext])
            if not irp or remove(k, Csq, q, irp):
                return irp
        return 0

    return locked(k, Csq, next_irp)


@export("IoCsqRemoveIrp")
def IoCsqRemoveIrp(k, Csq: PVOID, Context: PVOID) -> PIRP:
    def take(q: ks.IO_CSQ) -> int:
        irp = k.mem.read_q(Context + ks.offset_of(ks.IO_CSQ_IRP_CONTEXT, "Irp"))
        return remove(k, Csq, q, irp) if irp else 0

    return locked(k, Csq, take)


@export("IopCsqCancelRoutine")
def IopCsqCancelRoutine(k, DeviceObject: PDEVICE_OBJECT, Irp: PIRP) -> None:
    cancel(k, Irp)

