"""Minifilter registration: FltRegisterFilter reads the driver's FLT_REGISTRATION, FltStartFiltering
attaches the filter to the system volume, and the lookups that hand out referenced filter and
instance pointers (FltGetFilterFromName, FltEnumerateFilters/Instances, FltObjectReference).

Checks follow fltmgr's: only the major byte of Version is checked (0x0200..0x02FF are accepted,
0x0100 and 0x0300 are not: ReactOS's kmtest fltmgr_register records this against Windows), Size
is not; a driver registers once (a second call gets STATUS_FLT_INSTANCE_ALTITUDE_COLLISION).
"""
from __future__ import annotations

import ctypes

from hooks import kstructs as ks
from hooks.api import NTSTATUS, PCSTR, PDRIVER_OBJECT, PULONG, PUNICODE_STRING, PVOID, ULONG, export
from hooks.flt.manager import (FLTMGR, STATUS_BUFFER_TOO_SMALL, STATUS_FLT_FILTER_NOT_FOUND,
                               STATUS_FLT_INSTANCE_ALTITUDE_COLLISION, STATUS_INVALID_PARAMETER, STATUS_SUCCESS,
                               SYSTEM_VOLUME, ContextRegistration, Filter, Instance, Operation, new_object)
from hooks.flt.pool import unlink

FLT_MAJOR_VERSION = 0x02
STATUS_FLT_DELETING_OBJECT = 0xC01C000B
MAX_ENTRIES = 256                          # a registration array longer than this has no terminator
# FLT_REGISTRATION's length by minor version: 0x0201 ends before TransactionNotificationCallback,
# 0x0202 before SectionNotificationCallback.
_REGISTRATION_SIZE = {1: ks.offset_of(ks.FLT_REGISTRATION, "TransactionNotificationCallback"),
                      2: ks.offset_of(ks.FLT_REGISTRATION, "SectionNotificationCallback")}
_NAME_PROVIDER = ("GenerateFileNameCallback", "NormalizeNameComponentCallback", "NormalizeNameComponentExCallback")


def _array(k, va: int, cls, end: int, key: str) -> list | None:
    """Entries of a terminated registration array (without the terminator); None if unterminated."""
    entries, size = [], ctypes.sizeof(cls)
    for i in range(MAX_ENTRIES):
        entry = k.read_struct(cls, va + i * size)
        if getattr(entry, key) == end:
            return entries
        entries.append(entry)
    return None


def _read_registration(k, va: int) -> ks.FLT_REGISTRATION:
    version = k.mem.read_u16(va + ks.offset_of(ks.FLT_REGISTRATION, "Version"))
    size = _REGISTRATION_SIZE.get(version & 0xFF, ctypes.sizeof(ks.FLT_REGISTRATION))
    return ks.FLT_REGISTRATION.from_buffer_copy(k.mem.read(va, size).ljust(ctypes.sizeof(ks.FLT_REGISTRATION), b"\0"))


@export("FltRegisterFilter", module=FLTMGR)
def FltRegisterFilter(k, Driver: PDRIVER_OBJECT, Registration: PVOID, RetFilter: PVOID) -> NTSTATUS:
    reg = _read_registration(k, Registration)
    if reg.Version >> 8 != FLT_MAJOR_VERSION:
        return STATUS_INVALID_PARAMETER
    driver = next((d for d in k.drivers if d.driver_object == Driver), None)
    if driver is None:
        return STATUS_INVALID_PARAMETER
    if k.filter_manager.filter_of_driver(Driver):
        return STATUS_FLT_INSTANCE_ALTITUDE_COLLISION
    callbacks = {name: getattr(reg, name) for name, _ in ks.FLT_REGISTRATION._fields_
                 if name.endswith("Callback") and getattr(reg, name)}
    if any(k.image_at(callbacks[n]) is None for n in _NAME_PROVIDER if n in callbacks):
        return STATUS_INVALID_PARAMETER
    operations = _array(k, reg.OperationRegistration, ks.FLT_OPERATION_REGISTRATION, ks.IRP_MJ_OPERATION_END,
                        "MajorFunction") if reg.OperationRegistration else []
    contexts = _array(k, reg.ContextRegistration, ks.FLT_CONTEXT_REGISTRATION, ks.FLT_CONTEXT_END,
                      "ContextType") if reg.ContextRegistration else []
    if operations is None or contexts is None:
        return STATUS_INVALID_PARAMETER
    flt = Filter(new_object(k, 0x6C664D46), driver.name, Driver, reg.Version, reg.Flags,       # 'FMfl'
                 [Operation(o.MajorFunction, o.Flags, o.PreOperation, o.PostOperation) for o in operations],
                 [ContextRegistration(c.ContextType, c.Flags, c.Size, c.PoolTag, c.ContextCleanupCallback,
                                      c.ContextAllocateCallback, c.ContextFreeCallback) for c in contexts],
                 callbacks)
    k.filter_manager.filters[flt.address] = flt
    k.mem.write_q(RetFilter, flt.address)
    return STATUS_SUCCESS


@export("FltStartFiltering", module=FLTMGR)
def FltStartFiltering(k, Filter: PVOID) -> NTSTATUS:
    fm = k.filter_manager
    flt = fm.filters.get(Filter)
    if flt is None or flt.started:
        return STATUS_INVALID_PARAMETER
    flt.started = True
    instance = Instance(new_object(k, 0x6E694D46), flt, SYSTEM_VOLUME)                           # 'FMin'
    fm.instances[instance.address] = instance
    return STATUS_SUCCESS


@export("FltUnregisterFilter", module=FLTMGR)
def FltUnregisterFilter(k, Filter: PVOID) -> None:
    """Removes the filter, its instances and the contexts set on them (their references drop)."""
    fm = k.filter_manager
    flt = fm.filters.pop(Filter, None)
    if flt is None:
        return
    for address, instance in list(fm.instances.items()):
        if instance.filter is flt:
            unlink(k, instance)
            del fm.instances[address]


@export("FltGetFilterFromName", module=FLTMGR)
def FltGetFilterFromName(k, FilterName: PUNICODE_STRING, RetFilter: PVOID) -> NTSTATUS:
    name = k.read_unicode_string(FilterName).lower()
    flt = next((f for f in k.filter_manager.filters.values() if f.name.lower() == name), None)
    if flt is None:
        return STATUS_FLT_FILTER_NOT_FOUND
    flt.references += 1
    k.mem.write_q(RetFilter, flt.address)
    return STATUS_SUCCESS


def hand_out(k, objects: list, out: int, capacity: int, returned: int) -> int:
    """Write referenced pointers to `objects` into an array, as the Flt*Enumerate* routines do."""
    k.mem.write_u32(returned, len(objects))
    if capacity < len(objects):
        return STATUS_BUFFER_TOO_SMALL
    for i, obj in enumerate(objects):
        obj.references += 1
        k.mem.write_q(out + 8 * i, obj.address)
    return STATUS_SUCCESS


@export("FltEnumerateFilters", module=FLTMGR)
def FltEnumerateFilters(k, FilterList: PVOID, FilterListSize: ULONG, NumberFiltersReturned: PULONG) -> NTSTATUS:
    return hand_out(k, list(k.filter_manager.filters.values()), FilterList, FilterListSize, NumberFiltersReturned)


@export("FltEnumerateInstances", module=FLTMGR)
def FltEnumerateInstances(k, Volume: PVOID, Filter: PVOID, InstanceList: PVOID, InstanceListSize: ULONG,
                          NumberInstancesReturned: PULONG) -> NTSTATUS:
    """No volume objects are handed out, so a non-NULL Volume matches no instance."""
    found = [i for i in k.filter_manager.instances.values()
             if not Volume and (not Filter or i.filter.address == Filter)]
    return hand_out(k, found, InstanceList, InstanceListSize, NumberInstancesReturned)


@export("FltObjectReference", module=FLTMGR)
def FltObjectReference(k, FltObject: PVOID) -> NTSTATUS:
    obj = k.filter_manager.object(FltObject)
    if obj is None:
        return STATUS_FLT_DELETING_OBJECT
    obj.references += 1
    return STATUS_SUCCESS


@export("FltObjectDereference", module=FLTMGR)
def FltObjectDereference(k, FltObject: PVOID) -> None:
    obj = k.filter_manager.object(FltObject)
    if obj is not None and obj.references:
        obj.references -= 1


@export("FltGetRoutineAddress", module=FLTMGR)
def FltGetRoutineAddress(k, FltMgrRoutineName: PCSTR) -> PVOID:
    name = k.mem.read_cstr(FltMgrRoutineName).decode("latin-1")
    return k.module_exports.get(FLTMGR, {}).get(name, 0)

