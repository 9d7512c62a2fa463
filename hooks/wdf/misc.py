"""WDFCOLLECTION, WDFSTRING, and the deferred-work objects (WDFTIMER, WDFWORKITEM, WDFDPC).

Timers, work items and DPCs are created and their callback recorded; nothing fires them yet.
KMDF requires them to have a parent (a device or queue): without one it fails with
STATUS_WDF_PARENT_NOT_SPECIFIED.
"""
from __future__ import annotations

from hooks import kstructs as ks
from hooks.api import NTSTATUS, PUNICODE_STRING, PVOID, ULONG, VOID, export
from hooks.wdf.framework import (FRAMEWORK, FX_TYPE_COLLECTION, FX_TYPE_DPC, FX_TYPE_OBJECT, FX_TYPE_STRING,
                                 FX_TYPE_TIMER, FX_TYPE_WORKITEM, STATUS_INVALID_PARAMETER, STATUS_SUCCESS, lookup,
                                 new_object)
from hooks.wdf.types import PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES, WDFCOLLECTION, WDFOBJECT, WDFSTRING

STATUS_WDF_PARENT_NOT_SPECIFIED = 0xC0200216


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
    copy = k.unicode_string(k.read_unicode_string(UnicodeString) if UnicodeString else "")
    k.mem.write_q(String, new_object(k, client, FX_TYPE_STRING, StringAttributes, client.driver, copy).handle)
    return STATUS_SUCCESS


@export("WdfStringGetUnicodeString", module=FRAMEWORK)
def WdfStringGetUnicodeString(k, DriverGlobals: PWDF_DRIVER_GLOBALS, String: WDFSTRING,
                              UnicodeString: PUNICODE_STRING) -> VOID:
    copy = lookup(k, DriverGlobals, String, FX_TYPE_STRING).state
    k.mem.write(UnicodeString, k.mem.read(copy, 16))


def _deferred(k, globals_address: int, config: int, attributes: int, out: int, fx_type: int) -> int:
    client = k.wdf.client(k, globals_address)
    if not attributes or not k.read_struct(ks.WDF_OBJECT_ATTRIBUTES, attributes).ParentObject:
        return STATUS_WDF_PARENT_NOT_SPECIFIED
    callback = k.read_struct(ks.WDF_CALLBACK_CONFIG, config).Callback
    if not callback:
        return STATUS_INVALID_PARAMETER
    k.mem.write_q(out, new_object(k, client, fx_type, attributes, None, callback).handle)
    return STATUS_SUCCESS


@export("WdfTimerCreate", module=FRAMEWORK)
def WdfTimerCreate(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Config: PVOID, Attributes: PWDF_OBJECT_ATTRIBUTES,
                   Timer: PVOID) -> NTSTATUS:
    return _deferred(k, DriverGlobals, Config, Attributes, Timer, FX_TYPE_TIMER)


@export("WdfWorkItemCreate", module=FRAMEWORK)
def WdfWorkItemCreate(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Config: PVOID, Attributes: PWDF_OBJECT_ATTRIBUTES,
                      WorkItem: PVOID) -> NTSTATUS:
    return _deferred(k, DriverGlobals, Config, Attributes, WorkItem, FX_TYPE_WORKITEM)


@export("WdfDpcCreate", module=FRAMEWORK)
def WdfDpcCreate(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Config: PVOID, Attributes: PWDF_OBJECT_ATTRIBUTES,
                 Dpc: PVOID) -> NTSTATUS:
    return _deferred(k, DriverGlobals, Config, Attributes, Dpc, FX_TYPE_DPC)
