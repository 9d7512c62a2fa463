"""WDFCOLLECTION, WDFSTRING, and the deferred-work objects (WDFTIMER, WDFWORKITEM, WDFDPC).

KMDF requires timers, work items and DPCs to have a parent (a device or queue): without one it fails
with STATUS_WDF_PARENT_NOT_SPECIFIED. WdfTimerStart, WdfWorkItemEnqueue and WdfDpcEnqueue queue the
object (`Framework.queued`); the session's deferred-work stage runs each queued callback as an entry
point named after its kind (EvtTimerFunc, EvtWorkItemFunc, EvtDpcFunc), as Windows would run it once
the driver's current routine is done. WdfTimerStop and WdfDpcCancel dequeue; WdfWorkItemFlush runs a
queued work item at once (it returns only when the callback has run).
"""
from __future__ import annotations

from hooks import kstructs as ks
from dataclasses import dataclass

from hooks.api import BOOLEAN, LONGLONG, NTSTATUS, PUNICODE_STRING, PVOID, ULONG, VOID, export
from hooks.wdf.framework import (FRAMEWORK, FX_TYPE_COLLECTION, FX_TYPE_DPC, FX_TYPE_OBJECT, FX_TYPE_STRING,
                                 FX_TYPE_TIMER, FX_TYPE_WORKITEM, STATUS_INVALID_PARAMETER, STATUS_SUCCESS, WdfObject,
                                 lookup, new_object, register, run_callback)
from hooks.wdf.types import (PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES, WDFCOLLECTION, WDFDPC, WDFOBJECT, WDFSTRING,
                             WDFTIMER, WDFWORKITEM)

STATUS_WDF_PARENT_NOT_SPECIFIED = 0xC0200216
KINDS = {FX_TYPE_TIMER: "EvtTimerFunc", FX_TYPE_WORKITEM: "EvtWorkItemFunc", FX_TYPE_DPC: "EvtDpcFunc"}


@export("WdfCollectionCreate", module=FRAMEWORK)
def WdfCollectionCreate(k, DriverGlobals: PWDF_DRIVER_GLOBALS, CollectionAttributes: PWDF_OBJECT_ATTRIBUTES,
                        Collection: PVOID) -> NTSTATUS:
    client = k.wdf.client(k, DriverGlobals)
    k.mem.write_q(Collection, new_object(k, client, FX_TYPE_COLLECTION, CollectionAttributes, client.driver, []).handle)
    return STATUS_SUCCESS


def _items(k, globals_address: int, handle: int) -> list:
    return lookup(k, globals_address, handle, FX_TYPE_COLLECTION).state


@export("WdfCollectionGetCount", module=FRAMEWORK)
def WdfCollectionGetCount(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Collection: WDFCOLLECTION) -> ULONG:
    return len(_items(k, DriverGlobals, Collection))


@export("WdfCollectionAdd", module=FRAMEWORK)
def WdfCollectionAdd(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Collection: WDFCOLLECTION, Object: WDFOBJECT) -> NTSTATUS:
    items = _items(k, DriverGlobals, Collection)
    lookup(k, DriverGlobals, Object, FX_TYPE_OBJECT)
    items.append(Object)
    return STATUS_SUCCESS


@export("WdfCollectionGetItem", module=FRAMEWORK)
def WdfCollectionGetItem(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Collection: WDFCOLLECTION, Index: ULONG) -> WDFOBJECT:
    items = _items(k, DriverGlobals, Collection)
    return items[Index] if Index < len(items) else 0


@export("WdfCollectionRemove", module=FRAMEWORK)
def WdfCollectionRemove(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Collection: WDFCOLLECTION, Item: WDFOBJECT) -> VOID:
    items = _items(k, DriverGlobals, Collection)
    if Item in items:
        items.remove(Item)


@export("WdfStringCreate", module=FRAMEWORK)
def WdfStringCreate(k, DriverGlobals: PWDF_DRIVER_GLOBALS, UnicodeString: PUNICODE_STRING,
                    StringAttributes: PWDF_OBJECT_ATTRIBUTES, String: PVOID) -> NTSTATUS:
    client = k.wdf.client(k, DriverGlobals)
    text = k.read_unicode_string(UnicodeString) if UnicodeString else ""
    k.mem.write_q(String, new_string(k, client, text, StringAttributes, client.driver).handle)
    return STATUS_SUCCESS


def new_string(k, client, text: str, attributes: int, parent: WdfObject) -> WdfObject:
    """A WDFSTRING holding its own copy of `text`."""
    return new_object(k, client, FX_TYPE_STRING, attributes, parent, k.unicode_string(text))


@export("WdfStringGetUnicodeString", module=FRAMEWORK)
def WdfStringGetUnicodeString(k, DriverGlobals: PWDF_DRIVER_GLOBALS, String: WDFSTRING,
                              UnicodeString: PUNICODE_STRING) -> VOID:
    copy = lookup(k, DriverGlobals, String, FX_TYPE_STRING).state
    k.mem.write(UnicodeString, k.mem.read(copy, 16))


@dataclass
class Deferred:
    """A WDFTIMER, WDFWORKITEM or WDFDPC: the driver's callback, and whether it is queued to run."""

    kind: str                 # the callback's kind, which names its entry point: EvtTimerFunc...
    routine: int
    period_ms: int = 0        # a periodic timer runs again after each expiry


def _deferred(k, globals_address: int, config: int, attributes: int, out: int, fx_type: int) -> int:
    client = k.wdf.client(k, globals_address)
    if not attributes or not k.read_struct(ks.WDF_OBJECT_ATTRIBUTES, attributes).ParentObject:
        return STATUS_WDF_PARENT_NOT_SPECIFIED
    head = k.read_struct(ks.WDF_CALLBACK_CONFIG, config)
    if not head.Callback:
        return STATUS_INVALID_PARAMETER
    period = k.read_struct(ks.WDF_TIMER_CONFIG, config).Period if fx_type == FX_TYPE_TIMER else 0
    state = Deferred(KINDS[fx_type], head.Callback, period)
    register(k, state.kind)
    k.mem.write_q(out, new_object(k, client, fx_type, attributes, None, state).handle)
    return STATUS_SUCCESS


def _queue(k, globals_address: int, handle: int, fx_type: int) -> bool:
    """Queue the object's callback for the deferred-work stage; False if it already was."""
    obj = lookup(k, globals_address, handle, fx_type)
    if obj.handle in k.wdf.queued:
        return False
    k.wdf.queued.append(obj.handle)
    return True


def _dequeue(k, globals_address: int, handle: int, fx_type: int) -> bool:
    """Take the object's callback off the queue; whether it was queued."""
    obj = lookup(k, globals_address, handle, fx_type)
    if obj.handle not in k.wdf.queued:
        return False
    k.wdf.queued.remove(obj.handle)
    return True


@export("WdfTimerCreate", module=FRAMEWORK)
def WdfTimerCreate(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Config: PVOID, Attributes: PWDF_OBJECT_ATTRIBUTES,
                   Timer: PVOID) -> NTSTATUS:
    return _deferred(k, DriverGlobals, Config, Attributes, Timer, FX_TYPE_TIMER)


@export("WdfTimerStart", module=FRAMEWORK)
def WdfTimerStart(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Timer: WDFTIMER, DueTime: LONGLONG) -> BOOLEAN:
    """Arm the timer: its EvtTimerFunc runs in the deferred-work stage. TRUE if it was already armed
    (then only its due time changes)."""
    return not _queue(k, DriverGlobals, Timer, FX_TYPE_TIMER)


@export("WdfTimerStop", module=FRAMEWORK)
def WdfTimerStop(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Timer: WDFTIMER, Wait: BOOLEAN) -> BOOLEAN:
    """Disarm the timer; TRUE if it was armed (its callback will not run)."""
    return _dequeue(k, DriverGlobals, Timer, FX_TYPE_TIMER)


def _parent(k, globals_address: int, handle: int, fx_type: int) -> int:
    obj = lookup(k, globals_address, handle, fx_type)
    return obj.parent.handle if obj.parent is not None else 0


@export("WdfTimerGetParentObject", module=FRAMEWORK)
def WdfTimerGetParentObject(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Timer: WDFTIMER) -> WDFOBJECT:
    return _parent(k, DriverGlobals, Timer, FX_TYPE_TIMER)


@export("WdfWorkItemGetParentObject", module=FRAMEWORK)
def WdfWorkItemGetParentObject(k, DriverGlobals: PWDF_DRIVER_GLOBALS, WorkItem: WDFWORKITEM) -> WDFOBJECT:
    return _parent(k, DriverGlobals, WorkItem, FX_TYPE_WORKITEM)


@export("WdfDpcGetParentObject", module=FRAMEWORK)
def WdfDpcGetParentObject(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Dpc: WDFDPC) -> WDFOBJECT:
    return _parent(k, DriverGlobals, Dpc, FX_TYPE_DPC)


@export("WdfWorkItemCreate", module=FRAMEWORK)
def WdfWorkItemCreate(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Config: PVOID, Attributes: PWDF_OBJECT_ATTRIBUTES,
                      WorkItem: PVOID) -> NTSTATUS:
    return _deferred(k, DriverGlobals, Config, Attributes, WorkItem, FX_TYPE_WORKITEM)


@export("WdfWorkItemEnqueue", module=FRAMEWORK)
def WdfWorkItemEnqueue(k, DriverGlobals: PWDF_DRIVER_GLOBALS, WorkItem: WDFWORKITEM) -> VOID:
    """Queue the work item (once: enqueueing a queued work item does nothing)."""
    _queue(k, DriverGlobals, WorkItem, FX_TYPE_WORKITEM)


@export("WdfWorkItemFlush", module=FRAMEWORK)
def WdfWorkItemFlush(k, DriverGlobals: PWDF_DRIVER_GLOBALS, WorkItem: WDFWORKITEM) -> VOID:
    """Return once the work item's callback has run: a queued one runs now, in the caller's thread."""
    if _dequeue(k, DriverGlobals, WorkItem, FX_TYPE_WORKITEM):
        obj = lookup(k, DriverGlobals, WorkItem, FX_TYPE_WORKITEM)
        run_callback(k, obj.state.kind, obj.state.routine, [obj.handle])


@export("WdfDpcCreate", module=FRAMEWORK)
def WdfDpcCreate(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Config: PVOID, Attributes: PWDF_OBJECT_ATTRIBUTES,
                 Dpc: PVOID) -> NTSTATUS:
    return _deferred(k, DriverGlobals, Config, Attributes, Dpc, FX_TYPE_DPC)


@export("WdfDpcEnqueue", module=FRAMEWORK)
def WdfDpcEnqueue(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Dpc: WDFDPC) -> BOOLEAN:
    """Queue the DPC; FALSE if it already was (KeInsertQueueDpc's answer)."""
    return _queue(k, DriverGlobals, Dpc, FX_TYPE_DPC)


@export("WdfDpcCancel", module=FRAMEWORK)
def WdfDpcCancel(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Dpc: WDFDPC, Wait: BOOLEAN) -> BOOLEAN:
    """Take the DPC off the queue; TRUE if it was queued."""
    return _dequeue(k, DriverGlobals, Dpc, FX_TYPE_DPC)
