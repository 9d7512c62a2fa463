"""Work items: routines a driver hands to the system worker threads (Io*WorkItem*, ExQueueWorkItem).

Queued here, run by the session's deferred-work stage in a system worker thread at PASSIVE_LEVEL,
as Windows runs them: IoQueueWorkItem's routine gets (IoObject, Context), IoQueueWorkItemEx's
(IoObject, Context, IoWorkItem), ExQueueWorkItem's (Parameter) from its WORK_QUEUE_ITEM.
"""
from __future__ import annotations

import ctypes

from hooks import kstructs as ks
from hooks.api import PDEVICE_OBJECT, PVOID, ULONG, CType, export
from hooks.deferred import QueuedWorkItem

WORK_QUEUE_TYPE = CType("WORK_QUEUE_TYPE", 32, "enum")
PIO_WORKITEM = CType("PIO_WORKITEM", 64, "ptr")
PWORK_QUEUE_ITEM = CType("PWORK_QUEUE_ITEM", 64, "ptr")
IO_WORKITEM_TAG = 0x49576F49              # 'IoWI'


@export("IoAllocateWorkItem")
def IoAllocateWorkItem(k, DeviceObject: PDEVICE_OBJECT) -> PIO_WORKITEM:
    item = k.pool.allocate(ctypes.sizeof(ks.IO_WORKITEM), executable=False, paged=False, tag=IO_WORKITEM_TAG,
                           owner=k.caller)
    k.write_struct(item, ks.IO_WORKITEM(IoObject=DeviceObject))
    return item


@export("IoFreeWorkItem")
def IoFreeWorkItem(k, IoWorkItem: PIO_WORKITEM) -> None:
    k.pool.free(IoWorkItem)


@export("IoSizeofWorkItem")
def IoSizeofWorkItem(k) -> ULONG:
    return ctypes.sizeof(ks.IO_WORKITEM)


@export("IoInitializeWorkItem")
def IoInitializeWorkItem(k, IoObject: PVOID, IoWorkItem: PIO_WORKITEM) -> None:
    """For a work item in the driver's own memory of IoSizeofWorkItem() bytes."""
    k.write_struct(IoWorkItem, ks.IO_WORKITEM(IoObject=IoObject))


@export("IoUninitializeWorkItem")
def IoUninitializeWorkItem(k, IoWorkItem: PIO_WORKITEM) -> None:
    return None


def _queue_io(k, item: int, routine: int, context: int, extended: bool) -> None:
    work = k.read_struct(ks.IO_WORKITEM, item)
    work.Routine, work.Context = routine, context
    k.write_struct(item, work)
    args = (work.IoObject, context, item) if extended else (work.IoObject, context)
    k.deferred.work_items.append(QueuedWorkItem(item, routine, args, k.current_export.name, k.caller))


@export("IoQueueWorkItem")
def IoQueueWorkItem(k, IoWorkItem: PIO_WORKITEM, WorkerRoutine: PVOID, QueueType: WORK_QUEUE_TYPE,
                    Context: PVOID) -> None:
    _queue_io(k, IoWorkItem, WorkerRoutine, Context, extended=False)


@export("IoQueueWorkItemEx")
def IoQueueWorkItemEx(k, IoWorkItem: PIO_WORKITEM, WorkerRoutine: PVOID, QueueType: WORK_QUEUE_TYPE,
                      Context: PVOID) -> None:
    _queue_io(k, IoWorkItem, WorkerRoutine, Context, extended=True)


@export("ExQueueWorkItem")
def ExQueueWorkItem(k, WorkItem: PWORK_QUEUE_ITEM, QueueType: WORK_QUEUE_TYPE) -> None:
    """The WORK_QUEUE_ITEM that ExInitializeWorkItem (a macro) filled: WorkerRoutine(Parameter)."""
    item = k.read_struct(ks.WORK_QUEUE_ITEM, WorkItem)
    k.deferred.work_items.append(QueuedWorkItem(WorkItem, item.WorkerRoutine, (item.Parameter,),
                                                k.current_export.name, k.caller))
