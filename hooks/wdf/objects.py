"""Framework functions on any object: contexts, references, deletion."""
from __future__ import annotations

from hooks import kstructs as ks
from hooks.api import NTSTATUS, PVOID, ULONG, VOID, export
from hooks.wdf.framework import (FRAMEWORK, FX_TYPE_OBJECT, STATUS_INVALID_PARAMETER, STATUS_OBJECT_NAME_EXISTS,
                                 STATUS_SUCCESS, add_context, delete, lookup, new_object)
from hooks.wdf.types import PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES, WDFOBJECT

FX_TYPE_USEROBJECT = 0x100C


def _context_of(k, obj, type_info: int):
    unique = k.read_struct(ks.WDF_OBJECT_CONTEXT_TYPE_INFO, type_info).UniqueType or type_info
    return next((c for c in obj.contexts if c.type_info == unique), None)


@export("WdfObjectGetTypedContextWorker", module=FRAMEWORK)
def WdfObjectGetTypedContextWorker(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Handle: WDFOBJECT, TypeInfo: PVOID) -> PVOID:
    obj = lookup(k, DriverGlobals, Handle, FX_TYPE_OBJECT)
    context = _context_of(k, obj, TypeInfo)
    return context.address if context else 0


@export("WdfObjectAllocateContext", module=FRAMEWORK)
def WdfObjectAllocateContext(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Handle: WDFOBJECT,
                             ContextAttributes: PWDF_OBJECT_ATTRIBUTES, Context: PVOID) -> NTSTATUS:
    obj = lookup(k, DriverGlobals, Handle, FX_TYPE_OBJECT)
    attrs = k.read_struct(ks.WDF_OBJECT_ATTRIBUTES, ContextAttributes)
    if not attrs.ContextTypeInfo or attrs.ParentObject:
        return STATUS_INVALID_PARAMETER
    existing = _context_of(k, obj, attrs.ContextTypeInfo)
    if existing is not None:
        if Context:
            k.mem.write_q(Context, existing.address)
        return STATUS_OBJECT_NAME_EXISTS
    context = add_context(k, obj, attrs)
    if Context:
        k.mem.write_q(Context, context.address)
    return STATUS_SUCCESS


@export("WdfObjectContextGetObject", module=FRAMEWORK)
def WdfObjectContextGetObject(k, DriverGlobals: PWDF_DRIVER_GLOBALS, ContextPointer: PVOID) -> WDFOBJECT:
    for obj in k.wdf.objects.values():
        if any(c.address == ContextPointer for c in obj.contexts):
            return obj.handle
    return 0


@export("WdfObjectCreate", module=FRAMEWORK)
def WdfObjectCreate(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Attributes: PWDF_OBJECT_ATTRIBUTES,
                    Object: PVOID) -> NTSTATUS:
    client = k.wdf.client(k, DriverGlobals)
    obj = new_object(k, client, FX_TYPE_USEROBJECT, Attributes, client.driver)
    k.mem.write_q(Object, obj.handle)
    return STATUS_SUCCESS


@export("WdfObjectDelete", module=FRAMEWORK)
def WdfObjectDelete(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Object: WDFOBJECT) -> VOID:
    delete(k, lookup(k, DriverGlobals, Object, FX_TYPE_OBJECT))


@export("WdfObjectReferenceActual", "WdfObjectDereferenceActual", module=FRAMEWORK)
def WdfObjectReferenceActual(k, DriverGlobals: PWDF_DRIVER_GLOBALS, Handle: WDFOBJECT, Tag: PVOID, Line: ULONG,
                             File: PVOID) -> VOID:
    lookup(k, DriverGlobals, Handle, FX_TYPE_OBJECT)    # counts are not modelled
